"""Answering a trend with a track: a real generation job from the trend's suggested spec, linked to
the trend, and what is known about that answer afterwards.

Built by the trends entry object as
    TrendAnswers(ctx, catalog=..., music=..., clock=utcnow)
(`ctx` for the database and the job queue; `catalog` is the trends catalog part (`trend(id)`),
`music` the MusicService whose `generation.submit_generation` queues the job; `clock` for tests).

The link trend -> track is kept three ways: the `trend_answers` row (hijack id, trend id, job id),
the job's params (`trend_id`, `hijack_id`, source "trends") and the track's description, which
the Library shows ("Answer to the trend ..."). `link_for_generation` / `link_for_track` give it
back from the track side.

Uploading is not something the studio can do yet (no channel can be connected): `schedule_upload`
is stored as asked and answered as not available, and the view/engagement/revenue counts of
`performance` are null with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import TrendAnswer
from studio.db.store import new_id
from studio.jobs import COMPLETED, UnknownJob
from studio.services.trends.common import UnknownTrend
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.music import MusicService

STRATEGIES = {
    "fast_follower": "the trend's own style, mood and tempo (its suggested spec as it is)",
    "own_take": "the trend's style only; mood and tempo left to the prompt",
}
NO_CHANNEL = ("no channel can be connected to the studio yet (a later issue), so nothing is uploaded and no "
              "views, engagement or revenue exist for the track")
NO_PERFORMANCE = ("no performance data for this track: it has not been uploaded (no channel can be connected "
                  "yet) and none was imported")
# The generation fields a suggested spec may carry (the rest of GenerationSpec is left to defaults).
SPEC_FIELDS = ("prompt", "style", "genre", "mood", "tempo", "key", "duration", "instrumental", "tags",
               "primary_instruments", "energy")


class UnknownAnswer(KeyError):
    """No answer (hijack) with this id."""


def _words(value: str) -> str:
    return value.replace("_", " ").replace("-", " ").strip()


def answer_fields(trend: dict[str, Any], strategy: str, customizations: dict[str, Any]) -> dict[str, Any]:
    """The generation fields of an answer: the trend's suggested spec, the strategy, then the
    request's customizations (duration in seconds; style_variation and target_audience as words
    added to the prompt, which the studio's prompt reading turns into instruments/mood/energy;
    audio_quality draft/standard/high)."""
    spec = {k: v for k, v in (trend.get("suggested_spec") or {}).items() if k in SPEC_FIELDS and v is not None}
    if strategy == "own_take":
        spec.pop("mood", None)
        spec.pop("tempo", None)
    prompt = spec.get("prompt") or trend.get("suggested_response") or trend.get("title") or ""
    additions = []
    if customizations.get("style_variation"):
        additions.append(_words(str(customizations["style_variation"])))
    if customizations.get("target_audience"):
        additions.append(f"for {_words(str(customizations['target_audience']))}")
    if additions:
        prompt = ", ".join([prompt, *additions]) if prompt else ", ".join(additions)
    if prompt:
        spec["prompt"] = prompt[:1000]
    if customizations.get("duration") is not None:
        spec["duration"] = float(customizations["duration"])
    if customizations.get("audio_quality"):
        spec["audio_quality"] = customizations["audio_quality"]  # draft answers sooner
    spec.setdefault("output_formats", ["wav", "mp3", "midi"])
    return spec


def generation_steps() -> list[str]:
    """What the studio really does for an answer: derive the spec, then the engine's own stages."""
    from studio.engine.pipeline.generate import STAGES

    return ["deriving_spec_from_trend", *STAGES]


