"""An organisation with an on-call rota, on the real handlers, a real Redis and MemoryTransport."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from types import SimpleNamespace
from typing import Any

import pytest

from bot.domain import Person, Role
from bot.store.escalations import EscalationStore
from escalation.rota import Rota, Shift
from escalation.service import EscalationService
from escalation.wiring import install
from tests.world import World, make_world, noor


class FakeNlu:
    """Flags words in capitals, so tests say exactly which signal they send:
    ALARM -> acute suicide, GEWELD -> acute violence, ZORG -> concern fear, anything else -> none."""

    RULES = {"ALARM": ("acute", ("suicide",)), "GEWELD": ("acute", ("violence",)), "ZORG": ("concern", ("fear",))}

    def __init__(self) -> None:
        self.calls = 0

    async def parse(self, text: str, lang: str | None = None) -> Any:
        self.calls += 1
        level, cats = "none", ()
        for word, (lv, cs) in self.RULES.items():
            if word in text:
                level, cats = lv, cs
                break
        # The shape of nlu.NluResult that other parent hooks read.
        return SimpleNamespace(
            text=text,
            intent="relay",
            confidence=1.0,
            entities=(),
            term_ids=(),
            term_id=None,
            procedure_id=None,
            language=lang or "nl",
            safety=SimpleNamespace(level=level, categories=cats, cues=()),
        )


@dataclass
class Org:
    world: World
    svc: EscalationService
    people: dict[str, Person]

    @property
    def net(self):  # noqa: ANN201
        return self.world.net

    @property
    def es(self) -> EscalationStore:
        return self.svc.store

    def texts(self, who: str) -> list[str]:
        return self.world.net.texts_to(f"u-{who}")

    async def send(self, who: str, text: str = "", **kw: Any) -> None:
        await self.world.send(f"u-{who}", text, **kw)

    async def press(self, who: str, data: str) -> None:
        await self.world.send(f"u-{who}", callback=data)

    def buttons(self, who: str) -> dict[str, str]:
        """Label -> data of the buttons on the last message to someone."""
        _, msg = self.world.net.to(f"u-{who}")[-1]
        return {b.label: b.data for row in msg.buttons for b in row}

    async def rota(self, primary: str | None = "karin", backup: str | None = "joost") -> None:
        p = self.people
        shifts = tuple(
            Shift(d, time(0), time(0), p[primary].id if primary else None, p[backup].id if backup else None)
            for d in range(7)
        )
        await self.es.put_rota(Rota(shifts))


async def make_org(world: World, *, staff: bool = True) -> Org:
    """Gezin Noor (parent Sanne, maatje Tineke); regisseurs Karin (on call), Joost (backup) and Mila;
    coordinator Petra. Everyone joined, so everyone has an address."""
    svc = install(world.app)
    people = dict(await noor(world))
    if staff:
        for name, role in (
            ("karin", Role.REGISSEUR),
            ("joost", Role.REGISSEUR),
            ("mila", Role.REGISSEUR),
            ("petra", Role.COORDINATOR),
        ):
            person = await world.admin.add_person(role, name.capitalize())
            await world.join(person, f"u-{name}")
            people[name] = person
    world.net.clear()
    org = Org(world, svc, people)
    if staff:
        await org.rota()
    return org


@pytest.fixture
def nlu() -> FakeNlu:
    return FakeNlu()


@pytest.fixture
async def world(settings, store, clock, nlu) -> World:
    return await make_world(settings, store, clock, nlu=nlu)


@pytest.fixture
async def org(world) -> Org:
    return await make_org(world)
