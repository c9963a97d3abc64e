"""Raise, attach, acknowledge and resolve escalations; run the chain's steps.

Every chain step, the first included, runs through one path: claim its timer (a lease in Redis),
work out who to alert from the rota and the directory, put the alerts in the outbox under a key
made of the escalation id and step (so doing it twice adds nothing while they wait), then commit
the step with a compare-and-set that also schedules the next step and writes the audit entry. A
crash anywhere leaves the timer to come back after its lease; it never skips a step.

The alerts a step sends go straight to the outbox through the injected `enqueue`; everything else
is returned as Outbound lists for the caller to deliver. Time comes from the injected clock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain import Address, Button, Clock, Family, Outbound, Person, PersonId, Role
from bot.store.directory import Directory
from bot.store.escalations import EscalationStore
from escalation import audit
from escalation import texts as tx
from escalation.chain import REPEAT_FROM, Candidates, ChainPolicy, Next, StepKind, kind, next_step
from escalation.model import Escalation, EscalationId, Level, Source, Status
from escalation.rota import on_call_at
from escalation.timers import Timers

log = logging.getLogger(__name__)

Enqueue = Callable[[Sequence[Outbound], str], Awaitable[int]]

LEASE = timedelta(seconds=20)  # a claimed step comes back this long after a worker died on it
NOTE_WAIT = timedelta(hours=2)  # how long the next plain text of a resolver counts as the closing note
STAFF = (Role.REGISSEUR, Role.COORDINATOR)
STEPS_NEEDING_STAFF = 2  # from the coordinators step on, the chain needs the staff lists
# An acute signal for an escalation picked up longer ago than this, and never closed, does not go
# only to its holder (who may be off duty by now): the old one is closed by the system and the chain
# starts again from whoever is on call.
STALE_HOLD = timedelta(hours=12)
SYSTEM = PersonId("system")


def escalation_id(trigger: str) -> EscalationId:
    """Derived from the inbound event that raised it: handling that event again finds the same one."""
    return EscalationId("e" + hashlib.sha256(trigger.encode()).hexdigest()[:11])


@dataclass(frozen=True)
class Raised:
    escalation: Escalation
    attached: bool  # joined an escalation that was already open
    holder: Person | None = None  # who holds it, when acknowledged

    @property
    def state(self) -> str:
        """ "held", "asked" (someone was alerted), "nobody" (nobody reachable) or "pending"."""
        esc = self.escalation
        if esc.status is not Status.OPEN:
            return "held"
        if esc.step < 0:
            return "pending"
        return "asked" if esc.notified else "nobody"

    @property
    def who_kind(self) -> str:
        """Which step first reached somebody, for "I have asked the regisseur on call"."""
        return kind(self.escalation.step).value if self.escalation.step >= 0 else "repeat"


class EscalationService:
    def __init__(
        self,
        store: EscalationStore,
        directory: Directory,
        clock: Clock,
        enqueue: Enqueue,
        policy: ChainPolicy | None = None,
        lease: timedelta = LEASE,
        expedite: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """`expedite`, when given, is awaited right after a step's alerts are in the outbox (the App
        passes its deliverer's `deliver_due`), so an alert does not wait for the delivery loop's
        next round. Safe alongside that loop: queues are claimed atomically."""
        self.store, self.directory, self.clock, self.enqueue = store, directory, clock, enqueue
        self.expedite = expedite
        self.policy = policy or ChainPolicy()
        self.timers = Timers(store, self._execute, lease)

    # --- raising ----------------------------------------------------------------------------
    async def raise_(
        self,
        *,
        family: Family,
        by: Person,
        level: Level,
        source: Source,
        trigger: str,
        categories: Sequence[str] = (),
        text: str = "",
        reason: str = "",
    ) -> Raised:
        """Alert the chain about a family, or add to the family's open escalation."""
        now = self.clock.now()
        draft = Escalation(
            id=escalation_id(trigger),
            family_id=family.id,
            level=level,
            categories=tuple(sorted(set(categories))),
            source=source,
            raised_by=by.id,
            raised_at=now,
            reporters=(by.id,) if by.role is Role.PARENT else (),
        )
        outcome, eid = await self.store.create(draft, trigger, text, reason, audit.raised(draft))
        if outcome == "open" and level is Level.ACUTE and await self._close_if_stale(eid, now):
            outcome, eid = await self.store.create(draft, trigger, text, reason, audit.raised(draft))
        if outcome == "open":
            attached = await self._attach(eid, family, by, level, source, trigger, draft.categories, text, reason)
            if attached is not None:
                return attached
            return await self.raise_(  # resolved just now: start afresh
                family=family,
                by=by,
                level=level,
                source=source,
                trigger=trigger + ":again",
                categories=categories,
                text=text,
                reason=reason,
            )
        if outcome == "new":
            log.warning("escalation %s raised for family %s (%s, %s)", eid, family.id, level.value, source.value)
        try:
            await self.fire(eid, 0, now)  # the first step now, not at the next tick
        except Exception:
            log.exception("escalation %s: first step failed; the timer retries it", eid)
        esc = await self.store.get(eid)
        assert esc is not None
        return Raised(esc, attached=False, holder=await self._holder(esc))

    async def _close_if_stale(self, eid: EscalationId, now: datetime) -> bool:
        esc = await self.store.get(eid)
        if esc is None or esc.status is not Status.ACKNOWLEDGED or not esc.acked_at or now - esc.acked_at < STALE_HOLD:
            return False
        log.warning(
            "escalation %s held since %s and not closed: closed by the system for a new alert", eid, esc.acked_at
        )
        status, _ = await self.store.resolve(
            eid, esc.family_id, SYSTEM, now, "", audit.resolved(esc, now, SYSTEM, False)
        )
        return status == "ok"

    async def _attach(
        self,
        eid: EscalationId,
        family: Family,
        by: Person,
        level: Level,
        source: Source,
        trigger: str,
        categories: tuple[str, ...],
        text: str,
        reason: str,
    ) -> Raised | None:
        now = self.clock.now()
        esc = await self.store.get(eid)
        if esc is None:
            return None
        merged = tuple(sorted(set(esc.categories) | set(categories)))
        status = await self.store.attach(
            eid,
            trigger=trigger,
            text=text,
            at=now,
            level=level,
            categories=merged,
            reporter=by.id if by.role is Role.PARENT else "",
            acute_due=now + self.policy.acute_timeout,
            audit=audit.attached(esc, now, by.id, level.value, categories, source.value),
        )
        if status == "closed":
            return None
        esc = await self.store.get(eid) or esc
        if status != "dup":
            log.warning("escalation %s: another signal attached (%s, %s)", eid, level.value, source.value)
        # Forwarded to whoever handles it, under a key of its own: handling the update again (after a
        # crash) enqueues the same ids, so a forward is never lost and not doubled while it waits.
        forwards = await self._forwards(esc, family, by, source, text, reason)
        if forwards:
            await self.enqueue(forwards, f"esc:{eid}:att:{hashlib.sha256(trigger.encode()).hexdigest()[:10]}")
            await self._expedite(eid)
        return Raised(esc, attached=True, holder=await self._holder(esc))

    async def _forwards(
        self, esc: Escalation, family: Family, by: Person, source: Source, text: str, reason: str
    ) -> list[Outbound]:
        out: list[Outbound] = []
        for pid in (esc.acked_by,) if esc.acked_by else esc.step_people:
            person = await self.directory.get_person(pid)
            if person is None:
                continue
            lang = person.lang
            if text:
                body = tx.t("forward", lang, id=esc.id, alias=family.alias, parent=by.name, text=tx.quote(text))
            elif source is Source.MAATJE:
                extra = "\n" + tx.t("alert_reason", lang, reason=tx.quote(reason, 500)) if reason else ""
                body = tx.t("forward_maatje", lang, maatje=by.name, alias=family.alias, id=esc.id, reason=extra)
            else:
                body = tx.t("forward_help", lang, parent=by.name, alias=family.alias, id=esc.id)
            out += await self._to(person, body, self._buttons(esc, lang))
        return out

    async def _expedite(self, eid: str) -> None:
        if self.expedite is None:
            return
        try:
            await self.expedite()
        except Exception:  # the delivery loop sends them anyway
            log.exception("escalation %s: expediting the alerts failed", eid)

    async def _holder(self, esc: Escalation) -> Person | None:
        return await self.directory.get_person(esc.acked_by) if esc.acked_by else None

    # --- the chain --------------------------------------------------------------------------
    async def run_due(self, now: datetime | None = None) -> int:
        """Fire every due step (the App's ticker). Safe with several workers and across restarts."""
        return await self.timers.run_due(now or self.clock.now())

    async def fire(self, eid: EscalationId, step: int, now: datetime) -> bool:
        return await self.timers.fire(eid, step, now)

    async def _execute(self, eid: EscalationId, step: int, now: datetime) -> None:
        esc = await self.store.get(eid)
        if esc is None or esc.status is not Status.OPEN or esc.step != step - 1:
            await self.store.drop_timer(eid, step)
            return
        nxt = await self._next(step, esc, now)
        if nxt.step >= REPEAT_FROM:
            log.critical(
                "escalation %s (%s) not acknowledged after %.0f min; alerting %d people again",
                eid,
                esc.level.value,
                (now - esc.raised_at).total_seconds() / 60,
                len(nxt.people),
            )
        if not nxt.people:
            log.critical("escalation %s: nobody reachable to alert (empty rota, no staff with an address)", eid)
        else:
            await self.enqueue(await self._alerts(esc, nxt.step, nxt.people, now), f"esc:{eid}:s{nxt.step}")
        notified = tuple(dict.fromkeys((*esc.notified, *nxt.people)))
        committed = await self.store.commit_step(
            eid,
            step,
            nxt.step,
            now,
            now + self.policy.wait_after(esc.level, nxt.step),
            nxt.people,
            notified,
            audit.notified(esc, now, nxt.step, kind(nxt.step).value, nxt.people, nxt.skipped),
        )
        if not committed:
            log.info("escalation %s: step %d overtaken (picked up or done by another worker)", eid, step)
        if nxt.people:
            await self._expedite(eid)

    async def _next(self, step: int, esc: Escalation, now: datetime) -> Next:
        """Who this step alerts. The rota alone decides the first two steps, so the common case (the
        primary on call answers) needs no scan of all staff."""
        on_call = on_call_at(await self.store.get_rota(), now)
        reachable = {p for p in (on_call.primary, on_call.backup) if p and await self._reachable(p)}
        nxt = next_step(step, Candidates(on_call, reachable=frozenset(reachable)), esc.notified)
        if nxt.step < STEPS_NEEDING_STAFF:
            return nxt
        coordinators = tuple(p.id for p in await self.directory.list_people(Role.COORDINATOR))
        regisseurs = tuple(p.id for p in await self.directory.list_people(Role.REGISSEUR))
        for pid in (*coordinators, *regisseurs, *esc.notified):
            if pid not in reachable and await self._reachable(pid):
                reachable.add(pid)
        return next_step(step, Candidates(on_call, coordinators, regisseurs, frozenset(reachable)), esc.notified)

    async def _reachable(self, pid: PersonId) -> bool:
        return bool(await self.directory.addresses_of(pid))

    async def _alerts(self, esc: Escalation, step: int, people: Sequence[PersonId], now: datetime) -> list[Outbound]:
        family = await self.directory.get_family(esc.family_id)
        alias = family.alias if family else esc.family_id
        maatje = await self.directory.get_person(family.maatje_id) if family and family.maatje_id else None
        raiser = await self.directory.get_person(esc.raised_by)
        card = await self.store.get_card(esc.family_id)
        said = await self.store.texts(esc.id)
        reason = await self.store.reason(esc.id)
        out: list[Outbound] = []
        for pid in people:
            person = await self.directory.get_person(pid)
            if person is None:
                continue
            lang = person.lang
            lines = [tx.t("alert_head", lang, level=tx.LEVEL[esc.level.value][lang], alias=alias)]
            if kind(step) is StepKind.REPEAT:
                lines.append(tx.t("alert_repeat", lang, minutes=int((now - esc.raised_at).total_seconds() // 60)))
            lines.append(tx.t("alert_meta", lang, id=esc.id, step=tx.STEP[kind(step).value][lang]))
            lines.append(tx.t("alert_maatje", lang, maatje=maatje.name if maatje else "—"))
            if esc.source is Source.SIGNAL or esc.categories:
                lines.append(tx.t("alert_signal", lang, cats=tx.categories(esc.categories, lang)))
            if esc.source is Source.PARENT and raiser:
                lines.append(tx.t("alert_by_parent", lang, parent=raiser.name))
            if esc.source is Source.MAATJE and raiser:
                lines.append(tx.t("alert_by_maatje", lang, maatje=raiser.name))
            if reason:
                lines.append(tx.t("alert_reason", lang, reason=tx.quote(reason, 500)))
            if said:
                parent = raiser.name if raiser and raiser.role is Role.PARENT else "—"
                lines.append("\n" + tx.t("alert_messages", lang, parent=parent))
                lines += [tx.quote(text, 1200 // len(said[-3:])) for _, text in said[-3:]]
            card_text = (
                tx.t("alert_card", lang, card=tx.quote(card, 1500)[1:-1])
                if card
                else tx.t("alert_no_card", lang, family=esc.family_id)
            )
            lines += ["", card_text, "", tx.t("alert_ask", lang)]
            out += await self._to(person, "\n".join(lines), self._buttons(esc, lang))
        return out

    def _buttons(self, esc: Escalation, lang: str) -> tuple[tuple[Button, ...], ...]:
        done = Button(tx.t("btn_done", lang), f"esc:done:{esc.id}")
        if esc.status is Status.OPEN:
            return ((Button(tx.t("btn_ack", lang), f"esc:ack:{esc.id}"), done),)
        return ((done,),)

    async def _to(self, person: Person, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> list[Outbound]:
        return [Outbound(to=a, text=text, buttons=buttons) for a in await self.directory.addresses_of(person.id)]

    # --- acknowledge and resolve ------------------------------------------------------------
    async def acknowledge(self, eid: str, person: Person, at: Address) -> list[Outbound]:
        """ "Ik pak dit op": stops the chain; tells the parent who will get in touch, the maatje, and
        everyone else alerted that it was picked up."""
        msgs, _ = await self._acknowledge(eid, person, at, confirm=True)
        return msgs

    async def _acknowledge(self, eid: str, person: Person, at: Address, confirm: bool) -> tuple[list[Outbound], bool]:
        lang = person.lang
        if person.role not in STAFF:
            return [Outbound(to=at, text=tx.t("staff_only", lang))], False
        esc = await self.store.get(eid)
        if esc is None:
            return [Outbound(to=at, text=tx.t("unknown_alert", lang))], False
        now = self.clock.now()
        status, who = await self.store.acknowledge(eid, person.id, now, audit.acknowledged(esc, now, person.id))
        if status == "resolved":
            return [Outbound(to=at, text=tx.t("already_resolved", lang))], False
        if status == "held":
            if who == person.id:
                return ([Outbound(to=at, text=tx.t("ack_yours", lang))] if confirm else []), True
            holder = await self.directory.get_person(who)
            return [Outbound(to=at, text=tx.t("ack_held", lang, name=holder.name if holder else who))], False
        log.warning(
            "escalation %s acknowledged by %s after %.0fs", eid, person.id, (now - esc.raised_at).total_seconds()
        )
        esc = replace(esc, status=Status.ACKNOWLEDGED, acked_by=person.id, acked_at=now)
        family = await self.directory.get_family(esc.family_id)
        alias = family.alias if family else esc.family_id
        out: list[Outbound] = []
        if confirm:
            line = tx.t("ack_parent_told" if esc.reporters else "ack_parent_not_told", lang)
            out.append(
                Outbound(
                    to=at, text=tx.t("ack_you", lang, alias=alias, parent_line=line), buttons=self._buttons(esc, lang)
                )
            )
        for pid in esc.reporters:
            parent = await self.directory.get_person(pid)
            if parent:
                text = tx.t("parent_acked", parent.lang, name=person.name, role=tx.role(person.role.value, parent.lang))
                out += await self._to(parent, text)
        out += await self._tell_maatje(family, "maatje_acked", name=person.name, alias=alias, role_of=person.role.value)
        for pid in esc.notified:
            other = await self.directory.get_person(pid) if pid != person.id else None
            if other:
                out += await self._to(other, tx.t("ack_others", other.lang, name=person.name, alias=alias))
        return out, True

    async def _tell_maatje(self, family: Family | None, key: str, role_of: str = "", **params: str) -> list[Outbound]:
        if family is None or not family.maatje_id:
            return []
        maatje = await self.directory.get_person(family.maatje_id)
        if maatje is None:
            return []
        return await self._to(maatje, tx.t(key, maatje.lang, role=tx.role(role_of, maatje.lang), **params))

    async def request_resolve(self, eid: str, person: Person, at: Address) -> list[Outbound]:
        """ "Afgehandeld": picks it up if nobody had (so the chain stops now), then asks for a note."""
        msgs, ok = await self._acknowledge(eid, person, at, confirm=False)
        if not ok:
            return msgs
        esc = await self.store.get(eid)
        assert esc is not None
        family = await self.directory.get_family(esc.family_id)
        await self.store.wait_for_note(person.id, eid, NOTE_WAIT)
        alias = family.alias if family else esc.family_id
        return [*msgs, Outbound(to=at, text=tx.t("ask_note", person.lang, alias=alias))]

    async def resolve_with_note(self, person: Person, note: str, at: Address) -> list[Outbound] | None:
        """The resolver's next plain text closes the escalation; None when we are not waiting for one."""
        eid = await self.store.take_note_wait(person.id)
        if eid is None:
            return None
        return await self.resolve(eid, person, note, at)

    async def resolve(self, eid: str, person: Person, note: str, at: Address) -> list[Outbound]:
        lang = person.lang
        esc = await self.store.get(eid)
        if esc is None:
            return [Outbound(to=at, text=tx.t("unknown_alert", lang))]
        now = self.clock.now()
        note = note.strip()
        status, _ = await self.store.resolve(
            eid, esc.family_id, person.id, now, note, audit.resolved(esc, now, person.id, bool(note))
        )
        if status != "ok":
            return [Outbound(to=at, text=tx.t("already_resolved" if status == "resolved" else "unknown_alert", lang))]
        log.warning("escalation %s resolved by %s", eid, person.id)
        family = await self.directory.get_family(esc.family_id)
        alias = family.alias if family else esc.family_id
        out = [Outbound(to=at, text=tx.t("resolved_you", lang))]
        out += await self._tell_maatje(family, "maatje_resolved", name=person.name, alias=alias)
        for pid in dict.fromkeys((*esc.notified, *([esc.acked_by] if esc.acked_by else []))):
            other = await self.directory.get_person(pid) if pid != person.id else None
            if other:
                out += await self._to(other, tx.t("resolved_others", other.lang, name=person.name, alias=alias))
        return out
