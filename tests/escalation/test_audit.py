"""The audit trail: every step with a time and the people involved, and never any message text."""

from __future__ import annotations

from escalation import audit
from tests.escalation.conftest import Org

SECRETS = ("ALARM GEHEIMTEKST", "REDENTEKST", "NOTITIETEKST", "KAARTTEKST", "NOG EEN GEHEIM")


async def _lifecycle(org: Org, clock) -> str:
    await org.es.set_card(org.people["family"].id, "KAARTTEKST")
    await org.send("sanne", "ALARM GEHEIMTEKST")
    await org.send("tineke", "/escaleer REDENTEKST")
    await org.send("sanne", "ALARM NOG EEN GEHEIM")
    clock.advance(minutes=5)
    await org.world.app.drain()
    await org.press("joost", org.buttons("joost")["Ik pak dit op"])
    clock.advance(minutes=10)
    await org.press("joost", org.buttons("joost")["Afgehandeld"])
    await org.send("joost", "NOTITIETEKST")
    [esc] = await org.es.recent()
    return esc.id


async def test_the_trail_records_every_step_with_times_and_people(org: Org, clock) -> None:
    raised_at = clock.now()
    eid = await _lifecycle(org, clock)
    trail = await org.es.audit(eid)
    p = {k: v.id for k, v in org.people.items()}
    events = [(e["event"], e.get("by") or e.get("whom")) for e in trail]
    assert events == [
        ("raised", p["sanne"]),
        ("notified", p["karin"]),
        ("attached", p["tineke"]),
        ("attached", p["sanne"]),
        ("notified", p["joost"]),
        ("acknowledged", p["joost"]),
        ("resolved", p["joost"]),
    ]
    assert audit.entry_time(trail[0]) == raised_at
    assert trail[4]["after_s"] == "300.000" and trail[5]["after_s"] == "300.000"
    assert trail[-1]["note"] == "yes" and trail[-1]["after_s"] == "900.000"

    [esc] = await org.es.recent()
    assert esc.time_to_notify == 0.0 and esc.time_to_ack == 300.0
    row = audit.summary_row(esc)
    assert row["time_to_ack_s"] == "300.0" and row["steps"] == "2" and row["signals"] == "3"


async def test_no_message_text_anywhere_in_the_audit_stream(org: Org, clock, store) -> None:
    eid = await _lifecycle(org, clock)
    raw = await store.redis.xrange(store.keys.esc_audit(eid))
    blob = b" ".join(k + b"=" + v for _, fields in raw for k, v in fields.items())
    for secret in SECRETS:
        for word in secret.split():
            if word not in ("ALARM", "NOG", "EEN"):
                assert word.encode() not in blob
    assert all(k.decode() in audit.FIELDS for _, fields in raw for k in fields)


async def test_no_text_in_the_clear_anywhere_in_redis(org: Org, clock, store) -> None:
    await _lifecycle(org, clock)
    async for key in store.redis.scan_iter(match=f"{store.keys.prefix}:*"):
        kind = (await store.redis.type(key)).decode()
        if kind == "string":
            values = [await store.redis.get(key)]
        elif kind == "hash":
            values = list((await store.redis.hgetall(key)).values())
        elif kind == "list":
            values = await store.redis.lrange(key, 0, -1)
        elif kind == "stream":
            values = [v for _, f in await store.redis.xrange(key) for v in f.values()]
        else:
            values = (
                [m if isinstance(m, bytes) else m[0] for m in await store.redis.zrange(key, 0, -1)]
                if kind == "zset"
                else list(await store.redis.smembers(key))
            )
        for value in values:
            for secret in ("GEHEIMTEKST", "REDENTEKST", "NOTITIETEKST", "KAARTTEKST"):
                assert secret.encode() not in value, (key, secret)


async def test_csv_export(org: Org, clock) -> None:
    await _lifecycle(org, clock)
    text = audit.to_csv(await org.es.recent())
    header, row = text.strip().splitlines()
    assert header.split(",") == list(audit.CSV_COLUMNS)
    assert "GEHEIM" not in text and ",acute," in row and ",resolved," in row
