"""Inbound/Outbound <-> plain dicts, for sealing into the inbox stream and the outbox."""

from __future__ import annotations

from typing import Any

from bot.domain import Address, Button, FamilyId, Inbound, InboundKind, Outbound


def _addr(d: dict[str, Any]) -> Address:
    return Address(d["transport"], d["chat_id"], d.get("thread_id"))


def _addr_dict(a: Address) -> dict[str, Any]:
    return {"transport": a.transport, "chat_id": a.chat_id, "thread_id": a.thread_id}


def inbound_to_dict(e: Inbound) -> dict[str, Any]:
    return {
        "transport": e.transport,
        "event_id": e.event_id,
        "sender": e.sender,
        "chat": _addr_dict(e.chat),
        "kind": e.kind.value,
        "text": e.text,
        "message_ref": e.message_ref,
        "reply_to_ref": e.reply_to_ref,
        "media": e.media,
        "callback_data": e.callback_data,
        "lang": e.lang,
        "is_group": e.is_group,
    }


def inbound_from_dict(d: dict[str, Any]) -> Inbound:
    return Inbound(**{**d, "chat": _addr(d["chat"]), "kind": InboundKind(d["kind"])})


def outbound_to_dict(m: Outbound) -> dict[str, Any]:
    return {
        "to": _addr_dict(m.to),
        "text": m.text,
        "buttons": [[[b.label, b.data] for b in row] for row in m.buttons],
        "copy_of": [_addr_dict(m.copy_of[0]), m.copy_of[1]] if m.copy_of else None,
        "reply_to_ref": m.reply_to_ref,
        "family_id": m.family_id,
        "topic_title": m.topic_title,
        "silent": m.silent,
    }


def outbound_from_dict(d: dict[str, Any]) -> Outbound:
    return Outbound(
        to=_addr(d["to"]),
        text=d["text"],
        buttons=tuple(tuple(Button(label, data) for label, data in row) for row in d["buttons"]),
        copy_of=(_addr(d["copy_of"][0]), d["copy_of"][1]) if d["copy_of"] else None,
        reply_to_ref=d["reply_to_ref"],
        family_id=FamilyId(d["family_id"]) if d["family_id"] else None,
        topic_title=d["topic_title"],
        silent=d["silent"],
    )
