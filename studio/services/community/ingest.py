"""Storing what the connectors read and the files users import: one path for every message.

`Ingest.store(messages)` (sync, run in a worker thread by `store_async`) takes `InboundMessage`
values in chunks of `IMPORT_CHUNK` and, per chunk, in one transaction:
- drops the ones already stored (the platform's id is unique within its channel) and refreshes
  their reaction and reply counts, which change after a message is first read;
- scores the sentiment of each new message (VADER + the creator lexicon);
- upserts the authors as members (first/last seen, message count, reactions received, the
  platform's join date when it gave one);
- flags what needs a reply: addressed to the user (a mention, a reply, a DM, a comment on their
  video), not written by a bot or by the user; a message the user's bot or channel wrote that
  answers another marks that one answered and counts a reply received by its author.

Duplicates are cheap, so polls may overlap and re-imports change nothing. A crash mid-import
keeps the chunks already committed; importing the file again stores only the rest.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select, tuple_, update

from studio.connectors.messages import InboundMessage
from studio.db.models import CommunityMember, CommunityMessage
from studio.services.community.common import IMPORT_CHUNK, new_id
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context

MENTION_EVENTS_PER_BATCH = 20  # a backlog read after a pause announces its newest mentions, not hundreds


@dataclass
class IngestResult:
    new: int = 0
    duplicates: int = 0
    mentions: list[dict[str, Any]] = field(default_factory=list)  # new messages that need a reply
    platforms: set[str] = field(default_factory=set)

    def merge(self, other: "IngestResult") -> None:
        self.new += other.new
        self.duplicates += other.duplicates
        self.mentions.extend(other.mentions)
        self.platforms |= other.platforms


class Ingest:
    def __init__(self, ctx: "Context", *, sentiment: Any) -> None:
        self._ctx = ctx
        self._sentiment = sentiment
        self._lock = threading.Lock()  # one writer: live polls and an import may run at once

    # --- the one entry ------------------------------------------------------------------------
    def store(self, messages: Iterable[InboundMessage]) -> IngestResult:
        result = IngestResult()
        chunk: list[InboundMessage] = []
        for message in messages:
            chunk.append(message)
            if len(chunk) >= IMPORT_CHUNK:
                result.merge(self._store_chunk(chunk))
                chunk = []
        if chunk:
            result.merge(self._store_chunk(chunk))
        return result

    async def store_async(self, messages: Sequence[InboundMessage], *, publish: bool = True) -> IngestResult:
        """`store` in a worker thread (the loop stays responsive), then the events on the loop:
        `community_mention` for new messages that need a reply (not for imports: `publish=False`
        is for history) and `community_messages` when anything new arrived."""
        result = await asyncio.to_thread(self.store, list(messages))
        events = self._ctx.events
        if publish:
            for mention in result.mentions[-MENTION_EVENTS_PER_BATCH:]:
                events.publish("community_mention", mention)
        if result.new:
            events.publish("community_messages", {"new": result.new, "platforms": sorted(result.platforms)})
        return result

    # --- one chunk, one transaction -----------------------------------------------------------
    def _store_chunk(self, chunk: list[InboundMessage]) -> IngestResult:
        # The last copy of a message wins inside a chunk (an edit read in the same poll).
        unique: dict[tuple[str, str, str], InboundMessage] = {}
        for message in chunk:
            unique[(message.platform, str(message.channel_id), str(message.message_id))] = message
        result = IngestResult(duplicates=len(chunk) - len(unique))
        now = utcnow()
        with self._lock, self._ctx.db.session() as session:
            existing = self._existing(session, list(unique))
            fresh = [m for key, m in unique.items() if key not in existing]
            result.duplicates += len(unique) - len(fresh)
            self._refresh_counts(session, existing, unique)
            if not fresh:
                return result
            # the user's own bot or channel is not a member of their community
            members = self._upsert_members(session, [m for m in fresh if not m.from_self])
            rows: list[dict[str, Any]] = []
            for message in fresh:
                score = self._sentiment.score(message.text)
                needs_reply = message.mentions_bot and not message.from_self and not message.author_is_bot
                row_id = new_id("msg")
                rows.append({
                    "id": row_id,
                    "platform": message.platform,
                    "channel_id": str(message.channel_id),
                    "channel_name": message.channel_name,
                    "external_id": str(message.message_id),
                    "member_id": members.get((message.platform, str(message.author_id))),
                    "author_name": message.author_name[:200],
                    "text": message.text[:20000],
                    "sent_at": message.sent_at,
                    "received_at": now,
                    "reply_to_external_id": message.reply_to_id,
                    "is_mention": int(message.mentions_bot),
                    "needs_reply": int(needs_reply),
                    "from_self": int(message.from_self),
                    # history from a file is not a to-do list: imported messages arrive read
                    "status": "read" if message.imported_from or not needs_reply else "new",
                    "reactions": int(message.reactions or 0),
                    "reply_count": message.reply_count,
                    "sentiment_compound": score.compound,
                    "sentiment_label": score.label,
                    "imported_from": message.imported_from,
                    "url": message.url,
                })
                if needs_reply and not message.imported_from:
                    result.mentions.append({
                        "platform": message.platform,
                        "user": message.author_name,
                        "message": message.text[:500],
                        "sentiment": score.label,
                        "requires_response": True,
                        "message_id": row_id,
                    })
            session.connection().execute(insert(CommunityMessage.__table__), rows)  # Core: no ORM bulk overhead
            self._link_replies(session, fresh)
            result.new = len(rows)
            result.platforms = {m.platform for m in fresh}
        return result

    @staticmethod
    def _existing(session, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple]:
        """Stored messages among `keys`: key -> (row id, reactions, reply_count, member id)."""
        by_channel: dict[tuple[str, str], list[str]] = defaultdict(list)
        for platform, channel, external in keys:
            by_channel[(platform, channel)].append(external)
        found: dict[tuple[str, str, str], tuple] = {}
        m = CommunityMessage
        for (platform, channel), externals in by_channel.items():
            rows = session.execute(
                select(m.id, m.external_id, m.reactions, m.reply_count, m.member_id).where(
                    m.platform == platform, m.channel_id == channel, m.external_id.in_(externals))
            ).all()
            for row in rows:
                found[(platform, channel, row.external_id)] = (row.id, row.reactions, row.reply_count, row.member_id)
        return found

    @staticmethod
    def _refresh_counts(session, existing: dict, unique: dict[tuple[str, str, str], InboundMessage]) -> None:
        """Reactions and reply counts grow after a message is first read: keep them current, and
        the author's `reactions_received` with them."""
        changes: list[dict[str, Any]] = []
        member_delta: dict[str, int] = defaultdict(int)
        for key, (row_id, reactions, reply_count, member_id) in existing.items():
            message = unique[key]
            new_reactions = int(message.reactions or 0)
            if new_reactions != reactions or (message.reply_count is not None and message.reply_count != reply_count):
                changes.append({"row_id": row_id, "reactions": new_reactions,
                                "reply_count": message.reply_count if message.reply_count is not None else reply_count})
                if member_id and new_reactions != reactions:
                    member_delta[member_id] += new_reactions - reactions
        if changes:
            m = CommunityMessage
            session.connection().execute(
                update(m).where(m.id == bindparam("row_id")).values(
                    reactions=bindparam("reactions"), reply_count=bindparam("reply_count")),
                changes)
        for member_id, delta in member_delta.items():
            session.execute(update(CommunityMember).where(CommunityMember.id == member_id).values(
                reactions_received=CommunityMember.reactions_received + delta))

    @staticmethod
    def _upsert_members(session, fresh: list[InboundMessage]) -> dict[tuple[str, str], str]:
        """Member id per (platform, author id), creating the ones not seen before and adding this
        chunk's messages to the counts of the others."""
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for message in fresh:
            key = (message.platform, str(message.author_id))
            entry = seen.get(key)
            if entry is None:
                entry = seen[key] = {"username": message.author_name, "first": message.sent_at,
                                     "last": message.sent_at, "count": 0, "reactions": 0,
                                     "joined": message.author_joined_at}
            entry["count"] += 1
            entry["reactions"] += int(message.reactions or 0)
            if message.sent_at < entry["first"]:
                entry["first"] = message.sent_at
            if message.sent_at >= entry["last"]:
                entry["last"] = message.sent_at
                entry["username"] = message.author_name  # the newest name the author goes by
            if message.author_joined_at and not entry["joined"]:
                entry["joined"] = message.author_joined_at
        c = CommunityMember
        stored = {
            (row.platform, row.external_id): row
            for row in session.execute(
                select(c.id, c.platform, c.external_id, c.first_seen_at, c.last_seen_at, c.joined_at).where(
                    tuple_(c.platform, c.external_id).in_(list(seen)))
            ).all()
        }
        ids: dict[tuple[str, str], str] = {}
        new_rows: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for key, entry in seen.items():
            row = stored.get(key)
            if row is None:
                member_id = new_id("member")
                new_rows.append({"id": member_id, "platform": key[0], "external_id": key[1],
                                 "username": entry["username"][:200], "joined_at": entry["joined"],
                                 "first_seen_at": entry["first"], "last_seen_at": entry["last"],
                                 "message_count": entry["count"], "reactions_received": entry["reactions"],
                                 "replies_received": 0, "vip": 0})
            else:
                member_id = row.id
                newer = entry["last"] >= row.last_seen_at
                changes.append({"member_id": member_id, "n": entry["count"], "reactions": entry["reactions"],
                                "first": min(entry["first"], row.first_seen_at),
                                "last": entry["last"] if newer else row.last_seen_at,
                                "username": entry["username"][:200] if newer else None,
                                "joined": row.joined_at or entry["joined"]})
            ids[key] = member_id
        if new_rows:
            session.connection().execute(insert(c.__table__), new_rows)
        if changes:  # one executemany, not a statement per member
            session.connection().execute(
                update(c).where(c.id == bindparam("member_id")).values(
                    message_count=c.message_count + bindparam("n"),
                    reactions_received=c.reactions_received + bindparam("reactions"),
                    first_seen_at=bindparam("first", type_=c.first_seen_at.type),
                    last_seen_at=bindparam("last", type_=c.last_seen_at.type),
                    username=func.coalesce(bindparam("username", type_=c.username.type), c.username),
                    joined_at=bindparam("joined", type_=c.joined_at.type)),
                changes)
        return ids

    @staticmethod
    def _link_replies(session, fresh: list[InboundMessage]) -> None:
        """Replies to stored messages: the parent's author received a reply; a reply written by the
        user (their bot or channel) answers the parent. One query per channel for the parents."""
        m = CommunityMessage
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for message in fresh:
            if message.reply_to_id:
                wanted[(message.platform, str(message.channel_id))].add(str(message.reply_to_id))
        if not wanted:
            return
        parents: dict[tuple[str, str, str], tuple[str, str | None]] = {}
        for (platform, channel), externals in wanted.items():
            for row in session.execute(select(m.id, m.external_id, m.member_id).where(
                    m.platform == platform, m.channel_id == channel, m.external_id.in_(list(externals)))).all():
                parents[(platform, channel, row.external_id)] = (row.id, row.member_id)
        replies_received: dict[str, int] = defaultdict(int)
        answered: set[str] = set()
        for message in fresh:
            if not message.reply_to_id:
                continue
            parent = parents.get((message.platform, str(message.channel_id), str(message.reply_to_id)))
            if parent is None:
                continue
            if parent[1]:
                replies_received[parent[1]] += 1
            if message.from_self:
                answered.add(parent[0])
        if replies_received:
            c = CommunityMember
            session.connection().execute(
                update(c).where(c.id == bindparam("member_id")).values(
                    replies_received=c.replies_received + bindparam("n")),
                [{"member_id": k, "n": v} for k, v in replies_received.items()])
        if answered:
            session.execute(update(m).where(m.id.in_(list(answered))).values(needs_reply=0, status="answered"))
