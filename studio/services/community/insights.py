"""Community figures: the overview (seed 000 GET /api/community/analytics), sentiment per platform
and over time (GET /api/community/sentiment), engagement of one track (GET
/api/community/engagement), and the per-platform activity behind GET /api/community/platforms.

`CommunityInsights(ctx, *, topics, music, sources, clock=utcnow)`; public API and formulas. "In the period"
means sent within the last `period_days` days (or the parsed `period`); "the previous period" the
equally long stretch just before it. Sentiment scores use the seed's 0-10 scale, (compound + 1) x 5
of the model's VADER compound (common.scale10); label counts use the effective label (the user's
correction when there is one). The user's own messages (their bot's or channel's, read back) are
left out of sentiment, comments and topics.

- `overview(period_days) -> {"period_days", "overview": {...}, "platform_breakdown": [...], "reasons"}`:
  `total_members` = members stored; `daily_interactions` = messages in the period / period_days;
  `automation_percentage` = replies sent automatically / replies sent in the period x 100;
  `sentiment_score` = mean score of the period's messages; `growth_rate` = members first seen in the
  period / members first seen before it x 100; `engagement_improvement` = the change of reactions
  per message, period vs the previous period, in percent. Per platform: `members`, `daily_messages`,
  `ai_responses` (replies the studio drafted, sent in the period), `sentiment`.
- `sentiment(platform="all", period="24h") -> {"period", "overall_sentiment": {"score", "trend",
  "change"}, "platform_sentiment": [{"platform", "score", "positive_mentions", "negative_mentions",
  "neutral_mentions", "messages"}], "trending_topics", "reasons"}`: `change` = score minus the previous
  period's score, signed text ("+1.2"); `trend` improving when change >= +TREND_STEP (0.2), declining
  when <= -0.2, else stable; `trending_topics` from topics.py.
- `sentiment_series(platform="all", period_days=30) -> [{"day", "score", "positive", "neutral",
  "negative", "messages"}]`: one entry per UTC day, oldest first (score null on a day without messages).
- `engagement(content_id) -> {"content_id", "title", "engagement": {"total_interactions", "likes",
  "comments", "shares", "saves", "engagement_rate"}, "platform_breakdown", "recommendations_sent",
  "reasons"}` (UnknownContent when the id is neither a Library track or generation nor referenced by
  a message). The messages referencing it are those linked to it (`content_id`) or whose text holds
  its id or its title (titles of at least `MIN_TITLE_CHARS` characters): `comments` = those not
  written by the user, `likes` = the reactions on all of them (the user's own announcement
  included), `total_interactions` = likes + comments, `engagement_rate` = distinct members who
  wrote about it / members on those platforms x 100. `shares` and `saves` are null: no connected
  platform reports them to the studio. `recommendations_sent` = sent replies grounded on the track.
- `platforms()`: each source with its status and the stats below (GET platforms).
- `platform_stats(days=1) -> {platform: {"members", "messages_total", "daily_messages",
  "last_message", "last_response"}}`: `last_response` is the newest reply the studio sent or the
  user's own message read back on that platform.
- `parse_period_s(text)`: "24h", "7d", "2w", "1m" (30 days), "1y" -> seconds; CommunityError otherwise.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import String, case, cast, func, or_, select

from studio.db.models import CommunityMember, CommunityMessage, CommunityReply
from studio.services.community.common import PLATFORMS, CommunityError, scale10
from studio.services.community.topics import check_platform
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.community.sources import CommunitySources
    from studio.services.community.topics import CommunityTopics
    from studio.services.music import MusicService

TREND_STEP = 0.2
MIN_TITLE_CHARS = 4
MAX_PERIOD_DAYS = 5 * 365
_PERIOD = re.compile(r"^\s*(\d{1,5})\s*([hdwmy])\s*$", re.IGNORECASE)
_UNIT_S = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


class UnknownContent(KeyError):
    http_status = 404


def parse_period_s(text: str) -> int:
    match = _PERIOD.match(text or "")
    seconds = int(match.group(1)) * _UNIT_S[match.group(2).lower()] if match else 0
    if not 0 < seconds <= MAX_PERIOD_DAYS * 86400:
        raise CommunityError(f"period {text!r} is not like '24h', '7d', '2w', '1m' or '1y' (at most 5 years)")
    return seconds


def _mean_score(total_compound: float, n: int) -> float | None:
    return scale10(total_compound / n) if n else None


def _percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class CommunityInsights:
    def __init__(self, ctx: "Context", *, topics: "CommunityTopics", music: "MusicService", sources: "CommunitySources",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._ctx = ctx
        self._topics = topics
        self._music = music
        self._sources = sources
        self.clock = clock

    # --- GET /api/community/analytics -------------------------------------------------------------
    def overview(self, period_days: int) -> dict[str, Any]:
        if not 1 <= period_days <= MAX_PERIOD_DAYS:
            raise CommunityError(f"the period must be 1-{MAX_PERIOD_DAYS} days")
        now = self.clock()
        since = now - timedelta(days=period_days)
        before = since - timedelta(days=period_days)
        m, c, r = CommunityMessage, CommunityMember, CommunityReply
        with self._ctx.db.session() as session:
            members = dict(session.execute(select(c.platform, func.count()).group_by(c.platform)).all())
            new_members = session.scalar(select(func.count()).select_from(c).where(c.first_seen_at >= since)) or 0
            per_platform = {row.platform: row for row in session.execute(
                select(m.platform, func.count().label("messages"),
                       func.sum(case((m.from_self == 0, 1), else_=0)).label("theirs"),
                       func.sum(case((m.from_self == 0, m.sentiment_compound), else_=0.0)).label("compound"),
                       func.sum(m.reactions).label("reactions"))
                .where(m.sent_at >= since).group_by(m.platform)).all()}
            previous = session.execute(select(func.count(), func.sum(m.reactions))
                                       .where(m.sent_at >= before, m.sent_at < since)).one()
            sent = {row.platform: row for row in session.execute(
                select(r.platform, func.count().label("sent"), func.sum(r.auto).label("auto"),
                       func.sum(case((r.drafted_by != "person", 1), else_=0)).label("drafted"))
                .where(r.status == "sent", r.sent_at >= since).group_by(r.platform)).all()}
        reasons: dict[str, str] = {}
        total_members = sum(members.values())
        messages = sum(row.messages for row in per_platform.values())
        theirs = sum(row.theirs or 0 for row in per_platform.values())
        compound = sum(row.compound or 0.0 for row in per_platform.values())
        reactions = sum(row.reactions or 0 for row in per_platform.values())
        replies_sent = sum(row.sent for row in sent.values())
        auto_sent = sum(row.auto or 0 for row in sent.values())

        automation = _percent(auto_sent, replies_sent)
        if automation is None:
            reasons["overview.automation_percentage"] = "no reply was sent in the period"
        sentiment = _mean_score(compound, theirs)
        if sentiment is None:
            reasons["overview.sentiment_score"] = "no message from the community in the period"
        members_before = total_members - new_members
        growth = _percent(new_members, members_before)
        if growth is None:
            reasons["overview.growth_rate"] = "no member was seen before the period to grow from"
        prev_messages, prev_reactions = previous[0] or 0, previous[1] or 0
        improvement = None
        if not prev_messages or not prev_reactions:
            reasons["overview.engagement_improvement"] = ("no reaction in the previous period to compare with"
                                                           if prev_messages else "no message in the previous period")
        elif not messages:
            reasons["overview.engagement_improvement"] = "no message in the period"
        else:
            rate_now, rate_before = reactions / messages, prev_reactions / prev_messages
            improvement = round(100.0 * (rate_now - rate_before) / rate_before, 1)
        breakdown = []
        for platform in PLATFORMS:
            row, out = per_platform.get(platform), sent.get(platform)
            score = _mean_score(row.compound or 0.0, row.theirs or 0) if row else None
            if score is None:
                reasons[f"platform_breakdown.{platform}.sentiment"] = "no message from the community in the period"
            breakdown.append({"platform": platform, "members": members.get(platform, 0),
                              "daily_messages": round((row.messages if row else 0) / period_days, 1),
                              "ai_responses": (out.drafted or 0) if out else 0, "sentiment": score})
        return {
            "period_days": period_days,
            "overview": {"total_members": total_members, "daily_interactions": round(messages / period_days, 1),
                         "automation_percentage": automation, "sentiment_score": sentiment,
                         "growth_rate": growth, "engagement_improvement": improvement,
                         "new_members": new_members, "messages": messages, "replies_sent": replies_sent},
            "platform_breakdown": breakdown,
            "reasons": reasons,
        }

    # --- GET /api/community/sentiment -------------------------------------------------------------
    def sentiment(self, platform: str | None = "all", period: str = "24h") -> dict[str, Any]:
        period_s = parse_period_s(period)
        platform = check_platform(platform)
        now = self.clock()
        since = now - timedelta(seconds=period_s)
        before = since - timedelta(seconds=period_s)
        current = self._labels(since, now, platform)
        previous = self._labels(before, since, platform)
        reasons: dict[str, str] = {}
        n_now = sum(v["messages"] for v in current.values())
        n_before = sum(v["messages"] for v in previous.values())
        score = _mean_score(sum(v["compound"] for v in current.values()), n_now)
        before_score = _mean_score(sum(v["compound"] for v in previous.values()), n_before)
        change = trend = None
        if score is None:
            reasons["overall_sentiment.score"] = "no message from the community in the period"
        if score is not None and before_score is not None:
            delta = round(score - before_score, 1)
            change = f"{delta:+.1f}"
            trend = "improving" if delta >= TREND_STEP else "declining" if delta <= -TREND_STEP else "stable"
        else:
            reasons["overall_sentiment.trend"] = "no message in the previous period to compare with" \
                if score is not None else "no message in the period"
        per_platform = []
        for name in ([platform] if platform else PLATFORMS):
            counts = current.get(name, {"messages": 0, "compound": 0.0})
            entry = {"platform": name, "score": _mean_score(counts["compound"], counts["messages"]),
                     "positive_mentions": counts.get("positive", 0), "negative_mentions": counts.get("negative", 0),
                     "neutral_mentions": counts.get("neutral", 0), "messages": counts["messages"]}
            if entry["score"] is None:
                reasons[f"platform_sentiment.{name}.score"] = "no message from the community in the period"
            per_platform.append(entry)
        return {"period": period.strip(), "platform": platform or "all",
                "overall_sentiment": {"score": score, "trend": trend, "change": change, "messages": n_now,
                                      "previous_score": before_score},
                "platform_sentiment": per_platform,
                "trending_topics": self._topics.topics(period_s, platform, limit=10),
                "reasons": reasons}

    def sentiment_series(self, platform: str | None = "all", period_days: int = 30) -> list[dict[str, Any]]:
        if not 1 <= period_days <= 366:
            raise CommunityError("the series covers 1-366 days")
        platform = check_platform(platform)
        today = self.clock().date()
        first = today - timedelta(days=period_days - 1)
        since = datetime(first.year, first.month, first.day, tzinfo=self.clock().tzinfo)
        m = CommunityMessage
        day = func.date(m.sent_at)
        query = (select(day.label("day"), func.coalesce(m.label_override, m.sentiment_label).label("label"),
                        func.count().label("n"), func.sum(m.sentiment_compound).label("compound"))
                 .where(m.sent_at >= since, m.from_self == 0).group_by("day", "label"))
        if platform:
            query = query.where(m.platform == platform)
        days: dict[str, dict[str, Any]] = {}
        for i in range(period_days):
            key = (first + timedelta(days=i)).isoformat()
            days[key] = {"day": key, "score": None, "positive": 0, "neutral": 0, "negative": 0, "messages": 0,
                         "_compound": 0.0}
        with self._ctx.db.session() as session:
            for row in session.execute(query).all():
                entry = days.get(str(row.day))
                if entry is None:
                    continue
                entry[row.label] = entry.get(row.label, 0) + row.n
                entry["messages"] += row.n
                entry["_compound"] += row.compound or 0.0
        series = []
        for entry in days.values():
            compound = entry.pop("_compound")
            entry["score"] = _mean_score(compound, entry["messages"])
            series.append(entry)
        return series

    def _labels(self, start: datetime, end: datetime, platform: str | None) -> dict[str, dict[str, Any]]:
        """platform -> {"messages", "compound" (sum), label: count} for the community's messages."""
        m = CommunityMessage
        query = (select(m.platform, func.coalesce(m.label_override, m.sentiment_label).label("label"),
                        func.count().label("n"), func.sum(m.sentiment_compound).label("compound"))
                 .where(m.sent_at >= start, m.sent_at < end, m.from_self == 0).group_by(m.platform, "label"))
        if platform:
            query = query.where(m.platform == platform)
        result: dict[str, dict[str, Any]] = defaultdict(lambda: {"messages": 0, "compound": 0.0})
        with self._ctx.db.session() as session:
            for row in session.execute(query).all():
                entry = result[row.platform]
                entry[row.label] = entry.get(row.label, 0) + row.n
                entry["messages"] += row.n
                entry["compound"] += row.compound or 0.0
        return dict(result)

    # --- GET /api/community/engagement ------------------------------------------------------------
    def engagement(self, content_id: str) -> dict[str, Any]:
        content_id = (content_id or "").strip()
        if not content_id or len(content_id) > 64:
            raise CommunityError("content_id must be a track or generation id (1-64 characters)")
        track = self._track(content_id)
        title = track["title"] if track else None
        m, c, r = CommunityMessage, CommunityMember, CommunityReply
        ids = {content_id} | ({track["id"]} if track else set())
        refs = [m.content_id.in_(ids)] + [m.text.contains(i, autoescape=True) for i in ids]
        if title and len(title.strip()) >= MIN_TITLE_CHARS:
            like = title.strip()
            refs.append(m.text.contains(like, autoescape=True) if self._ctx.db.is_sqlite  # LIKE: ASCII case-blind
                        else m.text.ilike(f"%{like}%"))
        with self._ctx.db.session() as session:
            rows = session.execute(select(m.platform, m.member_id, m.from_self, m.reactions)
                                   .where(or_(*refs))).all()
            members = dict(session.execute(select(c.platform, func.count()).group_by(c.platform)).all())
            recommended = 0
            if track:
                recommended = session.scalar(select(func.count()).select_from(r).where(
                    r.status == "sent", cast(r.grounded_track_ids, String).contains(f'"{track["id"]}"'))) or 0
        if track is None and not rows:
            raise UnknownContent(content_id)
        per_platform: dict[str, dict[str, int]] = defaultdict(lambda: {"reactions": 0, "comments": 0})
        writers: set[str] = set()
        for row in rows:
            entry = per_platform[row.platform]
            entry["reactions"] += row.reactions or 0
            if not row.from_self:
                entry["comments"] += 1
                if row.member_id:
                    writers.add(row.member_id)
        likes = sum(e["reactions"] for e in per_platform.values())
        comments = sum(e["comments"] for e in per_platform.values())
        reach = sum(members.get(p, 0) for p in per_platform)
        reasons = {"engagement.shares": "no connected platform reports shares to the studio",
                   "engagement.saves": "no connected platform reports saves to the studio"}
        rate = _percent(len(writers), reach)
        if rate is None:
            reasons["engagement.engagement_rate"] = "no message refers to it, so no platform's members to measure on"
        if track is None:
            reasons["title"] = "not a track or generation in the Library (only messages refer to this id)"
        return {
            "content_id": content_id,
            "track_id": track["id"] if track else None,
            "title": title,
            "engagement": {"total_interactions": likes + comments, "likes": likes, "comments": comments,
                           "shares": None, "saves": None, "engagement_rate": rate},
            "platform_breakdown": [{"platform": p, "reactions": e["reactions"], "comments": e["comments"],
                                    "shares": None} for p, e in sorted(per_platform.items())],
            "messages": len(rows),
            "members_reached": len(writers),
            "recommendations_sent": recommended,
            "basis": ("messages linked to it or naming its id" + (" or its title" if title else "")
                      + "; likes = reactions on them; engagement_rate = members who wrote about it / members on "
                        "those platforms x 100"),
            "reasons": reasons,
        }

    def _track(self, content_id: str) -> dict[str, Any] | None:
        library = self._music.library
        try:
            return library.track_row(content_id)
        except KeyError:
            return library.track_for_generation(content_id)

    # --- GET /api/community/platforms -------------------------------------------------------------
    def platforms(self) -> list[dict[str, Any]]:
        """Each source's connection and activity. status: connected (the last check or poll
        succeeded), connecting, error (with `error`), disabled. bot_online (Discord, Telegram): the
        source is on and its last check or poll succeeded. daily_messages = messages of the last 24 h;
        last_response = the newest reply sent there."""
        stats = self.platform_stats(days=1)
        result = []
        for source in self._sources.list_sources():
            name = source["name"]
            status = {"ok": "connected"}.get(source["status"], source["status"])
            entry: dict[str, Any] = {"name": name, "label": source.get("label"), "status": status,
                                     "enabled": source["enabled"], "error": source.get("error"),
                                     "identity": source.get("identity"), "last_poll": source.get("last_poll"),
                                     **stats.get(name, {}), "reasons": {}}
            if source.get("can_automate"):
                entry["bot_online"] = bool(source["enabled"]) and source["status"] == "ok"
            else:
                entry["bot_online"] = None
                entry["reasons"]["bot_online"] = "YouTube comments are read with the Data API: there is no bot"
                entry["quota_used"], entry["quota_limit"] = source.get("quota_used"), source.get("quota_limit")
            if entry.get("last_response") is None:
                entry["reasons"]["last_response"] = "no reply sent on this platform yet"
            result.append(entry)
        return result

    def platform_stats(self, days: int = 1) -> dict[str, dict[str, Any]]:
        since = self.clock() - timedelta(days=days)
        m, c, r = CommunityMessage, CommunityMember, CommunityReply
        with self._ctx.db.session() as session:
            members = dict(session.execute(select(c.platform, func.count()).group_by(c.platform)).all())
            totals = dict(session.execute(select(m.platform, func.count()).group_by(m.platform)).all())
            recent = dict(session.execute(select(m.platform, func.count()).where(m.sent_at >= since)
                                          .group_by(m.platform)).all())
            last_message = dict(session.execute(select(m.platform, func.max(m.sent_at)).group_by(m.platform)).all())
            own = dict(session.execute(select(m.platform, func.max(m.sent_at)).where(m.from_self == 1)
                                       .group_by(m.platform)).all())
            sent = dict(session.execute(select(r.platform, func.max(r.sent_at)).where(r.status == "sent")
                                        .group_by(r.platform)).all())
        stats = {}
        for platform in PLATFORMS:
            last_response = max((t for t in (own.get(platform), sent.get(platform)) if t is not None), default=None)
            stats[platform] = {"members": members.get(platform, 0), "messages_total": totals.get(platform, 0),
                               "daily_messages": round(recent.get(platform, 0) / days, 1),
                               "last_message": iso(_aware(last_message.get(platform))),
                               "last_response": iso(_aware(last_response))}
        return stats


def _aware(value: Any) -> datetime | None:
    """func.max() bypasses the column type on SQLite: parse its text back to an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)
