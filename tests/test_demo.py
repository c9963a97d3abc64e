"""`naast demo` without a browser: seeding, reset, the relay through the demo app, and start-up errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientSession, WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import Settings
from bot.demo import DEMO_PREFIX, PortInUse, demo_command, demo_settings, load_org, run_demo, seed
from bot.domain import Role
from bot.store.escalations import EscalationStore
from bot.transports.web import WebTransport
from escalation.rota import on_call_at


async def test_seed_creates_the_demo_organisation(store, clock):
    org = await seed(store, clock)
    d = store.directory
    by_user = {p.user: p for p in org.personas}
    assert set(by_user) == {"sanne", "ahmed", "tineke", "ruben", "petra"}
    assert sorted(org.families.values()) == ["Gezin Daan", "Gezin Noor"]
    tineke = await d.person_for("web", "tineke")
    assert tineke is not None and tineke.role is Role.MAATJE and tineke.name == "Tineke"
    assert {f.alias for f in await d.families_of(tineke.id)} == {"Gezin Noor", "Gezin Daan"}
    sanne = await d.person_for("web", "sanne")
    assert sanne is not None and (await d.get_family(sanne.family_id or "")).alias == "Gezin Noor"  # type: ignore[union-attr]
    assert (await d.person_for("web", "ruben")).role is Role.REGISSEUR  # type: ignore[union-attr]
    assert (await d.person_for("web", "petra")).role is Role.COORDINATOR  # type: ignore[union-attr]
    assert [a.chat_id for a in await d.addresses_of(sanne.id)] == ["sanne"]


async def test_seed_is_idempotent(store, clock):
    first = await seed(store, clock)
    second = await seed(store, clock)
    assert second == first
    assert len(await store.directory.list_people()) == 5
    assert len(await store.directory.list_families()) == 2


async def test_reset_wipes_demo_keys_and_seeds_afresh(store, clock, redis_url):
    first = await seed(store, clock)
    sanne = next(p for p in first.personas if p.user == "sanne")
    await store.directory.set_paused(sanne.person_id, True)
    await store.directory.add_person(Role.MAATJE, "Extra")
    await store.redis.set(f"{store.keys.prefix}:stray", "1")
    await store.redis.set(f"{store.keys.prefix}-other:keep", "1")  # another deployment's key
    try:
        again = await seed(store, clock, reset=True)
        assert again != first and len(await store.directory.list_people()) == 5
        new_sanne = await store.directory.person_for("web", "sanne")
        assert new_sanne is not None and not new_sanne.paused
        assert await store.directory.get_person(sanne.person_id) is None
        assert not await store.redis.exists(f"{store.keys.prefix}:stray")
        assert await store.redis.get(f"{store.keys.prefix}-other:keep") == b"1"
    finally:
        await store.redis.delete(f"{store.keys.prefix}-other:keep")


async def test_a_half_seeded_store_is_seeded_again(store, clock):
    await seed(store, clock)
    ruben = await store.directory.person_for("web", "ruben")
    await store.redis.delete(store.keys.identity("web", "ruben"))
    assert await load_org(store) is None
    org = await seed(store, clock)
    assert ruben is not None and next(p for p in org.personas if p.user == "ruben").person_id != ruben.id
    assert len(await store.directory.list_people()) == 5


async def test_ruben_is_on_call_all_week(store, clock):
    org = await seed(store, clock)
    ruben = next(p.person_id for p in org.personas if p.user == "ruben")
    rota = await EscalationStore.of(store).get_rota()
    for hours in range(0, 7 * 24, 5):  # every weekday, day and night
        assert on_call_at(rota, clock.now() + timedelta(hours=hours, minutes=17)).primary == ruben
    await seed(store, clock)
    assert await EscalationStore.of(store).get_rota() == rota


def test_demo_data_is_kept_apart_from_real_data(tmp_path):
    real = Settings(_env_file=None, redis_url="redis://example:6379/0", data_dir=tmp_path, key_prefix="naast")
    demo = demo_settings(real)
    assert demo.key_prefix == DEMO_PREFIX and demo.data_dir == tmp_path / "demo"
    assert demo.redis_url == real.redis_url and real.key_prefix == "naast"


@pytest.fixture
async def demo_world(settings, store, clock) -> AsyncIterator[tuple[Any, TestClient]]:
    await seed(store, clock)
    web = WebTransport()
    app = await build_app(settings, store=store, transports=[web], clock=clock)
    runner = asyncio.create_task(web.run(app.accept))
    client = TestClient(TestServer(web.app))
    await client.start_server()
    await asyncio.sleep(0)
    yield app, client
    await client.close()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner


async def frames_until(ws: Any, predicate: Any, app: Any = None) -> dict[str, Any]:
    """The first frame matching `predicate`; with `app`, drain it (burst mode) while waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        if app is not None:
            await app.drain()
        try:
            msg = await asyncio.wait_for(ws.receive(), 0.1 if app is not None else 5)
        except TimeoutError:
            continue
        assert msg.type is WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        if predicate(frame):
            return frame
    raise AssertionError("no matching frame")


