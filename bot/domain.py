"""Core types shared by every layer. Frozen dataclasses, `NewType` ids, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NewType, Protocol

PersonId = NewType("PersonId", str)
FamilyId = NewType("FamilyId", str)
OutboxId = NewType("OutboxId", str)


class Role(StrEnum):
    PARENT = "parent"
    MAATJE = "maatje"
    REGISSEUR = "regisseur"
    COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Person:
    id: PersonId
    role: Role
    name: str  # first name or alias; never required to be a real name
    lang: str = "nl"
    family_id: FamilyId | None = None  # parents only
    paused: bool = False  # parent sent /stop


@dataclass(frozen=True)
class Family:
    id: FamilyId
    alias: str  # "Gezin Noor"
    maatje_id: PersonId | None = None


@dataclass(frozen=True)
class Address:
    """Where a transport delivers: a chat, optionally a thread (forum topic) inside it."""

    transport: str
    chat_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # at most 64 bytes (Telegram's callback_data limit)


class InboundKind(StrEnum):
    TEXT = "text"
    MEDIA = "media"  # photo, voice, document, sticker, video...: relayed by reference
    CALLBACK = "callback"  # an inline button was pressed
    UNSUPPORTED = "unsupported"  # location, contact, poll...: answered kindly, never relayed


@dataclass(frozen=True)
class Inbound:
    """One event from any transport, already translated out of the transport's own types."""

    transport: str
    event_id: str  # unique per transport (Telegram update_id); the de-duplication key
    sender: str  # the transport's user id
    chat: Address  # where the event happened (private chat, or a group topic)
    kind: InboundKind
    text: str = ""  # message text or media caption
    message_ref: str | None = None  # the transport's id of this message (for copying media)
    reply_to_ref: str | None = None  # the message this one replies to, if any
    media: str | None = None  # "photo", "voice", "document", "sticker", ...
    callback_data: str | None = None
    lang: str | None = None  # language hint from the client (e.g. Telegram language_code)
    is_group: bool = False

    @property
    def command(self) -> tuple[str, str] | None:
        """("start", "args") for "/start args" (also "/start@NaastBot args"), else None."""
        if self.kind is not InboundKind.TEXT or not self.text.startswith("/"):
            return None
        head, _, args = self.text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        return (name, args.strip()) if name else None


@dataclass(frozen=True)
class Outbound:
    """One message to deliver. Persisted in the outbox before any transport sees it."""

    to: Address
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    copy_of: tuple[Address, str] | None = None  # (source chat, message ref): relay media without downloading
    reply_to_ref: str | None = None
    family_id: FamilyId | None = None  # thread tag: a reply to the sent message belongs to this family
    topic_title: str | None = None  # deliver into the family's forum topic in `to.chat_id`, creating it if needed
    silent: bool = False


@dataclass(frozen=True)
class Sent:
    """What a transport reports after delivering an Outbound."""

    ref: str | None  # the transport's message id
    thread_id: str | None = None


@dataclass(frozen=True)
class Invite:
    person_id: PersonId
    expires_at: datetime


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class FixedClock:
    """A clock for tests and benchmarks: time moves only when told."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
