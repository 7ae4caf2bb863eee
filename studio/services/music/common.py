"""What every part of the music area shares: job kinds, file facts, the errors callers catch."""

from __future__ import annotations

from typing import Any

# a request's singer value: the lead instrument plays the vocal melody (GUI, routes)
from studio.engine.composition.singers import LEAD_INSTRUMENT as LEAD_INSTRUMENT

GENERATE_KIND = "music.generate"
PLAYLIST_KIND = "music.playlist"  # a playlist's continuous mix, run once its tracks have finished
CONVERTIBLE_AUDIO = ("wav", "flac", "ogg", "mp3")  # can be encoded from the master after the render
LOSSLESS_MASTERS = ("wav", "flac")

MIME_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg", "mid": "audio/midi",
    "lrc": "text/plain; charset=utf-8", "txt": "text/plain; charset=utf-8", "json": "application/json",
    "mp4": "video/mp4", "png": "image/png",
}
# export_track's result key -> (media id suffix, media kind)
FILE_SUFFIXES = {
    "wav": ("wav", "audio"), "flac": ("flac", "audio"), "ogg": ("ogg", "audio"), "mp3": ("mp3", "audio"),
    "midi": ("mid", "midi"), "lrc": ("lrc", "lyrics"), "lyrics_json": ("lyrics.json", "lyrics"),
    "chords": ("chords.json", "chords"), "chords_txt": ("chords.txt", "chords"), "score": ("score.json", "score"),
}


class InsufficientCredits(Exception):
    def __init__(self, needed: float, balance: float) -> None:
        super().__init__(f"this generation needs {needed:g} credits but {balance:g} are left today; "
                         "shorten it, wait for tomorrow's allowance or raise daily_credits in Settings")
        self.needed = needed
        self.balance = balance


class SingerError(Exception):
    """The singer a generation names does not exist or is not ready; `http_status` says which."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


class FormatUnavailable(Exception):
    """The track has no file in that format and none can be made (no master audio to encode from)."""


class UnknownTrack(KeyError):
    pass


def safe_title(title: str, fallback: str = "track") -> str:
    """A title usable as a file name: letters, digits, spaces, '-' and '_' (others become '_')."""
    return "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip() or fallback


def media_ids(files: dict[str, Any]):
    """Every media id in a track's files (stems included)."""
    for value in files.values():
        if isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, str):
            yield value