async def test_relay_through_the_demo_app_parent_to_maatje_and_back(demo_world, store):
    app, client = demo_world
    ws = await client.ws_connect("/ws")
    await frames_until(ws, lambda f: f["type"] == "history")

    await ws.send_json({"as": "sanne", "text": "Hoi Tineke, de zitting is morgen"})
    relayed = await frames_until(ws, lambda f: f["chat"] == "tineke", app)
    assert relayed["text"] == "💬 Gezin Noor — Sanne:\nHoi Tineke, de zitting is morgen"
    sanne = await store.directory.person_for("web", "sanne")
    assert relayed["family_id"] == sanne.family_id  # type: ignore[union-attr]

    await ws.send_json({"as": "tineke", "text": "Ik ben erbij.", "reply_to": relayed["ref"]})
    answer = await frames_until(ws, lambda f: f["chat"] == "sanne" and not f["own"], app)
    assert answer["text"] == "Tineke: Ik ben erbij."
    await ws.close()


async def test_the_maatje_of_two_families_picks_one_with_a_button(demo_world):
    app, client = demo_world
    ws = await client.ws_connect("/ws")
    await ws.send_json({"as": "tineke", "text": "Sterkte morgen!"})
    ask = await frames_until(ws, lambda f: f.get("chat") == "tineke" and not f["own"], app)
    assert ask["text"] == "Voor welk gezin is dit bericht?"
    daan = next(b for row in ask["buttons"] for b in row if b["label"] == "Gezin Daan")
    await ws.send_json({"as": "tineke", "callback": daan["data"]})
    to_ahmed = await frames_until(ws, lambda f: f.get("chat") == "ahmed", app)
    assert to_ahmed["text"] == "Tineke: Sterkte morgen!"
    await ws.close()


def busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


async def test_run_demo_refuses_a_port_in_use(tmp_path):
    settings = Settings(_env_file=None, redis_url=None, data_dir=tmp_path)
    with busy_port() as sock:
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"Port {port} is in use; try `naast demo --port {port + 1}`"):
            await run_demo(settings, host="127.0.0.1", port=port)
    assert not (tmp_path / "demo").exists()  # failed before touching any storage


def test_demo_command_on_a_busy_port_says_so_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NAAST_DATA_DIR", str(tmp_path))
    with busy_port() as sock:
        port = sock.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            demo_command(port=port)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"Port {port} is in use; try `naast demo --port {port + 1}`" in err and "Traceback" not in err


async def test_run_demo_serves_the_page_and_relays(tmp_path, capsys):
    settings = Settings(_env_file=None, redis_url=None, data_dir=tmp_path, nlu_backend="local")
    ready = asyncio.Event()
    task = asyncio.create_task(run_demo(settings, host="127.0.0.1", port=0, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 60)
        url = next(line for line in capsys.readouterr().out.splitlines() if "http://" in line).split()[2]
        async with ClientSession() as http:
            async with http.get(url) as page:
                assert page.status == 200 and 'data-testid="pane-parent"' in await page.text()
            async with http.get(url + "static/app.js") as js:
                assert js.status == 200 and js.content_type == "text/javascript"
            async with http.get(url + "static/..%2fdemo.py") as sneaky:
                assert sneaky.status == 404
            async with http.get(url + "api/demo") as info:
                org = await info.json()
            assert {p["user"] for p in org["personas"]} == {"sanne", "ahmed", "tineke", "ruben", "petra"}
            async with http.post(url + "api/reset") as refused:
                assert refused.status == 403  # a cross-site form cannot reset the demo
            async with http.ws_connect(url + "ws") as ws:
                await ws.send_json({"as": "sanne", "text": "Ben je er?"})
                relayed = await frames_until(ws, lambda f: f.get("chat") == "tineke")
                assert relayed["text"].endswith("Ben je er?")
                async with http.post(url + "api/reset", headers={"X-Naast-Demo": "reset"}) as reset:
                    fresh = await reset.json()
                assert fresh != org
                frame = await frames_until(ws, lambda f: f["type"] == "reset")
                assert frame["demo"] == fresh
                await ws.send_json({"as": "sanne", "text": "Na de reset"})  # the app keeps running
                relayed = await frames_until(ws, lambda f: f.get("chat") == "tineke")
                assert relayed["text"].endswith("Na de reset")
            async with http.ws_connect(url + "ws") as ws:
                history = (await frames_until(ws, lambda f: f["type"] == "history"))["messages"]
                assert [m["text"].rsplit("\n")[-1] for m in history] == ["Na de reset", "Na de reset"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert (tmp_path / "demo" / "naast.key").exists()  # noqa: ASYNC240  (the demo kept its own key)
