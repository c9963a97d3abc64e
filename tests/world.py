"""A small organisation on a MemoryTransport, for handler and relay tests."""

from __future__ import annotations

from dataclasses import dataclass

from bot.admin import Admin
from bot.app import App, build_app
from bot.config import Settings
from bot.domain import FixedClock, Person, Role
from bot.store import Store
from bot.transports.memory import MemoryTransport


@dataclass
class World:
    app: App
    net: MemoryTransport
    admin: Admin

    async def send(self, user: str, text: str = "", **kw: object) -> None:
        await self.app.accept(self.net.event(user, text, **kw))  # type: ignore[arg-type]
        await self.app.drain()

    async def join(self, person: Person, user: str, lang: str = "nl") -> None:
        code, _, _ = await self.admin.invite(person.id)
        await self.send(user, f"/start {code}", lang=lang)


async def make_world(settings: Settings, store: Store, clock: FixedClock, **app_kw: object) -> World:
    net = MemoryTransport()
    app = await build_app(settings, store=store, transports=[net], clock=clock, **app_kw)  # type: ignore[arg-type]
    admin = Admin(store.directory, clock, settings.max_families_per_maatje)
    return World(app, net, admin)


async def noor(world: World) -> dict[str, Person]:
    """Gezin Noor: parent Sanne (user 'u-sanne') with maatje Tineke (user 'u-tineke'), both joined."""
    a = world.admin
    fam = await a.add_family("Gezin Noor")
    tineke = await a.add_person(Role.MAATJE, "Tineke")
    sanne = await a.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    await a.assign(fam.id, tineke.id)
    await world.join(tineke, "u-tineke")
    await world.join(sanne, "u-sanne")
    world.net.clear()
    return {"tineke": tineke, "sanne": sanne, "family": fam}  # type: ignore[dict-item]
