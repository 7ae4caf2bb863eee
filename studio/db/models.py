"""SQLAlchemy 2.x models. Every schema change comes with an Alembic migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from studio.timeutil import utcnow


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use studio.timeutil.utcnow()")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Job(Base):
    """One long operation (generate, extend, analyse, backup, ...) and its whole life."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key. Only an argon2 hash of the secret is stored; `id` is the public part of the key."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class LoginSession(Base):
    """A login session (`POST /api/auth/login`); the token itself is never stored, only its SHA-256."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class RequestLog(Base):
    """One API request: feeds API-usage analytics and the System panel."""

    __tablename__ = "request_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    request_id: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    route: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MediaFile(Base):
    """A file in the media store, addressed by id; `display_name` is for people, never a path."""

    __tablename__ = "media_files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    mime_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Track(Base):
    """A finished piece of music in the library: what was asked, what was made, where its files are.

    `files` maps a format to a media id ({"mp3": "gen_ab12.mp3", "stems": {"drums": ...},
    "score": ...}); the ids are rows in `media_files`. `analysis` holds what was measured on the
    audio (tempo, key, loudness, tags) beside the requested values in `spec`.
    """

    __tablename__ = "tracks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    prompt: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    style: Mapped[str] = mapped_column(String(64), index=True)
    genre: Mapped[str] = mapped_column(String(64))
    mood: Mapped[str] = mapped_column(String(64))
    tempo_bpm: Mapped[float] = mapped_column(Float)
    key: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    instrumental: Mapped[int] = mapped_column(Integer, default=1)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # user tags
    is_public: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    files: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lyrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    parent_track_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    credits_used: Mapped[float] = mapped_column(Float, default=0.0)
    download_count: Mapped[int] = mapped_column(Integer, default=0)
    # The recording's ISRC once known (set when the user confirms a link to a statement row that has
    # one), so later distributor statements link to the track by themselves.
    isrc: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    play_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Prediction(Base):
    """One audio analysis (seed 004 prediction): the file, the state machine
    (queued -> processing -> converting -> predicting -> completed | failed) and what the tagger
    and the audio analysis found. `result` holds all_probabilities, moods, tags and the measured
    features; `upload_id` is the stored upload (removed once analysed), `source_path` a file on
    disk (GUI batch); `batch_id` the `analysis.batch` job it belongs to."""

    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    source: Mapped[str] = mapped_column(String(16), default="api")
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str | None] = mapped_column(String(8), nullable=True)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    upload_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    spectrogram_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    genre: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    tempo_bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    key: Mapped[str | None] = mapped_column(String(16), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processing_time_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Character(Base):
    """A voice character (seed 000 "voice characters", seed 002 "characters"): a persona with its
    words and voice. `voice` holds the voice settings (voice_id of a stored voice or the built-in
    one, pitch_semitones, formant_shift, pitch_range, speed, emotion); `words` what the script
    writer draws on (greetings, sign-offs, phrases, vocabulary, emotion tags)."""

    __tablename__ = "characters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    genre: Mapped[str] = mapped_column(String(64), default="")
    style: Mapped[str | None] = mapped_column(String(32), nullable=True)  # engine style id for music beds
    personality_summary: Mapped[str] = mapped_column(String(500), default="")
    personality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backstory: Mapped[str] = mapped_column(String(4000), default="")
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str | None] = mapped_column(String(200), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    voice: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    voice_quality: Mapped[str | None] = mapped_column(String(64), nullable=True)
    words: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_schedule: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    appearance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_default: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Voice(Base):
    """A voice made by voice matching: a transform of the built-in neural voice fitted to samples.
    `transform` is what synthesis applies (pitch_semitones, formant_shift, pitch_range); `profile`
    what was measured (the samples' pitch statistics, similarity before and after fitting)."""

    __tablename__ = "voices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    character_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    transform: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoiceContent(Base):
    """One piece of a character's content: a synthesis, a scripted piece (introduction, outro,
    track commentary, announcement) with its audio, or a caption (text only)."""

    __tablename__ = "voice_content"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    character_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(String(20000), default="")
    emotion: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="processing", index=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    media_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class TrendSource(Base):
    """A place trends are read from: a platform chart (deezer, apple_music, lastfm, youtube) or one
    feed URL (`feed:<hash>`). Nothing is fetched until the user enables it. `config` holds what the
    source reads (genre ids, storefront, country, tag, region, url); `recent` the outcomes of the
    last 50 scans (1 = error) for the measured error rate; `quota_used` counts YouTube units on
    `quota_day` (the Pacific date the quota resets on)."""

    __tablename__ = "trend_sources"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="disabled")
    last_scan_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    scans_total: Mapped[int] = mapped_column(Integer, default=0)
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    recent: Mapped[list[Any]] = mapped_column(JSON, default=list)
    items_last_scan: Mapped[int] = mapped_column(Integer, default=0)
    quota_used: Mapped[int] = mapped_column(Integer, default=0)
    quota_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrendItem(Base):
    """One track or video seen on one or more charts, matched across sources (ISRC first, then the
    normalised "artist - title" in `match_key`). `sources` lists the sources that carried it; the
    scores the scanner computed at its latest scan are kept in `viral_score` and `scores` (growth,
    breakdown, expiry, style fit, suggested response, reasons) so reading the current trends needs
    no snapshot walk. `youtube_only` rows fall under YouTube's 30-day refresh-or-delete rule."""

    __tablename__ = "trend_items"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    match_key: Mapped[str] = mapped_column(String(400), index=True)
    isrc: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(300))
    artist: Mapped[str | None] = mapped_column(String(300), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    preview_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    youtube_only: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    viral_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scored_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_rise_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    # What the studio's own analysis measured on the item's 30 s Deezer preview (only where the
    # user allowed it): {tempo_bpm, tempo_confidence, key, key_confidence, genre,
    # genre_confidence, tags [{tag, probability}], model, model_version} or {error}. Kept apart
    # from `scores` (recomputed at every scan) and `tags` (what the sources said).
    preview_analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    preview_analysed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class TrendSnapshot(Base):
    """An item on one chart at one scan: its rank among `chart_size` entries and the source's own
    counts (`metrics`: views, likes, playcount, listeners, streams...). `source_item_id` is the
    platform's id, so the same source's next scan finds the item again; `imported_from` names the
    file an imported row came from."""

    __tablename__ = "trend_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(64), ForeignKey("trend_items.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    chart: Mapped[str] = mapped_column(String(200))
    source_item_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chart_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_from: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (
        Index("ix_trend_snapshots_item_scanned", "item_id", "scanned_at"),
        Index("ix_trend_snapshots_scanned", "scanned_at"),
        Index("ix_trend_snapshots_source_item", "source", "source_item_id"),
    )


class TrendAnswer(Base):
    """A trend answered with a track (seed 000 "hijack"): the generation job made for it."""

    __tablename__ = "trend_answers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trend_id: Mapped[str] = mapped_column(String(64), index=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    strategy: Mapped[str] = mapped_column(String(32))
    customizations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule_upload: Mapped[int] = mapped_column(Integer, default=0)
    score_at_answer: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TrendMonitorState(Base):
    """The one row (id 1) of live monitoring: its schedule and counters, kept across restarts."""

    __tablename__ = "trend_monitor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    running: Mapped[int] = mapped_column(Integer, default=0)
    intervals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[list[Any]] = mapped_column(JSON, default=list)
    auto_answer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(nullable=True)
    next_scan_at: Mapped[datetime | None] = mapped_column(nullable=True)
    scans_done: Mapped[int] = mapped_column(Integer, default=0)
    items_processed: Mapped[int] = mapped_column(Integer, default=0)
    answers_generated: Mapped[int] = mapped_column(Integer, default=0)


class CommunitySource(Base):
    """A platform the community inbox reads (discord, telegram, youtube). Nothing is read until the
    user enables it; `config` holds what it reads (Discord channels, the YouTube channel or videos),
    `cursor` where the last poll stopped (Discord's last message id per channel, Telegram's update
    offset, YouTube's newest comment time), `identity` who the bot or channel is."""

    __tablename__ = "community_sources"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="disabled")
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    identity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    messages_total: Mapped[int] = mapped_column(Integer, default=0)
    sent_total: Mapped[int] = mapped_column(Integer, default=0)
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    quota_used: Mapped[int] = mapped_column(Integer, default=0)
    quota_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommunityMember(Base):
    """Someone seen writing on a platform. `joined_at` only when the platform said so; the counts are
    kept up to date by the ingest so the members list needs no scan of the messages."""

    __tablename__ = "community_members"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(200))
    joined_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    reactions_received: Mapped[int] = mapped_column(Integer, default=0)
    replies_received: Mapped[int] = mapped_column(Integer, default=0)
    vip: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(String(2000), nullable=True)

    __table_args__ = (Index("ux_community_members_platform_external", "platform", "external_id", unique=True),)


