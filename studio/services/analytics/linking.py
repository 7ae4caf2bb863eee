"""Linking what the platforms report (items) to what the studio made, and what made it (origin).

An item is one piece of content as a platform knows it, keyed by the strongest id its rows carry
(`item_key`): a YouTube video id, else an ISRC, else TuneCore's song id, else the artist and
title. Links:
- **Exact** ids link by themselves (`confirmed`): an ISRC equal to a library track's ISRC, a video id
  the user linked before.
- **Title** matches are only `suggested` (with a score 0..1, the similarity of the normalised titles,
  at least MATCH_SCORE): the person confirms or rejects each in the GUI (Analytics > Links) or with
  `POST /api/analytics/links/{item_id}`. Confirming a link of an item that has an ISRC stores the ISRC
  on the track, so the next statement links on its own.
- Unlinked, suggested and rejected items still count, as `unattributed`.

Origin of a confirmed item (seed 000's revenue `breakdown` keys), first rule that applies:
1. linked to a character's voice content -> `voice_empire`;
2. a track generated to answer a trend (its generation is a trend answer's job) -> `trending_hijacker`;
3. a track sung by a character (spec.singer.character_id) -> `voice_empire`;
4. a track recommended in a community reply that was sent -> `community_empire`;
5. any other library track -> `music_generation`.

Public API (built by the entry object as `Linking(ctx)`; `ledger` is set by the entry object):
- `item_key(platform, *, external_id, isrc, title, artist, source) -> str | None`.
- `upsert_items(session, rows) -> dict[key, item_id]` (used by imports; creates items, fills blanks).
- `suggest(item_ids=None) -> int`: links exact ids, suggests title matches for unlinked items.
- `items(*, status=None, q=None, limit=50, offset=0) -> (total, [item dict])`.
- `item(item_id) -> item dict`.
- `confirm(item_id, *, track_id=None, content_id=None) -> item dict` (no target: confirm the suggestion),
  `reject(item_id) -> item dict`, `unlink(item_id) -> item dict`.
- `origins() -> {item_id: origin}` for confirmed items; `origin_of(item_id) -> str`.
- `linked_items() -> {item_id: {"track_id","content_id","origin","title","genre","style","duration_s",
  "character_id","created_at"}}` for confirmed items (what content performance reads).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from studio.db.models import AnalyticsItem, CommunityReply, Track, TrendAnswer, VoiceContent
from studio.services.analytics.common import LINK_STATUSES, UNATTRIBUTED, AnalyticsError, UnknownItem
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.ledger import Ledger

MATCH_SCORE = 0.85
_FEAT = re.compile(r"\s*[\(\[](feat\.?|ft\.?|with|prod\.?)[^\)\]]*[\)\]]", re.I)
_VERSION = re.compile(r"\s*-\s*(remaster(ed)?|radio edit|single version|original mix).*$", re.I)
_NON_WORD = re.compile(r"[^\w]+")
# what a video title adds to the song's name: "(Official Audio)", "[Lyric Video]", "(Visualizer)"
_VIDEO = re.compile(r"\s*[\(\[][^\)\]]*\b(official|video|audio|lyrics?|visuali[sz]er|mv)\b[^\)\]]*[\)\]]", re.I)


def normalise_title(text: str | None) -> str:
    """Lower case, accents off, "(feat. X)" and "- Radio Edit" off, punctuation to spaces."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    text = _VERSION.sub("", _FEAT.sub("", _VIDEO.sub("", text)))
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def normalise_isrc(text: str | None) -> str | None:
    """ISRCs are written with or without hyphens and in any case: QZ-ABC-26-00001 is QZABC2600001."""
    value = (text or "").strip().upper().replace("-", "").replace(" ", "")
    return value[:16] or None


def item_key(platform: str, *, external_id: str | None, isrc: str | None, title: str | None,
             artist: str | None, source: str) -> str | None:
    if source in ("youtube_studio", "youtube_data", "youtube_analytics") and external_id:
        return f"yt:{external_id.strip()}"
    if normalise_isrc(isrc):
        return f"isrc:{normalise_isrc(isrc)}"
    if source == "tunecore" and external_id:
        return f"tc:{external_id.strip()}"
    title_key = normalise_title(title)
    if not title_key:
        return None
    return f"song:{normalise_title(artist)}|{title_key}"


