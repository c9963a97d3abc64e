"""`naast oncall` and `naast escalations` as a coordinator uses them, against the test Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.config import Settings
from bot.domain import Address, FixedClock
from bot.store import Store
from bot.store.escalations import EscalationStore
from escalation.model import Level, Source
from escalation.service import EscalationService
from tests.conftest import find_id


def _staff(cli) -> dict[str, str]:
    ids = {}
    for name, role in (("Karin", "regisseur"), ("Joost", "regisseur"), ("Petra", "coordinator")):
        ids[name] = find_id(cli("admin", "person", name, "--role", role)[1], "p")
    return ids


def _join(*pids: str) -> None:
    """Give people an address, as /start would."""

    async def go() -> None:
        store = await Store.open(Settings())
        for pid in pids:
            await store.directory.link_identity(pid, "memory", f"u-{pid}", f"u-{pid}")
        await store.close()

    asyncio.run(go())


def test_set_show_and_check_the_rota(cli) -> None:
    ids = _staff(cli)
    code, out = cli("oncall", "check")
    assert code == 1 and "no shifts at all" in out

    assert cli("oncall", "set", "mon-fri", "08:00", "17:00", "--primary", "Karin", "--backup", ids["Joost"])[0] == 0
    code, out = cli("oncall", "check")
    assert code == 1 and "nobody on call" in out and "has not joined the bot" in out

    assert cli("oncall", "set", "daily", "17:00", "08:00", "-p", "Joost", "-b", "Petra")[0] == 0
    assert cli("oncall", "set", "sat,sun", "08:00", "17:00", "-p", "Petra", "-b", "Karin")[0] == 0
    _join(*ids.values())
    code, out = cli("oncall", "check")
    assert code == 0, out
    assert "covers the next 28 days" in out

    code, out = cli("oncall", "show")
    assert code == 0 and out.startswith("Now (")
    assert "Karin" in out and "Joost" in out and "Petra" in out and "nobody" not in out

    code, out = cli("oncall", "set", "mon", "08:00", "17:00", "--remove")
    assert code == 0
    code, out = cli("oncall", "check")
    assert code == 1 and "nobody on call" in out


def test_swap_and_bad_input(cli) -> None:
    ids = _staff(cli)
    assert cli("oncall", "set", "daily", "00:00", "00:00", "-p", "Karin", "-b", "Joost")[0] == 0
    code, out = cli("oncall", "swap", "2099-12-25", "--primary", "Petra", "--note", "Kerst")
    assert code == 0 and "primary Petra, backup (rota)" in out

    async def rota():
        store = await Store.open(Settings())
        r = await EscalationStore.of(store).get_rota()
        await store.close()
        return r

    r = asyncio.run(rota())
    [o] = r.overrides
    assert (o.start, o.end, o.primary, o.backup) == (
        datetime(2099, 12, 25),
        datetime(2099, 12, 26),
        ids["Petra"],
        None,
    )
    assert cli("oncall", "set", "someday", "08:00", "17:00", "-p", "Karin")[0] == 1
    assert cli("oncall", "set", "mon", "8 uur", "17:00", "-p", "Karin")[0] == 1
    parent_fam = find_id(cli("admin", "family", "Gezin Noor")[1], "f")
    sanne = find_id(cli("admin", "person", "Sanne", "--role", "parent", "--family", parent_fam)[1], "p")
    code, out = cli("oncall", "set", "mon", "08:00", "17:00", "-p", sanne)
    assert code == 1 and "is a parent" in out


def test_card_list_show_and_export(cli) -> None:
    ids = _staff(cli)
    fam = find_id(cli("admin", "family", "Gezin Noor")[1], "f")
    sanne = find_id(cli("admin", "person", "Sanne", "--role", "parent", "--family", fam)[1], "p")
    assert cli("escalations", "card", fam, "--set", "Afspraak: oma Riet vangt op.")[0] == 0
    code, out = cli("escalations", "card", fam)
    assert code == 0 and "oma Riet" in out
    assert cli("escalations", "card", "f_nope")[0] == 1

    async def raise_one() -> str:
        store = await Store.open(Settings())
        es = EscalationStore.of(store)
        await store.directory.link_identity(ids["Karin"], "memory", "u-karin", "u-karin")
        sent: list = []

        async def enqueue(msgs, key):
            sent.extend(msgs)
            return len(msgs)

        clock = FixedClock(datetime(2026, 11, 21, 23, 0, tzinfo=UTC))
        from escalation.rota import Rota, Shift

        await es.put_rota(
            Rota(tuple(Shift(d, datetime.min.time(), datetime.min.time(), ids["Karin"]) for d in range(7)))
        )
        svc = EscalationService(es, store.directory, clock, enqueue)
        family = await store.directory.get_family(fam)
        parent = await store.directory.get_person(sanne)
        r = await svc.raise_(
            family=family,
            by=parent,
            level=Level.ACUTE,
            source=Source.SIGNAL,
            trigger="t:1",
            categories=("suicide",),
            text="GEHEIME TEKST",
        )
        clock.advance(seconds=95)
        karin = await store.directory.get_person(ids["Karin"])
        await svc.acknowledge(r.escalation.id, karin, Address("memory", "u-karin"))
        await store.close()
        assert "oma Riet" in sent[0].text
        return r.escalation.id

    eid = asyncio.run(raise_one())
    code, out = cli("escalations", "list")
    assert code == 0 and eid in out and "Gezin Noor" in out and "acknowledged" in out and "95 s" in out
    code, out = cli("escalations", "show", eid)
    assert code == 0 and "raised" in out and "notified" in out and "acknowledged" in out and "Karin" in out
    assert "GEHEIME" not in out
    code, out = cli("escalations", "export", "--csv")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.startswith("id,family_id,level") and row.startswith(f"{eid},{fam},acute,suicide,signal,acknowledged")
    assert "GEHEIME" not in out and "Sanne" not in out
    assert cli("escalations", "show", "e_nope")[0] == 1