class CommunityMessage(Base):
    """One message or comment, read live or imported from an export file (`imported_from`). The
    platform's id is unique within its channel, so reading or importing it again changes nothing.
    `sentiment_label` is the model's; `label_override` the user's correction, which wins."""

    __tablename__ = "community_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(200))
    channel_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    external_id: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("community_members.id"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(20000))
    sent_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    reply_to_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_mention: Mapped[int] = mapped_column(Integer, default=0)
    needs_reply: Mapped[int] = mapped_column(Integer, default=0)
    from_self: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="new")
    reactions: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sentiment_compound: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_label: Mapped[str] = mapped_column(String(16), default="neutral")
    label_override: Mapped[str | None] = mapped_column(String(16), nullable=True)
    labelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    imported_from: Mapped[str | None] = mapped_column(String(255), nullable=True)
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    content_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    __table_args__ = (
        Index("ux_community_messages_key", "platform", "channel_id", "external_id", unique=True),
        Index("ix_community_messages_sent", "sent_at"),
        Index("ix_community_messages_needs_reply", "needs_reply", "sent_at"),
        Index("ix_community_messages_member", "member_id"),
    )


class CommunityReply(Base):
    """A drafted reply and, once a person approved it, its place in the persisted outbox.
    `drafted_text` is what the studio wrote (text != drafted_text: a person edited it); `nonce`
    lets Discord drop a resend after a crash; `platform_message_id` is set once it was sent."""

    __tablename__ = "community_replies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("community_messages.id"), nullable=True,
                                                   index=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reply_to_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str] = mapped_column(String(20000))
    drafted_text: Mapped[str | None] = mapped_column(String(20000), nullable=True)
    drafted_by: Mapped[str] = mapped_column(String(100), default="studio")
    character_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    personalization_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    grounded_track_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    auto: Mapped[int] = mapped_column(Integer, default=0)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    send_after: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    nonce: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    platform_message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reactions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommunityState(Base):
    """The one row (id 1) of the community area: when it was initialised and its configuration
    (automation level, response delay, personalisation, content promotion, the replying character)."""

    __tablename__ = "community_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initialized_at: Mapped[datetime | None] = mapped_column(nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsImport(Base):
    """One imported statement/export file, or one refresh of a connected account. `sha256` makes
    importing the same file again a no-op; `columns` says how its headers were understood."""

    __tablename__ = "analytics_imports"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="file")
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    format: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    window_start: Mapped[str | None] = mapped_column(String(10), nullable=True)
    window_end: Mapped[str | None] = mapped_column(String(10), nullable=True)
    skipped: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AnalyticsItem(Base):
    """A piece of content as a platform knows it (a YouTube video, a song on a statement), and its
    link to what the studio made: a library track or a character's voice content."""

    __tablename__ = "analytics_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    platform: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    isrc: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    artist: Mapped[str | None] = mapped_column(String(200), nullable=True)
    published_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    track_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    content_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    link_status: Mapped[str] = mapped_column(String(16), default="none", index=True)
    link_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    link_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsFact(Base):
    """One row of an import: figures for an item (or the whole channel, `scope` "total") over the
    days start_day..end_day. `raw` is the row's original text. A newer import with the same
    `fact_key` replaces the older row, so overlapping exports do not count twice."""

    __tablename__ = "analytics_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(String(64), ForeignKey("analytics_imports.id", ondelete="CASCADE"),
                                           index=True)
    fact_key: Mapped[str] = mapped_column(String(64), index=True)
    line: Mapped[int] = mapped_column(Integer)
    file: Mapped[str | None] = mapped_column(String(255), nullable=True)
    raw: Mapped[str] = mapped_column(String(20000), default="")
    source: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(8))
    item_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("analytics_items.id"), nullable=True,
                                                index=True)
    platform: Mapped[str] = mapped_column(String(64))
    start_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    end_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    country: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revenue: Mapped[float | None] = mapped_column(Float, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The additive figures of `metrics` again as columns (FACT_FIGURES), so the ledger sums them in SQL.
    views: Mapped[float | None] = mapped_column(Float, nullable=True)
    likes: Mapped[float | None] = mapped_column(Float, nullable=True)
    comments: Mapped[float | None] = mapped_column(Float, nullable=True)
    shares: Mapped[float | None] = mapped_column(Float, nullable=True)
    watch_time_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    streams: Mapped[float | None] = mapped_column(Float, nullable=True)
    listeners: Mapped[float | None] = mapped_column(Float, nullable=True)
    saves: Mapped[float | None] = mapped_column(Float, nullable=True)
    followers: Mapped[float | None] = mapped_column(Float, nullable=True)
    subscribers: Mapped[float | None] = mapped_column(Float, nullable=True)
    impressions: Mapped[float | None] = mapped_column(Float, nullable=True)
    units: Mapped[float | None] = mapped_column(Float, nullable=True)


class ApiRun(Base):
    """One run of the local API server: what API uptime is computed from. `last_seen_at` is a
    heartbeat; a run without `stopped_at` that is not the current one ended at its last heartbeat."""

    __tablename__ = "api_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ConnectorUsage(Base):
    """Quota units and requests each connector used per day (the day as the platform counts it)."""

    __tablename__ = "connector_usage"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    connector: Mapped[str] = mapped_column(String(32), primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsState(Base):
    """The one row (id 1) of the analytics area: prices the user set, cost limits and which alerts
    have fired, and the connected YouTube channel's refresh state."""

    __tablename__ = "analytics_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    alerts_fired: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    youtube: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsReport(Base):
    """A report (PDF, CSV or JSON) made by an `analytics.report` job; the file is a media id."""

    __tablename__ = "analytics_reports"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    report_type: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    sections: Mapped[list[Any]] = mapped_column(JSON, default=list)
    media_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RequestRollup(Base):
    """The request log summed per day (UTC) and route, written beside it: API-usage figures read these
    instead of scanning every request. `latency_buckets` counts requests per LATENCY_EDGES_MS bucket
    (the last bucket is everything slower), from which percentiles are read."""

    __tablename__ = "request_rollups"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # "2026-12-05" (UTC)
    route: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    client_errors: Mapped[int] = mapped_column(Integer, default=0)
    server_errors: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms_sum: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms_max: Mapped[float] = mapped_column(Float, default=0.0)
    latency_buckets: Mapped[list[Any]] = mapped_column(JSON, default=list)


# The figures an analytics fact also keeps as columns (summable in SQL; averages and rates stay in `metrics`).
FACT_FIGURES = ('views', 'likes', 'comments', 'shares', 'watch_time_h', 'streams', 'listeners', 'saves', 'followers', 'subscribers', 'impressions', 'units')

# Upper edges (ms) of the request-latency buckets in RequestRollup; one more bucket holds the rest.
LATENCY_EDGES_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000)
