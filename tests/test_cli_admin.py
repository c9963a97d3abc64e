"""`naast admin` as a coordinator uses it: real Redis, output read back from the tables."""

from __future__ import annotations

import re

from tests.conftest import find_id


def test_coordinator_sets_up_a_family_and_invites_a_parent(cli):
    code, out = cli("admin", "family", "Gezin Noor")
    assert code == 0
    fam = find_id(out, "f")
    code, out = cli("admin", "person", "Tineke", "--role", "maatje")
    tineke = find_id(out, "p")
    code, out = cli("admin", "person", "Sanne", "--role", "parent", "--family", fam)
    sanne = find_id(out, "p")
    assert cli("admin", "assign", fam, tineke)[0] == 0
    code, out = cli("admin", "invite", sanne)
    assert code == 0
    assert re.search(r"https://t\.me/NaastTestBot\?start=[A-Za-z0-9_-]{16}", out)
    code, out = cli("admin", "list")
    assert code == 0
    assert "Gezin Noor" in out and "Tineke" in out and "Sanne" in out
    row = next(line for line in out.splitlines() if fam in line and "Gezin Noor" in line)
    assert "Tineke" in row


def test_caseload_limit_and_bad_input_give_a_clear_line_not_a_traceback(cli):
    _, out = cli("admin", "person", "Tineke", "--role", "maatje")
    tineke = find_id(out, "p")
    for i in range(3):
        fam = find_id(cli("admin", "family", f"Gezin {i}")[1], "f")
        assert cli("admin", "assign", fam, tineke)[0] == 0
    fourth = find_id(cli("admin", "family", "Gezin 4")[1], "f")
    code, out = cli("admin", "assign", fourth, tineke)
    assert code == 1 and "already has 3 families" in out and "Traceback" not in out
    code, out = cli("admin", "person", "Sanne", "--role", "parent")
    assert code == 1 and "a parent belongs to a family" in out
    code, out = cli("admin", "invite", "p_doesnotexist")
    assert code == 1 and "no person p_doesnotexist" in out
    code, out = cli("admin", "family", "  ")
    assert code == 1 and "needs an alias" in out


def test_status_counts_waiting_dead_and_overdue(cli, redis_url, prefix):
    import redis

    from bot.store.keys import Keys

    k = Keys(prefix)
    client = redis.Redis.from_url(redis_url)
    queue = k.outbox_queue("telegram", "42")
    client.rpush(queue, "a", "b")
    client.zadd(k.outbox_ready(), {queue: 0})
    client.rpush(k.outbox_dead(), "c")
    client.set(k.counter("escalation_overdue"), 3)
    client.close()
    code, out = cli("status")
    assert code == 0
    counts = {
        row: next(x for x in out.splitlines() if row in x).rstrip(" │").split()[-1]
        for row in ("inbox", "outbox", "dead", "overdue")
    }
    assert counts == {"inbox": "0", "outbox": "2", "dead": "1", "overdue": "3"}
