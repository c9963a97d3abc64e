"""`naast demo`: a local playground. One web page shows a parent, their maatje and the regisseur side
by side; every message goes through the real handlers, inbox and outbox via the web transport.

Demo data lives apart from real data: an embedded Redis under `<data_dir>/demo`, or, when REDIS_URL
is set, keys under the `naast-demo` prefix. Seeding is idempotent; a reset wipes those keys only.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sys
from dataclasses import asdict, dataclass
from datetime import time
from importlib.resources import files
from typing import Annotated, Any

import typer
from aiohttp import web

from bot.admin import Admin
from bot.app import build_app
from bot.config import Settings
from bot.domain import Clock, PersonId, Role, SystemClock
from bot.errors import ConfigError
from bot.store import Store
from bot.store.escalations import EscalationStore
from bot.transports.web import WebTransport
from escalation.rota import Rota, Shift
from nlu.rasa import make_nlu

log = logging.getLogger(__name__)

DEMO_PREFIX = "naast-demo"
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}

# (web user id, role, first name, family key or None)
PERSONAS = (
    ("sanne", Role.PARENT, "Sanne", "noor"),
    ("ahmed", Role.PARENT, "Ahmed", "daan"),
    ("tineke", Role.MAATJE, "Tineke", None),
    ("ruben", Role.REGISSEUR, "Ruben", None),
    ("petra", Role.COORDINATOR, "Petra", None),
)
FAMILIES = {"noor": "Gezin Noor", "daan": "Gezin Daan"}
MAATJE_OF = {"noor": "tineke", "daan": "tineke"}


class PortInUse(Exception):
    def __init__(self, port: int) -> None:
        super().__init__(f"Port {port} is in use; try `naast demo --port {port + 1}`")


@dataclass(frozen=True)
class DemoPersona:
    user: str  # web user id, also the chat id of the persona's pane
    role: str
    name: str
    person_id: str
    family_id: str | None = None


@dataclass(frozen=True)
class DemoOrg:
    personas: tuple[DemoPersona, ...]
    families: dict[str, str]  # family id -> alias

    def to_json(self) -> dict[str, Any]:
        families = [{"id": fid, "alias": alias} for fid, alias in self.families.items()]
        return {"personas": [asdict(p) for p in self.personas], "families": families}


def demo_settings(settings: Settings) -> Settings:
    """The same settings, pointed at demo-only storage."""
    return settings.model_copy(update={"data_dir": settings.data_dir / "demo", "key_prefix": DEMO_PREFIX})


async def load_org(store: Store) -> DemoOrg | None:
    """The seeded organisation, or None when any persona is missing (never or half seeded)."""
    personas, families = [], {}
    for user, _, _, _ in PERSONAS:
        person = await store.directory.person_for("web", user)
        if person is None:
            return None
        personas.append(DemoPersona(user, person.role.value, person.name, person.id, person.family_id))
        if person.family_id:
            family = await store.directory.get_family(person.family_id)
            if family is None:
                return None
            families[family.id] = family.alias
    return DemoOrg(tuple(personas), families)


async def seed(store: Store, clock: Clock, *, reset: bool = False) -> DemoOrg:
    """Create the demo organisation unless it is already there (reset=True: wipe and create anew)."""
    if not reset and (org := await load_org(store)) is not None:
        await put_on_call(store, org)
        return org
    await store.wipe()
    admin = Admin(store.directory, clock)
    fams = {key: await admin.add_family(alias) for key, alias in FAMILIES.items()}
    people = {}
    for user, role, name, fam in PERSONAS:
        people[user] = await admin.add_person(role, name, family_id=fams[fam].id if fam else None)
        await store.directory.link_identity(people[user].id, "web", user, user)
    for key, maatje in MAATJE_OF.items():
        await admin.assign(fams[key].id, people[maatje].id)
    org = await load_org(store)
    assert org is not None
    await put_on_call(store, org)
    return org


async def put_on_call(store: Store, org: DemoOrg) -> None:
    """Ruben is the regisseur on call all week, day and night (each shift runs 00:00 to 00:00)."""
    ruben = PersonId(next(p.person_id for p in org.personas if p.user == "ruben"))
    shifts = tuple(Shift(day, time(0), time(0), primary=ruben) for day in range(7))
    await EscalationStore.of(store).put_rota(Rota(shifts))


async def open_nlu(settings: Settings) -> Any:
    """The configured NLU, warmed up. When its model or word lists cannot load, the playground still
    starts, without NLU, and says so on screen (every parent message would otherwise get an apology)."""
    try:
        nlu = make_nlu(settings.nlu_backend, settings.rasa_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        await nlu.warm_up()
    except Exception as exc:
        print(f"Note: the NLU could not load ({type(exc).__name__}: {exc}); the demo runs without it.", file=sys.stderr)
        await nlu.close()
        return None
    return nlu


class DemoSite:
    """The page, its files and its two small JSON endpoints, mounted on the web transport's app."""

    def __init__(self, transport: WebTransport) -> None:
        self.transport = transport
        self.store: Store | None = None
        self.org: DemoOrg | None = None
        self.clock: Clock = SystemClock()
        self._lock = asyncio.Lock()
        router = transport.app.router
        router.add_get("/", self.index)
        router.add_get("/static/{name}", self.static)
        router.add_get("/api/demo", self.describe)
        router.add_post("/api/reset", self.reset)

    async def index(self, request: web.Request) -> web.Response:
        html = (files("bot.web") / "static" / "index.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        body = (files("bot.web") / "static" / name).read_text(encoding="utf-8")
        return web.Response(text=body, content_type=STATIC[name], headers={"Cache-Control": "no-store"})

    async def describe(self, request: web.Request) -> web.Response:
        if self.org is None:
            raise web.HTTPServiceUnavailable(text="the demo is starting")
        return web.json_response(self.org.to_json())

    async def reset(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Naast-Demo") != "reset":  # a plain cross-site form cannot set this
            raise web.HTTPForbidden(text="missing X-Naast-Demo header")
        if self.store is None:
            raise web.HTTPServiceUnavailable(text="the demo is starting")
        async with self._lock:
            self.org = await seed(self.store, self.clock, reset=True)
            self.transport.clear()
            await self.transport.broadcast({"type": "reset", "demo": self.org.to_json()})
        return web.json_response(self.org.to_json())


def _shown_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


async def run_demo(
    settings: Settings, *, host: str, port: int, reset: bool = False, ready: asyncio.Event | None = None
) -> None:
    """Serve the playground on host:port until cancelled."""
    settings = demo_settings(settings)
    transport = WebTransport()
    site = DemoSite(transport)
    runner = web.AppRunner(transport.app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(port) from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = runner.addresses[0][1] if runner.addresses else port
        site.store = store = await Store.open(settings)
        nlu = None
        try:
            nlu = await open_nlu(settings)
            site.org = await seed(store, site.clock, reset=reset)
            app = await build_app(settings, store=store, transports=[transport], nlu=nlu)
            print(f"Naast demo: {_shown_url(host, bound)}  (Ctrl+C stops)", flush=True)
            if ready is not None:
                ready.set()
            await app.run()
        finally:
            if nlu is not None:
                await nlu.close()
            await store.close()
    finally:
        await runner.cleanup()


def demo_command(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port for the demo page.")] = 8080,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Keep 127.0.0.1: the demo has no login.")
    ] = "127.0.0.1",
    reset: Annotated[bool, typer.Option("--reset", help="Wipe the demo data and seed it afresh.")] = False,
) -> None:
    """Open a local playground: parent, maatje and regisseur side by side in one web page."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run_demo(Settings(), host=host, port=port, reset=reset))
    except (PortInUse, ConfigError) as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("Naast demo stopped.", flush=True)
