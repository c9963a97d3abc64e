"""Every Redis key Naast uses, in one place, each with why it exists.

All keys start with the configured prefix so several deployments can share one Redis.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "naast"

    # --- directory -------------------------------------------------------------------------
    def person(self, pid: str) -> str:  # HASH role, name*, lang, family_id, paused (* = sealed)
        return f"{self.prefix}:person:{pid}"

    def people(self) -> str:  # SET of all person ids, for admin listings
        return f"{self.prefix}:people"

    def family(self, fid: str) -> str:  # HASH alias*, maatje_id
        return f"{self.prefix}:family:{fid}"

    def families(self) -> str:  # SET of all family ids
        return f"{self.prefix}:families"

    def family_parents(self, fid: str) -> str:  # SET of parent ids: a family may have two parents
        return f"{self.prefix}:family:{fid}:parents"

    def caseload(self, pid: str) -> str:  # SET of family ids a maatje holds; its size is the caseload
        return f"{self.prefix}:maatje:{pid}:families"

    def identity(self, transport: str, user: str) -> str:  # STRING person id for a transport account
        return f"{self.prefix}:ident:{transport}:{user}"

    def addresses(self, pid: str) -> str:  # HASH transport -> chat id: where to reach a person
        return f"{self.prefix}:person:{pid}:addr"

    def invite(self, code_hash: str) -> str:
        # HASH person_id, expires_at, used. Only the SHA-256 of a code is stored. Kept 30 days past
        # expiry so a late parent hears "this link has expired" rather than "unknown link".
        return f"{self.prefix}:invite:{code_hash}"

    # --- threads ---------------------------------------------------------------------------
    def thread(self, transport: str, chat: str, ref: str) -> str:
        # STRING family id of a relayed message in a maatje's chat: a reply to it goes to that family.
        return f"{self.prefix}:thread:{transport}:{chat}:{ref}"

    def topic(self, transport: str, chat: str, fid: str) -> str:  # STRING forum thread id of a family
        return f"{self.prefix}:topic:{transport}:{chat}:{fid}"

    def topic_family(self, transport: str, chat: str, thread: str) -> str:  # reverse of topic()
        return f"{self.prefix}:topicfam:{transport}:{chat}:{thread}"

    def group_of(self, pid: str) -> str:  # HASH transport -> group chat a maatje linked with /koppel
        return f"{self.prefix}:person:{pid}:group"

    def group_owner(self, transport: str, chat: str) -> str:  # STRING maatje id owning a linked group
        return f"{self.prefix}:group:{transport}:{chat}"

    def pending(self, token: str) -> str:
        # STRING sealed message a maatje with several families typed without replying; waits (TTL)
        # for the family button.
        return f"{self.prefix}:pending:{token}"

    # --- delivery --------------------------------------------------------------------------
    def seen(self, transport: str, event_id: str) -> str:  # de-duplication of inbound updates (TTL)
        return f"{self.prefix}:seen:{transport}:{event_id}"

    def inbox(self) -> str:  # STREAM of accepted inbound events; workers read it as a consumer group
        return f"{self.prefix}:inbox"

    def outbox_msg(self, oid: str) -> str:  # HASH body* (sealed Outbound), attempts, queue
        return f"{self.prefix}:outbox:msg:{oid}"

    def outbox_queue(self, transport: str, chat: str) -> str:  # LIST of ids: per-chat order is kept
        return f"{self.prefix}:outbox:q:{transport}:{chat}"

    def outbox_ready(self) -> str:
        # ZSET queue key -> due time (ms). A worker claims a queue by moving its score to now+lease,
        # so a crashed worker's queue comes back after the lease, and two workers never send at once.
        return f"{self.prefix}:outbox:ready"

    def outbox_dead(self) -> str:  # LIST of ids given up on (blocked bot, chat gone): for inspection
        return f"{self.prefix}:outbox:dead"

    def counter(self, name: str) -> str:  # plain counters for `naast status`
        return f"{self.prefix}:count:{name}"

    # --- escalation ------------------------------------------------------------------------
    def esc(self, eid: str) -> str:
        # HASH state of one escalation: ids, level, step, timestamps in the clear so listings and the
        # watchdog need no key; reason* and note* sealed. Kept (no TTL): it is the case record.
        return f"{self.prefix}:esc:{eid}"

    def esc_texts(self, eid: str) -> str:
        # LIST sealed copies of the parent messages that raised or joined it (last few): the one place
        # message text is kept for a professional, so a backup alerted later sees what was said.
        return f"{self.prefix}:esc:{eid}:texts"

    def esc_triggers(self, eid: str) -> str:
        # SET inbound event keys already counted: a re-handled update adds its signal only once.
        return f"{self.prefix}:esc:{eid}:triggers"

    def esc_audit(self, eid: str) -> str:
        # STREAM append-only trail (raised, notified whom, acknowledged, resolved): ids, times, no text.
        return f"{self.prefix}:esc:{eid}:audit"

    def esc_open(self, fid: str) -> str:
        # STRING id of the family's escalation that is not resolved yet: later signals attach to it
        # instead of starting a second alert storm.
        return f"{self.prefix}:esc:open:{fid}"

    def esc_index(self) -> str:  # ZSET escalation id -> raised at (ms): listings and export
        return f"{self.prefix}:esc:index"

    def esc_active(self) -> str:  # SET ids not resolved yet: the watchdog's worklist
        return f"{self.prefix}:esc:active"

    def esc_timers(self) -> str:
        # ZSET "<escalation id>:<step>" -> due (ms). The member id makes scheduling twice a no-op; a
        # worker claims a due member by moving its score a lease ahead, atomically, so two workers
        # never fire one step and a crashed worker's step comes back when the lease runs out.
        return f"{self.prefix}:esc:timers"

    def esc_overdue(self) -> str:  # SET "<escalation id>:<step>" already reported late by the watchdog
        return f"{self.prefix}:esc:overdue"

    def esc_rota(self) -> str:  # STRING JSON weekly shifts and overrides (person ids only)
        return f"{self.prefix}:esc:rota"

    def esc_card(self, fid: str) -> str:
        # STRING sealed veiligheidskaart of a family: agreements, risks, who to call. Kept by staff.
        return f"{self.prefix}:esc:card:{fid}"

    def esc_note_wait(self, pid: str) -> str:
        # STRING escalation id whose closing note we wait for from this person (TTL): their next
        # plain text becomes the note.
        return f"{self.prefix}:esc:notewait:{pid}"

    def esc_pick(self, token: str) -> str:
        # STRING sealed reason of an /escaleer waiting (TTL) for a maatje with several families to pick one.
        return f"{self.prefix}:esc:pick:{token}"
