"""The inbox: the stored messages of every platform, newest first, with filters, one message's
thread, the user's label corrections and triage statuses.

`CommunityInbox(ctx)`; public API:
- `messages(*, platform=None, needs_reply=None, mentions=None, sentiment=None, search=None,
  status=None, member_id=None, limit=50, offset=0) -> {"total", "messages": [message]}`: newest
  first (sent time, then id). `sentiment` filters on the effective label (the user's correction when
  there is one); `search` is a case-insensitive substring of the text or the author's name.
- `message(id) -> message + {"thread": [message], "replies": [reply]}`: `thread` is the chain of
  messages it answers (up to `THREAD_DEPTH`) and the stored replies to it, oldest first;
  `replies` the drafts and outbox rows written for it, newest first.
- `set_label(id, label | None) -> message`: a correction of the sentiment label (None: back to
  the model's); kept, used by the counts, the charts and the training export.
- `set_status(id, status) -> message`: new | read | answered | dismissed. Answering or
  dismissing takes the message off the "needs reply" list; setting it back to `new` puts it back
  when it was addressed to the user (a mention not written by them).
- `counts() -> {"all", "needs_reply", "mentions", "negative", "platforms": {platform: n}}`.

Speed (a page takes ~1-35 ms with 100 000 messages in SQLite; `total` is exact): the count comes
first (from an index for the platform / needs_reply / member filters, one pass over the table
for mentions, sentiment, status and search). Then the page either walks the (sent_at) index
newest first, stopping at the page's end, when the matches are common enough that the walk stays
short (`WALK_MAX_ROWS`), or else sorts only the matching ids: walking (sent_at) in search of rare
matches would visit the whole table in random order.
Message and member rows are serialised by common.py (`message_dict`, `reply_dict`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from studio.db.models import CommunityMessage, CommunityReply
from studio.services.community.common import (
    MESSAGE_STATUSES,
    SENTIMENT_LABELS,
    CommunityError,
    UnknownMessage,
    message_dict,
    reply_dict,
)
from studio.services.community.topics import check_platform
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context

MAX_LIMIT = 200
# A walk visits the table in (sent_at) order, i.e. at random (~1 us a row in SQLite); beyond this
# many rows one pass over the table and a sort of the matching ids is cheaper.
WALK_MAX_ROWS = 10_000
THREAD_DEPTH = 20  # messages above this one in a reply chain
THREAD_REPLIES = 200  # stored replies to it shown in the thread


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CommunityInbox:
    def __init__(self, ctx: "Context") -> None:
        self._ctx = ctx

    # --- the list -------------------------------------------------------------------------------
    def messages(self, *, platform: str | None = None, needs_reply: bool | None = None,
                 mentions: bool | None = None, sentiment: str | None = None, search: str | None = None,
                 status: str | None = None, member_id: str | None = None, limit: int = 50,
                 offset: int = 0) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise CommunityError(f"limit must be 1-{MAX_LIMIT}")
        if offset < 0:
            raise CommunityError("offset must be 0 or more")
        m = CommunityMessage
        conditions = []
        platform = check_platform(platform)
        if platform:
            # An expression, not the column: the (platform, ...) unique index would have SQLite fetch
            # the platform's rows in random order, slower than one pass over the table.
            conditions.append(func.coalesce(m.platform, m.platform) == platform)
        if needs_reply is not None:
            conditions.append(m.needs_reply == int(needs_reply))
        if mentions is not None:
            conditions.append(m.is_mention == int(mentions))
        if sentiment:
            if sentiment not in SENTIMENT_LABELS:
                raise CommunityError(f"sentiment must be one of: {', '.join(SENTIMENT_LABELS)}")
            conditions.append(func.coalesce(m.label_override, m.sentiment_label) == sentiment)
        if status:
            if status not in MESSAGE_STATUSES:
                raise CommunityError(f"status must be one of: {', '.join(MESSAGE_STATUSES)}")
            conditions.append(m.status == status)
        if member_id:
            conditions.append(m.member_id == member_id)
        if search and search.strip():
            conditions.append(self._search(search.strip()))
        with self._ctx.db.session() as session:
            # the platform alone is counted from the unique index (platform, ...): ~1 ms
            counted = [m.platform == platform] if platform and len(conditions) == 1 else conditions
            total = session.scalar(select(func.count()).select_from(m).where(*counted)) or 0
            if total <= offset:
                rows = []
            elif not conditions or self._walk_rows(session, total, offset + limit) <= WALK_MAX_ROWS:
                rows = session.scalars(select(m).where(*conditions).order_by(m.sent_at.desc(), m.id.desc())
                                       .limit(limit).offset(offset)).all()
            else:
                # ordering by an expression keeps the planner off the (sent_at) walk; only ids are sorted
                ids = session.scalars(select(m.id).where(*conditions)
                                      .order_by(func.coalesce(m.sent_at, m.sent_at).desc(), m.id.desc())
                                      .limit(limit).offset(offset)).all()
                by_id = {row.id: row for row in session.scalars(select(m).where(m.id.in_(ids)))}
                rows = [by_id[i] for i in ids]
            return {"total": total, "limit": limit, "offset": offset,
                    "messages": [message_dict(row) for row in rows]}

    @staticmethod
    def _walk_rows(session, matches: int, wanted: int) -> float:
        """Rows a newest-first walk is expected to visit to find `wanted` of `matches` matches,
        were they spread evenly over time."""
        stored = session.scalar(select(func.count()).select_from(CommunityMessage)) or 0
        return wanted * stored / max(matches, 1)

    # --- one message ----------------------------------------------------------------------------
    def message(self, message_id: str) -> dict[str, Any]:
        m = CommunityMessage
        with self._ctx.db.session() as session:
            row = self._row(session, message_id)
            chain = []
            parent_id, seen = row.reply_to_external_id, {row.external_id}
            while parent_id and parent_id not in seen and len(chain) < THREAD_DEPTH:
                seen.add(parent_id)
                parent = session.scalar(select(m).where(m.platform == row.platform, m.channel_id == row.channel_id,
                                                        m.external_id == parent_id))
                if parent is None:
                    break
                chain.append(parent)
                parent_id = parent.reply_to_external_id
            answers = session.scalars(
                select(m).where(m.platform == row.platform, m.channel_id == row.channel_id,
                                m.reply_to_external_id == row.external_id)
                .order_by(m.sent_at, m.id).limit(THREAD_REPLIES)).all()
            replies = session.scalars(select(CommunityReply).where(CommunityReply.message_id == row.id)
                                      .order_by(CommunityReply.created_at.desc())).all()
            return {**message_dict(row),
                    "thread": [message_dict(r) for r in reversed(chain)] + [message_dict(r) for r in answers],
                    "replies": [reply_dict(r) for r in replies]}

    def set_label(self, message_id: str, label: str | None) -> dict[str, Any]:
        if label is not None and label not in SENTIMENT_LABELS:
            raise CommunityError(f"label must be one of: {', '.join(SENTIMENT_LABELS)}, or null for the model's")
        with self._ctx.db.session() as session:
            row = self._row(session, message_id)
            # a correction equal to the model's label is no correction
            row.label_override = label if label != row.sentiment_label else None
            row.labelled_at = utcnow() if row.label_override else None
            return message_dict(row)

    def set_status(self, message_id: str, status: str) -> dict[str, Any]:
        if status not in MESSAGE_STATUSES:
            raise CommunityError(f"status must be one of: {', '.join(MESSAGE_STATUSES)}")
        with self._ctx.db.session() as session:
            row = self._row(session, message_id)
            row.status = status
            if status in ("answered", "dismissed"):
                row.needs_reply = 0
            elif status == "new" and row.is_mention and not row.from_self:
                row.needs_reply = 1
            return message_dict(row)

    def counts(self) -> dict[str, Any]:
        m = CommunityMessage
        with self._ctx.db.session() as session:
            per_platform = dict(session.execute(select(m.platform, func.count()).group_by(m.platform)).all())
            needs_reply = session.scalar(select(func.count()).where(m.needs_reply == 1)) or 0
            mentions = session.scalar(select(func.count()).where(m.is_mention == 1)) or 0
            negative = session.scalar(select(func.count()).where(
                func.coalesce(m.label_override, m.sentiment_label) == "negative")) or 0
        return {"all": sum(per_platform.values()), "needs_reply": needs_reply, "mentions": mentions,
                "negative": negative, "platforms": per_platform}

    def _search(self, text: str):
        """Case-insensitive substring of the text or the author's name. SQLite's LIKE ignores ASCII
        case by itself (lower() on every row would double the cost); other databases get ILIKE."""
        m = CommunityMessage
        like = _like(text)
        if self._ctx.db.is_sqlite:
            return or_(m.text.like(like, escape="\\"), m.author_name.like(like, escape="\\"))
        return or_(m.text.ilike(like, escape="\\"), m.author_name.ilike(like, escape="\\"))

    @staticmethod
    def _row(session, message_id: str) -> CommunityMessage:
        row = session.get(CommunityMessage, message_id)
        if row is None:
            raise UnknownMessage(message_id)
        return row
