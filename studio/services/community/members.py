"""Community members: the people seen writing on each platform, with a profile computed from
what the studio stored (their messages, the reactions and replies those received).

`CommunityMembers(ctx, *, music, clock=utcnow)`; public API:
- `list_members(*, platform=None, status=None (active | inactive | vip), search=None, limit=50,
  offset=0) -> {"total_members", "active_members", "matched", "members": [member]}`, most
  recently seen first. `total_members` and `active_members` count the platform's members (all
  platforms without one); `matched` those every filter keeps (for paging).
- `member(id) -> member + {"recent_messages": [message]}` (UnknownMember).
- `set_vip(id, vip) -> member`: VIP is the user's mark, nothing computes it.

member = common.member_basics(row) + the computed profile:
- `join_date`: the platform's join date when it gave one (`join_date_basis` "platform"), else the
  first message the studio saw (`join_date_basis` "first_seen").
- `activity_level` from the message rate over the last `ACTIVITY_WINDOW_DAYS` (30) days, or since
  the member was first seen when that is later (at least one day): `messages_per_day` = messages
  in that window / its days; high >= 1 a day, medium >= 1 a week (1/7 a day), low > 0, inactive 0.
  Active members (the `active` filter, `active_members`) are those not inactive: seen within the
  last 30 days.
- `favorite_genres`: the studio's styles (resources/music/styles.toml: id, name and keywords, minus
  the chat-ambiguous words in topics.toml [genres] ignore) named in the member's newest
  `GENRE_MESSAGES` (200) messages, most named first, at most 3, each named at least once;
  `genre_mentions` {style id: messages naming it}. An empty list when they named none.
- `engagement_score` (0-10) from the reactions and replies their messages received:
  r = (reactions_received + replies_received) / total_messages; score = 10 x r / (r + 1), one
  decimal: 0 when nobody reacted or replied, 5.0 at one reaction or reply per message on average,
  towards 10 above. `reasons` says why a figure is null (a member with no stored message).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import func, or_, select

from studio.db.models import CommunityMember, CommunityMessage
from studio.services.community.common import (
    CommunityError,
    UnknownMember,
    member_basics,
    message_dict,
)
from studio.services.community.topics import (
    PhraseMatcher,
    check_platform,
    topics_config,
    words,
)
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.music import MusicService

ACTIVITY_WINDOW_DAYS = 30
HIGH_PER_DAY = 1.0
MEDIUM_PER_DAY = 1.0 / 7.0
GENRE_MESSAGES = 200
FAVORITE_GENRES = 3
RECENT_MESSAGES = 10
MAX_LIMIT = 200
MEMBER_STATUSES = ("active", "inactive", "vip")


def activity_level(messages_per_day: float) -> str:
    if messages_per_day >= HIGH_PER_DAY:
        return "high"
    if messages_per_day >= MEDIUM_PER_DAY:
        return "medium"
    return "low" if messages_per_day > 0 else "inactive"


def engagement_score(reactions: int, replies: int, messages: int) -> float | None:
    """10 x r / (r + 1), r = (reactions + replies) per message; None without messages."""
    if messages <= 0:
        return None
    r = (reactions + replies) / messages
    return round(10.0 * r / (r + 1.0), 1)


class CommunityMembers:
    def __init__(self, ctx: "Context", *, music: "MusicService", clock: Callable[[], datetime] = utcnow) -> None:
        self._ctx = ctx
        self._music = music
        self.clock = clock
        self._genres: PhraseMatcher | None = None

    # --- queries --------------------------------------------------------------------------------
    def list_members(self, *, platform: str | None = None, status: str | None = None, search: str | None = None,
                     limit: int = 50, offset: int = 0) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise CommunityError(f"limit must be 1-{MAX_LIMIT}")
        if offset < 0:
            raise CommunityError("offset must be 0 or more")
        if status is not None and status not in MEMBER_STATUSES:
            raise CommunityError(f"status must be one of: {', '.join(MEMBER_STATUSES)}")
        platform = check_platform(platform)
        c = CommunityMember
        since = self.clock() - timedelta(days=ACTIVITY_WINDOW_DAYS)
        scope = [c.platform == platform] if platform else []
        filters = list(scope)
        if status == "active":
            filters.append(c.last_seen_at >= since)
        elif status == "inactive":
            filters.append(c.last_seen_at < since)
        elif status == "vip":
            filters.append(c.vip == 1)
        if search and search.strip():
            like = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            column = c.username.like(like, escape="\\") if self._ctx.db.is_sqlite else c.username.ilike(like, escape="\\")
            filters.append(or_(column, c.external_id == search.strip()))
        with self._ctx.db.session() as session:
            total = session.scalar(select(func.count()).select_from(c).where(*scope)) or 0
            active = session.scalar(select(func.count()).select_from(c).where(*scope, c.last_seen_at >= since)) or 0
            matched = session.scalar(select(func.count()).select_from(c).where(*filters)) or 0
            rows = session.scalars(select(c).where(*filters).order_by(c.last_seen_at.desc(), c.id)
                                   .limit(limit).offset(offset)).all()
            members = self._profiles(session, rows)
        return {"total_members": total, "active_members": active, "matched": matched, "limit": limit,
                "offset": offset, "members": members}

    def member(self, member_id: str) -> dict[str, Any]:
        m = CommunityMessage
        with self._ctx.db.session() as session:
            row = self._row(session, member_id)
            profile = self._profiles(session, [row])[0]
            recent = session.scalars(select(m).where(m.member_id == member_id)
                                     .order_by(m.sent_at.desc(), m.id.desc()).limit(RECENT_MESSAGES)).all()
            return {**profile, "recent_messages": [message_dict(r) for r in recent]}

    def set_vip(self, member_id: str, vip: bool) -> dict[str, Any]:
        with self._ctx.db.session() as session:
            row = self._row(session, member_id)
            row.vip = int(bool(vip))
        return self.member(member_id)

    # --- the computed profile -------------------------------------------------------------------
    def _profiles(self, session, rows: list[CommunityMember]) -> list[dict[str, Any]]:
        if not rows:
            return []
        now = self.clock()
        m = CommunityMessage
        ids = [row.id for row in rows]
        earliest = now - timedelta(days=ACTIVITY_WINDOW_DAYS)
        recent_counts = dict(session.execute(
            select(m.member_id, func.count()).where(m.member_id.in_(ids), m.sent_at >= earliest)
            .group_by(m.member_id)).all())
        profiles = []
        for row in rows:
            profile = member_basics(row)
            reasons: dict[str, str] = {}
            first_seen = row.first_seen_at
            window_days = max(1.0, min(float(ACTIVITY_WINDOW_DAYS), (now - first_seen).total_seconds() / 86400.0))
            # messages since the window opened; a member first seen inside it has a shorter window
            per_day = recent_counts.get(row.id, 0) / window_days
            genres = self._genre_mentions(session, row.id)
            score = engagement_score(row.reactions_received, row.replies_received, row.message_count)
            if score is None:
                reasons["engagement_score"] = "no stored message of this member to measure reactions on"
            profile.update({
                "join_date": profile["joined_at"] or profile["first_seen"],
                "join_date_basis": "platform" if row.joined_at else "first_seen",
                "activity_level": activity_level(per_day),
                "messages_per_day": round(per_day, 2),
                "activity_window_days": round(window_days, 1),
                "favorite_genres": [style for style, _n in genres.most_common(FAVORITE_GENRES)],
                "genre_mentions": dict(genres.most_common()),
                "engagement_score": score,
                "reasons": reasons,
            })
            profiles.append(profile)
        return profiles

    def _genre_mentions(self, session, member_id: str) -> Counter[str]:
        """Style id -> how many of the member's newest messages name it."""
        m = CommunityMessage
        texts = session.scalars(select(m.text).where(m.member_id == member_id)
                                .order_by(m.sent_at.desc()).limit(GENRE_MESSAGES)).all()
        matcher = self._genre_matcher()
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(set(matcher.matches(text)))
        return counts

    def _genre_matcher(self) -> PhraseMatcher:
        if self._genres is None:
            ignore = topics_config().genre_ignore
            terms: dict[str, str] = {}
            for style_id, style in self._music.catalogue.styles().items():
                for term in (style_id.replace("_", " "), style.name, *style.keywords):
                    phrase = " ".join(words(term))
                    if phrase and phrase not in ignore:
                        terms.setdefault(phrase, style_id)  # a word two styles share goes to the first
            self._genres = PhraseMatcher(terms)
        return self._genres

    @staticmethod
    def _row(session, member_id: str) -> CommunityMember:
        row = session.get(CommunityMember, member_id)
        if row is None:
            raise UnknownMember(member_id)
        return row
