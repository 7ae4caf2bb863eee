"""What characters have said: `voice_content` rows (voiced pieces, scripts and captions), their
audio in the media store, and the figures counted from them.

Performance figures (views, engagement, revenue, growth) come from the Analytics area: imported and
connected statistics linked to the character's content (`performance`, set by the composition root
to the analytics content part); null with the reason where nothing is linked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import Character, MediaFile, Voice, VoiceContent
from studio.engine.composition import scripts
from studio.services.media import media_file
from studio.services.voices.common import PERFORMANCE_SOURCE, UnknownContent
from studio.timeutil import iso

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices.characters import Characters


def content_dict(row: VoiceContent) -> dict[str, Any]:
    files = (row.result or {}).get("files") or {}
    script = (row.params or {}).get("script") or {}
    return {
        "id": row.id, "character_id": row.character_id, "type": row.kind, "title": row.title, "text": row.text,
        "emotion": row.emotion, "status": row.status, "duration": row.duration_s,
        "created_at": iso(row.created_at), "completed_at": iso(row.completed_at),
        "download_url": f"/api/voice/content/download/{row.id}" if files else None,
        "files": files, "job_id": row.job_id,
        "word_count": scripts.count_words(row.text) if row.text else 0,
        "emotion_tags": script.get("emotion_tags", []), "script_source": script.get("source"),
        "music": {k: v for k, v in ((row.params or {}).get("music") or {}).items() if k != "path"} or None,
        "error": (row.result or {}).get("error") if row.status in ("failed", "cancelled") else None,
        # per-piece statistics are the Analytics area's (linked items); the character's sums are in its analytics
        "views": None, "engagement": None,
    }


class Content:
    def __init__(self, ctx: "Context", *, characters: "Characters") -> None:
        self.ctx = ctx
        self.characters = characters
        self.performance: Any = None  # analytics' ContentPerformance, set by studio.app (built after voices)

    def _period(self, days: int = 30):
        from studio.services.analytics.common import parse_period  # the analytics area's periods

        return parse_period(f"{days}d")

    def content_history(self, character_id: str, *, limit: int = 10, offset: int = 0,
                        kind: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        self.characters.get_character(character_id)
        with self.ctx.db.session() as s:
            query = select(VoiceContent).where(VoiceContent.character_id == character_id)
            if kind:
                query = query.where(VoiceContent.kind == kind)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(VoiceContent.created_at.desc()).limit(limit).offset(offset)).all()
            return total, [content_dict(r) for r in rows]

    def get_content(self, content_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(VoiceContent, content_id)
            if row is None:
                raise UnknownContent(content_id)
            return content_dict(row)

    def latest_script(self, character_id: str) -> dict[str, Any] | None:
        """The most recent scripted piece of the character (what seed 000's GET .../script returns)."""
        self.characters.get_character(character_id)
        with self.ctx.db.session() as s:
            row = s.scalars(select(VoiceContent).where(VoiceContent.character_id == character_id,
                                                       VoiceContent.kind.in_(scripts.CONTENT_TYPES))
                            .order_by(VoiceContent.created_at.desc())).first()
            return content_dict(row) if row else None

    def content_file(self, content_id: str, fmt: str = "wav") -> tuple[Path, dict[str, Any]]:
        """(path, media row) of a content's audio; UnknownContent when there is none (yet)."""
        content = self.get_content(content_id)
        media_id = content["files"].get(fmt)
        if not media_id:
            raise UnknownContent(content_id)
        return media_file(self.ctx, media_id)

    def delete_content(self, content_id: str) -> int:
        with self.ctx.db.session() as s:
            row = s.get(VoiceContent, content_id)
            if row is None:
                raise UnknownContent(content_id)
            media = list(((row.result or {}).get("files") or {}).values())
            s.delete(row)
            for media_id in media:
                file_row = s.get(MediaFile, media_id)
                if file_row is not None:
                    s.delete(file_row)
        return sum(self.ctx.store.delete(m) for m in media)

    # --- figures ---------------------------------------------------------------------------------
    def character_analytics(self, character_id: str) -> dict[str, Any]:
        character = self.characters.get_character(character_id)
        with self.ctx.db.session() as s:
            rows = s.execute(select(VoiceContent.kind, func.count(), func.coalesce(func.sum(VoiceContent.duration_s), 0.0))
                             .where(VoiceContent.character_id == character_id, VoiceContent.status == "completed")
                             .group_by(VoiceContent.kind)).all()
        by_type = {kind: {"count": n, "duration_s": round(float(seconds), 1)} for kind, n, seconds in rows}
        return {"total_content": sum(v["count"] for v in by_type.values()), "content_by_type": by_type,
                "audio_minutes": round(sum(v["duration_s"] for v in by_type.values()) / 60.0, 2),
                **self._performance(character_id), "last_active": character["last_active"]}

    def _performance(self, character_id: str) -> dict[str, Any]:
        if self.performance is None:
            return {"total_views": None, "average_engagement": None, "revenue_generated": None, "growth_rate": None,
                    "top_performing_content": [], "performance_source": PERFORMANCE_SOURCE}
        figures = self.performance.character(character_id, self._period())
        return {k: figures[k] for k in ("total_views", "average_engagement", "revenue_generated", "growth_rate",
                                        "top_performing_content", "linked_content", "reasons", "period")} | {
            "performance_source": "imported and connected statistics linked to this character's content "
                                  "(Analytics > Links), last 30 days"}

    def revenue_fields(self) -> dict[str, dict[str, float | None]]:
        """character id -> {"monthly_potential", "revenue_multiplier"} (see analytics content.character_revenue)."""
        return self.performance.character_revenue(self._period()) if self.performance is not None else {}

    def dashboard(self) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            total = s.scalar(select(func.count()).select_from(Character)) or 0
            active = s.scalar(select(func.count()).select_from(Character).where(Character.status == "active")) or 0
            content = s.scalar(select(func.count()).select_from(VoiceContent)
                               .where(VoiceContent.status == "completed")) or 0
            voices = s.scalar(select(func.count()).select_from(Voice).where(Voice.status == "ready")) or 0
            busiest = s.execute(select(VoiceContent.character_id, func.count()).where(VoiceContent.status == "completed")
                                .group_by(VoiceContent.character_id).order_by(func.count().desc()).limit(3)).all()
        figures = self.performance.characters(self._period()) if self.performance is not None else []
        linked = [f for f in figures if f["total_views"] is not None]
        revenue = [f["revenue_generated"] for f in linked if f["revenue_generated"] is not None]
        views_now = sum(f["total_views"] for f in linked)
        growths = [f["growth_rate"] for f in linked if f["growth_rate"] is not None]
        reasons = {}
        if not linked:
            reasons["monthly_revenue"] = PERFORMANCE_SOURCE
        return {"summary": {"total_characters": total, "active_characters": active, "total_content": content,
                            "matched_voices": voices,
                            "monthly_revenue": round(sum(revenue), 2) if revenue else None,
                            "total_views": views_now if linked else None,
                            "growth_rate": round(sum(growths) / len(growths), 1) if growths else None},
                "most_active": [{"character": c, "content": n} for c, n in busiest],
                "top_performers": [{"character": f["character_id"], "name": f["name"], "views": f["total_views"],
                                    "revenue": f["revenue_generated"], "engagement": f["average_engagement"]}
                                   for f in sorted(linked, key=lambda f: -f["total_views"])[:5]],
                "performance_source": "imported and connected statistics linked to the characters' content "
                                      "(Analytics > Links), last 30 days; growth_rate = mean of the characters' "
                                      "view growth against the 30 days before",
                "reasons": reasons}