class TrendAnswers:
    def __init__(self, ctx: "Context", *, catalog: Any, music: "MusicService",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.jobs = ctx.jobs
        self.catalog = catalog
        self.music = music
        self._clock = clock

    # --- answering ------------------------------------------------------------------------------
    def answer(self, trend_id: str, *, strategy: str = "fast_follower", customizations: dict[str, Any] | None = None,
               schedule_upload: bool = False, auto: bool = False) -> dict[str, Any]:
        """Queue a generation answering `trend_id`. Raises UnknownTrend, ValueError (unknown
        strategy), and the music service's errors (pydantic ValidationError, InsufficientCredits,
        SingerError)."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown response_strategy '{strategy}' (use {', '.join(STRATEGIES)})")
        trend = self.catalog.trend(trend_id)  # UnknownTrend
        customizations = {k: v for k, v in (customizations or {}).items() if v is not None}
        fields = answer_fields(trend, strategy, customizations)
        hijack_id = new_id("hijack")
        who = f" by {trend['artist']}" if trend.get("artist") else ""
        title = f"Answer to {trend['title']}"[:200]
        description = (f"Answer to the trend \"{trend['title']}\"{who} ({trend_id}, {strategy}"
                       f"{', auto-answer' if auto else ''}).")
        job = self.music.generation.submit_generation(
            fields, title=title, description=description, source="trends",
            extra={"prompt": fields.get("prompt"), "trend_id": trend_id, "hijack_id": hijack_id})
        now = self._clock()
        stored_custom = {**customizations, **({"auto": True} if auto else {})}
        with self.db.session() as s:
            s.add(TrendAnswer(id=hijack_id, trend_id=trend_id, job_id=job["id"], strategy=strategy,
                              customizations=stored_custom, schedule_upload=int(bool(schedule_upload)),
                              score_at_answer=trend.get("viral_score"), created_at=now))
        estimated_s = float(job["estimated_time_s"])
        return {
            "status": "processing", "hijack_id": hijack_id, "trend_id": trend_id, "generation_id": job["id"],
            "title": title, "strategy": strategy, "strategy_meaning": STRATEGIES[strategy],
            "estimated_completion": iso(now + timedelta(seconds=estimated_s)), "estimated_time": estimated_s,
            "estimate_basis": self.music.statistics.estimate_basis(),
            "queue_position": job.get("queue_position"), "generation_steps": generation_steps(),
            "resolved_spec": job.get("resolved_spec"), "credits_used": job.get("credits_used"),
            "schedule_upload": {"requested": bool(schedule_upload), "available": False, "reason": NO_CHANNEL},
            "auto": auto,
        }

    # --- reading --------------------------------------------------------------------------------
    def _row(self, hijack_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(TrendAnswer, hijack_id)
            if row is None:
                raise UnknownAnswer(hijack_id)
            return _row_dict(row)

    def get(self, hijack_id: str) -> dict[str, Any]:
        """The answer with its job status and track (when ready)."""
        row = self._row(hijack_id)
        job = self._job(row["job_id"])
        track = self.music.library.track_for_generation(row["job_id"]) if job and job["status"] == COMPLETED else None
        return {**row, "job_status": job["status"] if job else None,
                "track_id": track["id"] if track else None, "track_title": track["title"] if track else None}

    def list_answers(self, trend_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.session() as s:
            query = select(TrendAnswer)
            if trend_id is not None:
                query = query.where(TrendAnswer.trend_id == trend_id)
            rows = s.scalars(query.order_by(TrendAnswer.created_at.desc()).limit(limit)).all()
            return [_row_dict(r) for r in rows]

    def link_for_generation(self, generation_id: str) -> dict[str, Any] | None:
        """The answer a generation (gen_...) was made for, or None: the trend link seen from the track."""
        with self.db.session() as s:
            row = s.scalars(select(TrendAnswer).where(TrendAnswer.job_id == generation_id)).first()
            return _row_dict(row) if row else None

    def link_for_track(self, track: dict[str, Any]) -> dict[str, Any] | None:
        return self.link_for_generation(track["generation_id"]) if track.get("generation_id") else None

    def answered_trend_ids(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(TrendAnswer.trend_id).distinct()).all())

    def count_between(self, start: datetime, end: datetime | None, *, auto: bool = False) -> int:
        """Answers created in [start, end] (end None = now); `auto`: only the monitor's."""
        with self.db.session() as s:
            query = select(TrendAnswer).where(TrendAnswer.created_at >= start)
            if end is not None:
                query = query.where(TrendAnswer.created_at <= end)
            if not auto:
                return s.scalar(select(func.count()).select_from(query.subquery())) or 0
            return sum(1 for row in s.scalars(query).all() if (row.customizations or {}).get("auto"))

    def _job(self, job_id: str) -> dict[str, Any] | None:
        try:
            return self.jobs.get(job_id)
        except UnknownJob:
            return None

    def performance(self, hijack_id: str) -> dict[str, Any]:
        """What is known about an answer: the trend, our track, and the answer's speed (trend first
        seen -> track ready). Counts that need an uploaded track are null with the reason."""
        row = self._row(hijack_id)
        reasons: dict[str, str] = {}
        try:
            trend = self.catalog.trend(row["trend_id"])
        except UnknownTrend:
            trend = None
            reasons["original_trend"] = ("the trend is no longer stored (YouTube-only items are deleted after 30 "
                                         "days without a refresh)")
        original = {"id": row["trend_id"], "title": trend["title"] if trend else None,
                    "artist": trend.get("artist") if trend else None,
                    "viral_score": trend.get("viral_score") if trend else None,
                    "viral_score_at_answer": row["score_at_answer"],
                    "first_seen": trend.get("first_seen") if trend else None}
        job = self._job(row["job_id"])
        status = job["status"] if job else None
        track = self.music.library.track_for_generation(row["job_id"]) if status == COMPLETED else None
        ready_at = job.get("finished_at") if track and job else None
        ours = {"generation_id": row["job_id"], "generation_status": status,
                "track_id": track["id"] if track else None, "title": track["title"] if track else None,
                "ready_at": ready_at, "upload_time": None, "current_views": None, "engagement_rate": None,
                "revenue_generated": None, "trending_position": None}
        if track is None:
            reasons["our_response.track_id"] = (f"the generation is {status}: the track is not ready" if status
                                                else "the generation job is no longer stored")
        for name in ("upload_time", "current_views", "engagement_rate", "revenue_generated", "trending_position"):
            reasons[f"our_response.{name}"] = NO_PERFORMANCE
        speed_s = None
        first_seen = _parse(original["first_seen"])
        ready = _parse(ready_at)
        if first_seen is not None and ready is not None:
            speed_s = max(0.0, (ready - first_seen).total_seconds())
        elif track is None:
            reasons["success_metrics.hijack_speed"] = "the track is not ready yet"
        else:
            reasons["success_metrics.hijack_speed"] = "the trend's first sighting is not stored any more"
        metrics = {"hijack_speed": _speed_text(speed_s), "hijack_speed_s": None if speed_s is None else round(speed_s, 1),
                   "hijack_speed_basis": "from the trend's first sighting by a scan here to the answer's track being ready",
                   "viral_capture": None, "roi_percentage": None}
        reasons["success_metrics.viral_capture"] = NO_PERFORMANCE
        reasons["success_metrics.roi_percentage"] = NO_PERFORMANCE
        return {"hijack_id": hijack_id, "created_at": row["created_at"], "strategy": row["strategy"],
                "customizations": row["customizations"],
                "schedule_upload": {"requested": row["schedule_upload"], "available": False, "reason": NO_CHANNEL},
                "original_trend": original, "our_response": ours, "success_metrics": metrics, "reasons": reasons}


def _row_dict(row: TrendAnswer) -> dict[str, Any]:
    return {"hijack_id": row.id, "trend_id": row.trend_id, "generation_id": row.job_id, "job_id": row.job_id,
            "strategy": row.strategy, "customizations": row.customizations or {},
            "auto": bool((row.customizations or {}).get("auto")), "schedule_upload": bool(row.schedule_upload),
            "score_at_answer": row.score_at_answer, "created_at": iso(row.created_at)}


def _parse(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _speed_text(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours, rest = divmod(minutes, 60)
    return f"{hours} hours {rest} minutes"
