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
