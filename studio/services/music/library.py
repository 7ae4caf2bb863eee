"""The track library: finished tracks and their files (listing, editing, deleting, downloads,
formats encoded from the master on demand, facts read from the stored files)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, func, select

from studio.db.models import MediaFile, Track
from studio.services.media import media_file
from studio.services.music.common import (
    CONVERTIBLE_AUDIO,
    LOSSLESS_MASTERS,
    MIME_TYPES,
    FormatUnavailable,
    UnknownTrack,
    media_ids,
    safe_title,
)
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.db import Database, MediaStore
    from studio.engine.io.export import TrackMetadata
    from studio.events import EventBus


def encode_audio_file(source: Path, target: Path, fmt: str, metadata: "TrackMetadata") -> Path:
    """Encode `source` as `fmt` at `target` with `metadata` (from `conversion_source`). Blocking:
    run it off the loop (downloads and the Export dialog do)."""
    from studio.engine.io.transcode import transcode_audio

    return transcode_audio(source, target, fmt, metadata)


def track_dict(track: Track) -> dict[str, Any]:
    return {
        "id": track.id, "generation_id": track.generation_id, "title": track.title,
        "description": track.description, "prompt": track.prompt, "style": track.style, "genre": track.genre,
        "mood": track.mood, "tempo_bpm": track.tempo_bpm, "key": track.key, "duration_s": track.duration_s,
        "seed": track.seed, "instrumental": bool(track.instrumental), "tags": list(track.tags or []),
        "is_public": bool(track.is_public), "spec": track.spec, "files_raw": track.files or {},
        "analysis": track.analysis or {}, "quality": track.quality or {}, "lyrics": track.lyrics,
        "parent_track_id": track.parent_track_id, "credits_used": track.credits_used,
        "download_count": track.download_count, "play_count": track.play_count,
        "created_at": iso(track.created_at), "updated_at": iso(track.updated_at),
    }


class MusicLibrary:
    def __init__(self, db: "Database", store: "MediaStore", events: "EventBus") -> None:
        self.db = db
        self.store = store
        self.events = events
        self._conversion_locks: dict[tuple[str, str], asyncio.Lock] = {}

    # --- tracks ---------------------------------------------------------------------------------
    def track_row(self, track_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            track = s.get(Track, track_id)
            if track is None:
                raise UnknownTrack(track_id)
            return track_dict(track)

    def track_for_generation(self, generation_id: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            track = s.scalars(select(Track).where(Track.generation_id == generation_id)).first()
            return track_dict(track) if track else None

    def list_tracks(self, *, search: str | None = None, style: str | None = None, tag: str | None = None,
                    created_after: datetime | None = None, limit: int = 50, offset: int = 0,
                    sort_by: str = "created_at", descending: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """Tracks matching every filter given: `search` in title/prompt/style/tags, an exact
        `style` id, a user `tag`, made after `created_after`."""
        column = {"created_at": Track.created_at, "title": Track.title, "duration": Track.duration_s,
                  "tempo": Track.tempo_bpm, "style": Track.style}.get(sort_by, Track.created_at)
        with self.db.session() as s:
            query = select(Track)
            if search:
                like = f"%{search.lower()}%"
                query = query.where(func.lower(Track.title).like(like) | func.lower(Track.prompt).like(like)
                                    | func.lower(Track.style).like(like) | func.lower(cast(Track.tags, String)).like(like))
            if style:
                query = query.where(Track.style == style)
            if tag:  # tags are a JSON list of strings: match the quoted element in its text form
                query = query.where(cast(Track.tags, String).like(f'%{json.dumps(tag)}%'))
            if created_after is not None:
                query = query.where(Track.created_at >= created_after)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(column.desc() if descending else column.asc()).limit(limit).offset(offset)).all()
            return total, [track_dict(t) for t in rows]

    def all_tags(self) -> list[str]:
        """Every user tag on a track, for filter pickers."""
        with self.db.session() as s:
            lists = s.scalars(select(Track.tags)).all()
        return sorted({t for tags in lists for t in (tags or [])}, key=str.lower)

    def update_track(self, track_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        allowed = {"title", "description", "tags", "is_public"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(sorted(allowed))}")
        with self.db.session() as s:
            track = s.get(Track, track_id)
            if track is None:
                raise UnknownTrack(track_id)
            for key, value in changes.items():
                setattr(track, key, int(value) if key == "is_public" else value)
            track.updated_at = utcnow()
            s.flush()
            data = track_dict(track)
        self.events.publish("track_updated", {"track_id": track_id})
        return data

    def delete_track(self, track_id: str) -> int:
        """Remove the track and its files; returns how many files were deleted."""
        with self.db.session() as s:
            track = s.get(Track, track_id)
            if track is None:
                raise UnknownTrack(track_id)
            ids = list(media_ids(track.files or {}))
            s.delete(track)
            for media_id in ids:
                row = s.get(MediaFile, media_id)
                if row is not None:
                    s.delete(row)
        deleted = sum(self.store.delete(media_id) for media_id in ids)
        self.events.publish("track_deleted", {"track_id": track_id})
        return deleted

    def count_download(self, track_id: str) -> None:
        with self.db.session() as s:
            track = s.get(Track, track_id)
            if track is not None:
                track.download_count += 1

    # --- formats made after the render ----------------------------------------------------------
    def conversion_source(self, track: dict[str, Any], fmt: str) -> tuple[Path, "TrackMetadata"]:
        """(master audio file, tags) to encode `track` as `fmt` from, for a format it was not
        rendered in; FormatUnavailable when `fmt` is not an audio format or there is no master."""
        from studio.engine.io.export import TrackMetadata

        files = track.get("files_raw") or {}
        if fmt not in CONVERTIBLE_AUDIO:
            raise FormatUnavailable(f"only audio formats ({', '.join(CONVERTIBLE_AUDIO)}) can be made after the "
                                    f"render; '{fmt}' comes from the render itself")
        source_id = next((files[f] for f in LOSSLESS_MASTERS if files.get(f)), None)
        if source_id is None:
            raise FormatUnavailable(f"track '{track['id']}' has no lossless master (WAV or FLAC) to encode {fmt} from")
        meta = TrackMetadata(title=track["title"], genre=track.get("genre") or "", tempo_bpm=track.get("tempo_bpm") or 0,
                             key=track.get("key") or "")
        return self.store.path(source_id), meta

    async def ensure_audio_format(self, track_id: str, fmt: str) -> str:
        """Media id of the track's audio as `fmt`: the rendered file, or the first time it is asked
        for, one encoded from the lossless master (off the loop) and kept with the track's files so
        later downloads reuse it. UnknownTrack / FormatUnavailable when that cannot be."""
        track = self.track_row(track_id)
        if (track["files_raw"] or {}).get(fmt):
            return track["files_raw"][fmt]
        source, meta = self.conversion_source(track, fmt)
        lock = self._conversion_locks.setdefault((track_id, fmt), asyncio.Lock())
        async with lock:  # two requests for the same file encode it once
            track = self.track_row(track_id)
            if (track["files_raw"] or {}).get(fmt):
                return track["files_raw"][fmt]
            temp = self.store.temp_path(f".{fmt}")
            try:
                await asyncio.to_thread(encode_audio_file, source, temp, fmt, meta)
            except Exception:
                temp.unlink(missing_ok=True)
                raise
            media_id = f"{track['generation_id'] or track_id}.{fmt}"
            stored = self.store.adopt(temp, media_id=media_id)
            with self.db.session() as s:
                s.merge(MediaFile(id=media_id, kind="audio", mime_type=MIME_TYPES[fmt], size_bytes=stored.size_bytes,
                                  sha256=stored.sha256, display_name=f"{safe_title(track['title'])}.{fmt}",
                                  job_id=track["generation_id"]))
                row = s.get(Track, track_id)
                if row is None:  # deleted while encoding: drop the orphan file
                    self.store.delete(media_id)
                    raise UnknownTrack(track_id)
                row.files = {**(row.files or {}), fmt: media_id}  # a new dict, so the JSON column is saved
                row.updated_at = utcnow()
            return media_id

    # --- stored files ---------------------------------------------------------------------------
    def media_file(self, media_id: str) -> tuple[Path, dict[str, Any]]:
        """(path, row) of a stored file; KeyError for a malformed or unknown id."""
        return media_file(self, media_id)  # reads only .store and .db, which this has

    def media_exists(self, media_id: str) -> bool:
        return self.store.exists(media_id)

    def describe_media(self, media_id: str) -> dict[str, Any]:
        """What is really in a stored file, read from the file (blocking: call it off the loop).
        KeyError when the file is unknown."""
        from studio.engine.io.transcode import file_facts

        path, row = self.media_file(media_id)
        info: dict[str, Any] = {"media_id": media_id, "size_bytes": path.stat().st_size, "mime_type": row["mime_type"]}
        info.update(file_facts(path, media_id.rsplit(".", 1)[-1]))
        return info

    @staticmethod
    def mix_stem_files(paths: dict[str, Path], gains: dict[str, float]) -> tuple[Any, int]:
        """The stems' files mixed with per-stem gains (the Library's stem mixer); blocking."""
        from studio.engine.dsp.mix import mix_stem_files

        return mix_stem_files(paths, gains)
