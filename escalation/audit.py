"""The audit trail: what happened to an escalation, when, and who was involved. Never message text.

Each entry is a flat dict of strings (a Redis stream entry), written by the same Lua script as the
state change it records. This module only builds and reads those dicts; it does no I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from escalation.model import Escalation

# The only fields an entry may carry. A test checks that nothing else (no text) gets in.
FIELDS = (
    "event",
    "at",
    "by",
    "level",
    "categories",
    "source",
    "family",
    "step",
    "kind",
    "whom",
    "skipped",
    "after_s",
    "note",
)


def _ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def _since(esc: Escalation, when: datetime) -> str:
    return f"{(when - esc.raised_at).total_seconds():.3f}"


def raised(esc: Escalation) -> dict[str, str]:
    return {
        "event": "raised",
        "at": _ms(esc.raised_at),
        "by": esc.raised_by,
        "level": esc.level.value,
        "categories": ",".join(esc.categories),
        "source": esc.source.value,
        "family": esc.family_id,
    }


def notified(
    esc: Escalation, when: datetime, step: int, kind: str, whom: Sequence[str], skipped: Sequence[int]
) -> dict[str, str]:
    return {
        "event": "notified",
        "at": _ms(when),
        "step": str(step),
        "kind": kind,
        "whom": ",".join(whom),
        "skipped": ",".join(str(s) for s in skipped),
        "level": esc.level.value,
        "after_s": _since(esc, when),
    }


def attached(
    esc: Escalation, when: datetime, by: str, level: str, categories: Sequence[str], source: str
) -> dict[str, str]:
    return {
        "event": "attached",
        "at": _ms(when),
        "by": by,
        "level": level,
        "categories": ",".join(categories),
        "source": source,
        "after_s": _since(esc, when),
    }


def acknowledged(esc: Escalation, when: datetime, by: str) -> dict[str, str]:
    return {"event": "acknowledged", "at": _ms(when), "by": by, "after_s": _since(esc, when)}


def resolved(esc: Escalation, when: datetime, by: str, has_note: bool) -> dict[str, str]:
    # The note itself stays sealed in the escalation record; the trail only says whether there is one.
    return {
        "event": "resolved",
        "at": _ms(when),
        "by": by,
        "note": "yes" if has_note else "no",
        "after_s": _since(esc, when),
    }


def entry_time(entry: dict[str, str]) -> datetime:
    return datetime.fromtimestamp(int(entry["at"]) / 1000, UTC)


CSV_COLUMNS = (
    "id",
    "family_id",
    "level",
    "categories",
    "source",
    "status",
    "raised_at",
    "notified_at",
    "time_to_notify_s",
    "acked_at",
    "time_to_ack_s",
    "acked_by",
    "resolved_at",
    "resolved_by",
    "steps",
    "signals",
    "notified",
)


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else ""


def _secs(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else ""


def summary_row(esc: Escalation) -> dict[str, str]:
    return {
        "id": esc.id,
        "family_id": esc.family_id,
        "level": esc.level.value,
        "categories": " ".join(esc.categories),
        "source": esc.source.value,
        "status": esc.status.value,
        "raised_at": _iso(esc.raised_at),
        "notified_at": _iso(esc.notified_at),
        "time_to_notify_s": _secs(esc.time_to_notify),
        "acked_at": _iso(esc.acked_at),
        "time_to_ack_s": _secs(esc.time_to_ack),
        "acked_by": esc.acked_by or "",
        "resolved_at": _iso(esc.resolved_at),
        "resolved_by": esc.resolved_by or "",
        "steps": str(esc.step + 1),
        "signals": str(esc.signals),
        "notified": " ".join(esc.notified),
    }


def to_csv(escalations: Iterable[Escalation]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for esc in escalations:
        writer.writerow(summary_row(esc))
    return buf.getvalue()