class Linking:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        self.ledger: "Ledger | None" = None

    def _changed(self) -> None:
        if self.ledger is not None:
            self.ledger.invalidate()

    # --- items from imports ----------------------------------------------------------------------
    def upsert_items(self, session, rows: list[dict[str, Any]]) -> dict[str, int]:
        """`rows`: {"key","platform","external_id","isrc","title","artist","published_at","duration_s"};
        returns key -> item id. New items are created; blanks of existing ones are filled."""
        wanted: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["key"] not in wanted:
                wanted[row["key"]] = {**row, "isrc": normalise_isrc(row.get("isrc"))}
        found: dict[str, AnalyticsItem] = {}
        keys = list(wanted)
        for i in range(0, len(keys), 500):
            for item in session.scalars(select(AnalyticsItem).where(AnalyticsItem.key.in_(keys[i:i + 500]))):
                found[item.key] = item
        now = utcnow()
        for key, row in wanted.items():
            item = found.get(key)
            if item is None:
                item = AnalyticsItem(key=key, platform=row["platform"], created_at=now, updated_at=now)
                session.add(item)
                found[key] = item
            for field in ("external_id", "isrc", "title", "artist", "published_at", "duration_s"):
                if getattr(item, field) in (None, "") and row.get(field) not in (None, ""):
                    value = row[field]
                    setattr(item, field, value[:300] if isinstance(value, str) else value)
        session.flush()
        return {key: item.id for key, item in found.items()}

    # --- matching ----------------------------------------------------------------------------------
    def suggest(self, item_ids: list[int] | None = None) -> int:
        """Link exact ids, suggest title matches for items not linked yet. Returns how many changed."""
        changed = 0
        with self.ctx.db.session() as s:
            tracks = s.execute(select(Track.id, Track.title, Track.isrc)).all()
            contents = s.execute(select(VoiceContent.id, VoiceContent.title)
                                 .where(VoiceContent.status == "completed")).all()
            by_isrc = {normalise_isrc(isrc): tid for tid, _title, isrc in tracks if isrc}
            titles: dict[str, tuple[str, str]] = {}
            for tid, title, _isrc in tracks:
                titles.setdefault(normalise_title(title), ("track", tid))
            for cid, title in contents:
                if title:
                    titles.setdefault(normalise_title(title), ("content", cid))
            title_keys = [t for t in titles if t]
            query = select(AnalyticsItem).where(AnalyticsItem.link_status == "none")
            if item_ids is not None:
                query = query.where(AnalyticsItem.id.in_(item_ids))
            for item in s.scalars(query):
                if item.isrc and normalise_isrc(item.isrc) in by_isrc:
                    self._set(item, "confirmed", "isrc", 1.0, track_id=by_isrc[normalise_isrc(item.isrc)])
                    changed += 1
                    continue
                name = normalise_title(item.title)
                if not name or not title_keys:
                    continue
                # "Artist - Song" and "Song - lofi": either side of a dash may be the song's name
                parts = [normalise_title(p) for p in re.split(r"\s+[-–—|]\s+", item.title or "")]
                exact = next((p for p in parts if p in titles), None) if len(parts) > 1 else None
                if name in titles:
                    best, score = name, 1.0
                elif exact:
                    best, score = exact, 0.9
                else:
                    close = difflib.get_close_matches(name, title_keys, n=1, cutoff=MATCH_SCORE)
                    if not close:
                        continue
                    best = close[0]
                    score = difflib.SequenceMatcher(None, name, best).ratio()
                kind, target = titles[best]
                self._set(item, "suggested", "title", round(score, 3),
                          track_id=target if kind == "track" else None, content_id=target if kind == "content" else None)
                changed += 1
        if changed:
            self._changed()
        return changed

    @staticmethod
    def _set(item: AnalyticsItem, status: str, method: str | None, score: float | None, *,
             track_id: str | None = None, content_id: str | None = None) -> None:
        item.link_status, item.link_method, item.link_score = status, method, score
        item.track_id, item.content_id = track_id, content_id
        item.updated_at = utcnow()

    # --- the person's decisions ----------------------------------------------------------------------
    def confirm(self, item_id: int, *, track_id: str | None = None, content_id: str | None = None) -> dict[str, Any]:
        if track_id and content_id:
            raise AnalyticsError("link an item to a track or to voice content, not both")
        with self.ctx.db.session() as s:
            item = self._get(s, item_id)
            if track_id or content_id:
                if track_id and s.get(Track, track_id) is None:
                    raise AnalyticsError(f"track {track_id!r} is not in the library")
                if content_id and s.get(VoiceContent, content_id) is None:
                    raise AnalyticsError(f"voice content {content_id!r} was not found")
                self._set(item, "confirmed", "manual", None, track_id=track_id, content_id=content_id)
            elif item.track_id or item.content_id:
                item.link_status, item.updated_at = "confirmed", utcnow()
            else:
                raise AnalyticsError("this item has no suggested link: choose a track (track_id) or voice content "
                                     "(content_id) to link it to")
            if item.isrc and item.track_id:
                track = s.get(Track, item.track_id)
                if track is not None and not track.isrc:
                    track.isrc = normalise_isrc(item.isrc)
            result = self._serialise(s, item)
        self._changed()
        return result

    def reject(self, item_id: int) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            item = self._get(s, item_id)
            self._set(item, "rejected", item.link_method, item.link_score, track_id=item.track_id,
                      content_id=item.content_id)
            result = self._serialise(s, item)
        self._changed()
        return result

    def unlink(self, item_id: int) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            item = self._get(s, item_id)
            self._set(item, "none", None, None)
            result = self._serialise(s, item)
        self._changed()
        return result

    # --- reading -----------------------------------------------------------------------------------------
    def item(self, item_id: int) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            return self._serialise(s, self._get(s, item_id))

    def items(self, *, status: str | None = None, q: str | None = None, limit: int = 50,
              offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        if status is not None and status not in LINK_STATUSES:
            raise AnalyticsError(f"status must be one of {', '.join(LINK_STATUSES)}")
        query = select(AnalyticsItem)
        if status:
            query = query.where(AnalyticsItem.link_status == status)
        if q:
            like = f"%{q.strip()}%"
            query = query.where(or_(AnalyticsItem.title.ilike(like), AnalyticsItem.artist.ilike(like),
                                    AnalyticsItem.isrc.ilike(like), AnalyticsItem.external_id.ilike(like)))
        with self.ctx.db.session() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(AnalyticsItem.link_status.desc(), AnalyticsItem.id)
                             .limit(limit).offset(offset)).all()
            return total, [self._serialise(s, item) for item in rows]

    @staticmethod
    def _get(session, item_id: int) -> AnalyticsItem:
        item = session.get(AnalyticsItem, item_id)
        if item is None:
            raise UnknownItem(item_id)
        return item

    def _serialise(self, session, item: AnalyticsItem) -> dict[str, Any]:
        target_title = None
        if item.track_id:
            target_title = session.scalar(select(Track.title).where(Track.id == item.track_id))
        elif item.content_id:
            target_title = session.scalar(select(VoiceContent.title).where(VoiceContent.id == item.content_id))
        return {"id": item.id, "key": item.key, "platform": item.platform, "external_id": item.external_id,
                "isrc": item.isrc, "title": item.title, "artist": item.artist, "published_at": item.published_at,
                "duration_s": item.duration_s, "link_status": item.link_status, "link_method": item.link_method,
                "link_score": item.link_score, "track_id": item.track_id, "content_id": item.content_id,
                "linked_title": target_title, "updated_at": iso(item.updated_at)}

    # --- origins -------------------------------------------------------------------------------------------
    def linked_items(self) -> dict[int, dict[str, Any]]:
        with self.ctx.db.session() as s:
            items = s.execute(select(AnalyticsItem.id, AnalyticsItem.track_id, AnalyticsItem.content_id)
                              .where(AnalyticsItem.link_status == "confirmed")).all()
            track_ids = {t for _i, t, _c in items if t}
            content_ids = {c for _i, _t, c in items if c}
            tracks = {t.id: t for t in s.scalars(select(Track).where(Track.id.in_(track_ids)))} if track_ids else {}
            contents = ({c.id: c for c in s.scalars(select(VoiceContent).where(VoiceContent.id.in_(content_ids)))}
                        if content_ids else {})
            generations = {t.generation_id for t in tracks.values() if t.generation_id}
            answered = set(s.scalars(select(TrendAnswer.job_id).where(TrendAnswer.job_id.in_(generations)))) \
                if generations else set()
            promoted: set[str] = set()
            for grounded in s.scalars(select(CommunityReply.grounded_track_ids).where(CommunityReply.status == "sent")):
                promoted.update(str(t) for t in (grounded or []))
            out: dict[int, dict[str, Any]] = {}
            for item_id, track_id, content_id in items:
                if content_id and content_id in contents:
                    c = contents[content_id]
                    out[item_id] = {"track_id": None, "content_id": c.id, "origin": "voice_empire", "title": c.title,
                                    "genre": None, "style": None, "duration_s": c.duration_s,
                                    "character_id": c.character_id, "created_at": iso(c.created_at)}
                    continue
                track = tracks.get(track_id)
                if track is None:
                    continue  # the track was deleted: the item counts as unattributed again
                character = ((track.spec or {}).get("singer") or {}).get("character_id")
                if track.generation_id and track.generation_id in answered:
                    origin = "trending_hijacker"
                elif character:
                    origin = "voice_empire"
                elif track.id in promoted:
                    origin = "community_empire"
                else:
                    origin = "music_generation"
                out[item_id] = {"track_id": track.id, "content_id": None, "origin": origin, "title": track.title,
                                "genre": track.genre, "style": track.style, "duration_s": track.duration_s,
                                "character_id": character, "created_at": iso(track.created_at)}
            return out

    def origins(self) -> dict[int, str]:
        return {item_id: info["origin"] for item_id, info in self.linked_items().items()}

    def origin_of(self, item_id: int) -> str:
        return self.origins().get(item_id, UNATTRIBUTED)
