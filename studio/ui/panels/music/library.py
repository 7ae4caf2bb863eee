"""Library: every track, searchable; the selected one's waveform, measurements, lyrics, chords,
stems and files.

The list follows the bus: a finished generation (`job_completed`), an edit (`track_updated`) or a
deletion (`track_deleted`) shows up without a refresh. Files are read on worker threads (peaks,
decoding, stem mixes, exports) so the loop never waits on the disk.

Variations… queues N new takes of the selected track's spec with new seeds (one batch). A row
dragged out of the window carries its best audio file (WAV, else FLAC/MP3/OGG) as a file URL, so
dropping it on a desktop, a file manager or a DAW copies the file.

The panel composes the filter row and the table (`track_list`) and the details pane
(`track_details`); it holds the selection, playback and the actions.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QInputDialog, QMessageBox, QSplitter, QVBoxLayout, QWidget

from studio.services.music.common import GENERATE_KIND, UnknownTrack
from studio.services.trends.common import UnknownTrend
from studio.ui.dialogs.export_dialog import ExportDialog
from studio.ui.dialogs.track_edit import EditTrackDialog
from studio.ui.formatting import when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.music.track_details import TrackDetails, key_label
from studio.ui.panels.music.track_list import SORT_COLUMNS, SORTS, TrackFilters, TrackList
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.player_bar import format_time
from studio.ui.widgets.tasks import TaskRunner

PAGE_SIZE = 500
SEARCH_DELAY_MS = 250
POSITION_MS = 100
PLAYABLE = ("wav", "flac", "ogg", "mp3")
DRAG_FORMATS = ("wav", "flac", "mp3", "ogg")  # the file a dragged row carries: the best there is
MAX_VARIATIONS = 8
SEED_MAX = 2**31 - 1


def variation_fields(track: dict[str, Any], seed: int, qualities: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """GenerationSpec fields that render `track` again with another seed: what it was asked for
    (prompt) and what it was resolved to (style, mood, key, tempo, length, vocals, options).
    `qualities` is the engine's quality table (the music service's `audio_qualities()`)."""
    spec = track.get("spec") or {}
    fields: dict[str, Any] = {
        "style": spec.get("style") or track.get("style"), "mood": spec.get("mood") or track.get("mood"),
        "key": spec.get("key") or track.get("key"), "tempo": spec.get("tempo_bpm") or track.get("tempo_bpm"),
        "duration": spec.get("duration_s") or track.get("duration_s"),
        "instrumental": spec.get("instrumental", track.get("instrumental")), "seed": int(seed),
    }
    if track.get("prompt"):
        fields["prompt"] = track["prompt"]
    for name in ("lyrics", "complexity", "creativity", "energy", "tags", "output_formats"):
        if spec.get(name) is not None:
            fields[name] = spec[name]
    rate, bits = spec.get("sample_rate_hz"), spec.get("bit_depth") or 16
    if rate:  # the quality whose (rate, depth) is nearest the track's
        fields["audio_quality"] = min(qualities, key=lambda q: (abs(qualities[q][0] - rate), abs(qualities[q][1] - bits)))
    return {k: v for k, v in fields.items() if v is not None}


def drag_copy_path(source: Path, title: str, track_id: str) -> Path:
    """A hard link to `source` named after the track (the store names files by id), so a drop
    makes "Title.wav"; the stored file itself when no link can be made."""
    safe = "".join(ch if ch.isalnum() or ch in " -_()" else "_" for ch in title).strip()[:120] or track_id
    folder = Path(tempfile.gettempdir()) / "studio-drag" / track_id
    target = folder / f"{safe}{source.suffix}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if target.exists() and not os.path.samefile(target, source):
            target.unlink()
        if not target.exists():
            os.link(source, target)
        return target
    except OSError:
        return source


class LibraryPanel(Panel):
    title = "Library"
    icon = "mdi6.bookshelf"
    key = "library"
    area = "music"
    subtitle = "Every track you generate: play it, read what was measured, mix its stems, export its files."

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.tracks: list[dict[str, Any]] = []
        self.total = 0
        self.track: dict[str, Any] | None = None  # the selected track (full row)
        self.player_track_id: str | None = None  # the track whose audio the player bar holds
        self.player_source = ""  # "track" or "stems"
        self._installing = False
        self.sort_by, self.descending = "created_at", True
        self.export_dialog: ExportDialog | None = None
        self.edit_dialog: EditTrackDialog | None = None
        self.last_export: list[Path] = []

        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._task_done)
        self.tasks.failed.connect(self._task_failed)

        self.filters = TrackFilters(self.services.music.catalogue.styles())
        self.filters.search_changed.connect(lambda: self.search_timer.start())
        self.filters.changed.connect(self.refresh)
        self.filters.sort_changed.connect(lambda: self._sort_changed(self.filters.sort_combo.currentIndex()))
        self.track_list = TrackList(self.drag_mime_data,
                                    lambda: self.host.show_status("This track has no audio file to drag out.", 5000))
        table = self.track_list.table
        table.horizontalHeader().sectionClicked.connect(self._header_clicked)
        table.itemSelectionChanged.connect(self._selection_changed)
        table.itemDoubleClicked.connect(lambda _item: self.play_selected())
        self.details = TrackDetails()
        self._connect_details()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 16)
        layout.setSpacing(12)
        layout.addLayout(self.header())
        layout.addWidget(self.filters)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.track_list)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 6)
        self.splitter.setSizes([480, 580])
        layout.addWidget(self.splitter, 1)

        self.search_timer = debounce_timer(self, SEARCH_DELAY_MS, self.refresh)
        self.refresh_timer = debounce_timer(self, 50, self.refresh)  # coalesces bursts of events into one refresh
        self.position_timer = QTimer(self)
        self.position_timer.setInterval(POSITION_MS)
        self.position_timer.timeout.connect(self._follow_position)

        host.bridge.event.connect(self._on_event)
        if host.player is not None:
            host.player.playing_changed.connect(self._player_playing_changed)
            host.player.loaded.connect(self._player_loaded)
        self.refresh()

    def _connect_details(self) -> None:
        details = self.details
        details.play_button.clicked.connect(self.toggle_play)
        details.stop_button.clicked.connect(self.stop)
        for button, slot in ((details.extend_button, self.extend_selected),
                             (details.variations_button, self.variations_selected),
                             (details.edit_button, self.edit_selected), (details.export_button, self.export_selected),
                             (details.reveal_button, self.reveal_selected),
                             (details.delete_button, self.delete_selected)):
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
        details.waveform.seek_requested.connect(self._waveform_seek)
        details.lyrics.line_activated.connect(self._lyric_clicked)
        details.stem_mixer.play_requested.connect(self.play_stem_mix)
        details.overview.trend_requested.connect(self.show_trend)

    # --- the list -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the list with the current search, style and sort; keep the selection."""
        self.search_timer.stop()
        self.refresh_timer.stop()
        search = self.filters.search_edit.text().strip() or None
        style = self.filters.style_filter.currentData() or None
        self.filters.set_tags(self.services.music.library.all_tags())
        tag = self.filters.tag_filter.currentData() or None
        days = self.filters.date_filter.currentData()
        since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
        self.total, self.tracks = self.services.music.library.list_tracks(search=search, style=style, tag=tag, created_after=since,
                                                             limit=PAGE_SIZE, sort_by=self.sort_by,
                                                             descending=self.descending)
        keep = self.track["id"] if self.track else None
        names = {k: v.name for k, v in self.services.music.catalogue.styles().items()}
        self.track_list.fill(self.tracks, names, filtered=bool(search or style))
        if self.tracks:
            shown = f"{len(self.tracks)} of {self.total}" if self.total > len(self.tracks) else f"{self.total}"
            self.filters.count_label.setText(f"{shown} track{'s' if self.total != 1 else ''}")
        else:
            self.filters.count_label.setText("")
        if keep and self.select_track(keep, show=False):
            return
        if keep:  # filtered out or deleted
            self.track_list.table.clearSelection()
            if not any(t["id"] == keep for t in self.tracks):
                self._show_none()

    def track_ids(self) -> list[str]:
        return [t["id"] for t in self.tracks]

    def select_track(self, track_id: str, *, show: bool = True) -> bool:
        """Select `track_id` in the list (clearing the search if it hides it); False if unknown."""
        ids = self.track_ids()
        if track_id not in ids and show:  # new since the last refresh, or hidden by the search
            self.filters.search_edit.blockSignals(True)
            self.filters.search_edit.clear()
            self.filters.search_edit.blockSignals(False)
            self.filters.style_filter.blockSignals(True)
            self.filters.style_filter.setCurrentIndex(0)
            self.filters.style_filter.blockSignals(False)
            self.refresh()
            ids = self.track_ids()
        if track_id not in ids:
            return False
        row = ids.index(track_id)
        if show or self.track_list.table.currentRow() != row:
            self.track_list.table.blockSignals(not show)
            self.track_list.table.selectRow(row)
            self.track_list.table.blockSignals(False)
        self.track_list.table.scrollToItem(self.track_list.table.item(row, 0))
        if show and (self.track is None or self.track["id"] != track_id):
            self.show_track(track_id)
        return True

    def _selection_changed(self) -> None:
        track_id = self.track_list.selected_id()
        if track_id and (self.track is None or track_id != self.track["id"]):
            self.show_track(track_id)

    def _sort_changed(self, _index: int) -> None:
        self.sort_by, self.descending = self.filters.sort_combo.currentData()
        self.track_list.set_sort_indicator(self.sort_by, self.descending)
        self.refresh()

    def _header_clicked(self, col: int) -> None:
        sort_by = SORT_COLUMNS.get(col)
        if sort_by is None:  # the service cannot sort by it: keep the current order
            self.track_list.set_sort_indicator(self.sort_by, self.descending)
            return
        descending = (not self.descending) if sort_by == self.sort_by else sort_by in ("created_at", "duration", "tempo")
        index = next((i for i, (_l, s, d) in enumerate(SORTS) if s == sort_by and d == descending), -1)
        if index == self.filters.sort_combo.currentIndex():
            self._sort_changed(index)
        else:
            self.filters.sort_combo.setCurrentIndex(index)  # _sort_changed refreshes

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "job_completed" and (data.get("kind") == GENERATE_KIND
                                        or (data.get("result") or {}).get("track_id")):
            self.refresh_timer.start()
        elif name == "track_updated":
            self.refresh_timer.start()
            if self.track and data.get("track_id") == self.track["id"]:
                self.show_track(self.track["id"], reload_audio=False)
        elif name == "track_deleted":
            if self.track and data.get("track_id") == self.track["id"]:
                self._show_none()
            if data.get("track_id") == self.player_track_id:
                self._stop_if_playing(data["track_id"])
            self.refresh_timer.start()

    # --- the selected track ---------------------------------------------------------------------
    def _show_none(self) -> None:
        self.track = None
        self.tasks.forget("peaks")
        self.details.waveform.clear()
        self.details.setCurrentWidget(self.details.none_page)

    def show_track(self, track_id: str, *, reload_audio: bool = True) -> None:
        try:
            track = self.services.music.library.track_row(track_id)
        except UnknownTrack:
            self._show_none()
            return
        self.track = track
        self.details.setCurrentWidget(self.details.page)
        self.details.detail_title.setText(track["title"])
        names = {k: v.name for k, v in self.services.music.catalogue.styles().items()}
        created = when(track["created_at"], "")
        created = f"{created[:16]} UTC" if created else ""
        parent = " · extended from another track" if track.get("parent_track_id") else ""
        singer = ((track.get("spec") or {}).get("singer") or {}).get("name")
        vocals = ("instrumental" if track["instrumental"] else f"{self.services.music.catalogue.vocals_verb(track['style'])} by {singer}" if singer
                  else "with vocals")
        self.details.detail_line.setText(
            f"{names.get(track['style'], track['style'])} · {track['mood']} · {key_label(track['key'])} · "
            f"{track['tempo_bpm']:.0f} BPM · {format_time(track['duration_s'])} · {vocals} · {created}{parent}")
        why = ((track.get("spec") or {}).get("sources") or {}).get("singer")
        self.details.detail_line.setToolTip(f"Vocals: {why}" if why else "")  # who sings and why
        self.details.overview.fill(track, self.services.music.catalogue.relative_key)
        self._fill_made_for(track)
        self.details.lyrics.fill(track)
        self._fill_chords(track)
        self.details.stem_mixer.set_stems(list((track["files_raw"].get("stems") or {}).keys()))
        self._update_actions()
        if reload_audio:
            self._load_peaks(track)

    def _fill_made_for(self, track: dict[str, Any]) -> None:
        """For an answer to a trend: the trend it was made for (the row stays hidden otherwise)."""
        link = self.services.trends.answers.link_for_track(track)
        if link is None:
            self.details.overview.show_made_for(None)
            return
        try:
            trend = self.services.trends.catalog.trend(link["trend_id"])
        except UnknownTrend:  # gone since (the 30-day rule)
            trend = None
        self.details.overview.show_made_for(link["trend_id"], trend)

    def show_trend(self, trend_id: str) -> None:
        """Open the Trends panel on the trend a track answers."""
        self.window().show_panel("trends").show_trend(trend_id)

    def _fill_chords(self, track: dict[str, Any]) -> None:
        media_id = (track["files_raw"] or {}).get("chords_txt")
        text = "No chord chart was exported with this track (tick “Chords” under Output in Create)."
        if media_id:
            try:
                path, _row = self.services.music.library.media_file(media_id)
                text = path.read_text(encoding="utf-8")
            except (KeyError, OSError) as exc:
                text = f"The chord chart cannot be read: {exc}"
        self.details.chords_text.setPlainText(text)

    def _load_peaks(self, track: dict[str, Any]) -> None:
        path = self._audio_path(track)
        self.details.waveform.set_sections([])
        if path is None:
            self.tasks.forget("peaks")
            self.details.waveform.show_message("This track has no audio file to draw.")
            return
        self.details.waveform.show_message("Reading the waveform…")
        self.tasks.start("peaks", lambda: (track["id"], self.services.system.waveform_peaks(path)))

    def _audio_path(self, track: dict[str, Any]) -> Path | None:
        files = track.get("files_raw") or {}
        for fmt in PLAYABLE:
            if isinstance(files.get(fmt), str):
                try:
                    return self.services.music.library.media_file(files[fmt])[0]
                except KeyError:
                    continue
        return None

    def _update_actions(self) -> None:
        has = self.track is not None
        files = (self.track or {}).get("files_raw") or {}
        for button in (self.details.edit_button, self.details.export_button, self.details.delete_button):
            button.setEnabled(has)
        self.details.play_button.setEnabled(has and any(isinstance(files.get(f), str) for f in PLAYABLE))
        self.details.variations_button.setEnabled(has and bool((self.track or {}).get("spec")))
        self.details.reveal_button.setEnabled(has and bool(files))
        longest = self.services.music.catalogue.max_duration_s()
        self.details.extend_button.setEnabled(has and "score" in files
                                              and (self.track or {}).get("duration_s", longest) < longest - 1)
        if has and "score" not in files:
            self.details.extend_button.setToolTip("This track has no stored score, so it cannot be extended")
        mine = has and self.player_track_id == self.track["id"]
        playing = mine and self.host.player is not None and self.host.player.playing
        self.details.play_button.setText("Pause" if playing else "Play")
        self.details.play_button.setIcon(icon("mdi6.pause" if playing else "mdi6.play", COLORS["accent_text"]))
        self.details.stop_button.setEnabled(mine)

    # --- background results ---------------------------------------------------------------------
    def _task_done(self, name: str, result: Any) -> None:
        if name == "peaks":
            track_id, (times, lows, highs, duration) = result
            if self.track and self.track["id"] == track_id:
                self.details.waveform.set_envelope(times, lows, highs, duration)
                self.details.waveform.set_sections((self.track.get("analysis") or {}).get("sections") or [])
        elif name == "play":
            track_id, title, source, (audio, sample_rate) = result
            self._install(track_id, title, source, audio, sample_rate)

    def _task_failed(self, name: str, message: str) -> None:
        if name == "peaks":
            self.details.waveform.show_message(f"No waveform: {message}")
        elif name == "play":
            self.host.show_status(f"Cannot play: {message}", 8000)
            if self.host.player is not None:
                self.host.player.show_message(f"Cannot play: {message}")

    # --- playback -------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        player = self.host.player
        if self.track and player is not None and self.player_track_id == self.track["id"] and player.playing:
            player.pause()
        else:
            self.play_selected()

    def play_selected(self) -> None:
        """Play the selected track (from where it was if the player already holds it)."""
        track, player = self.track, self.host.player
        if track is None or player is None:
            return
        if self.player_track_id == track["id"] and self.player_source == "track" and player.player.loaded:
            player.play()
            return
        path = self._audio_path(track)
        if path is None:
            self.host.show_status("This track has no audio file to play.", 6000)
            return
        self.host.show_status(f"Opening {track['title']}…", 3000)
        decode = self.services.system.read_audio
        self.tasks.start("play", lambda: (track["id"], track["title"], "track", decode(path)))

    def play_stem_mix(self) -> None:
        """Mix the audible stems (mute/solo/level in the Stems tab) and play the result."""
        track = self.track
        if track is None or self.host.player is None:
            return
        gains = self.details.stem_mixer.gains()
        stems = (track["files_raw"].get("stems") or {})
        paths = {}
        for name in gains:
            try:
                paths[name] = self.services.music.library.media_file(stems[name])[0]
            except KeyError:
                continue
        if not paths:
            self.host.show_status("No audible stem to mix.", 5000)
            return
        if len(paths) == len(stems) and all(abs(g - 1.0) < 1e-6 for g in gains.values()):
            label = "all stems"
        else:
            label = ", ".join(f"{n}" + (f" {100 * g:.0f}%" if abs(g - 1.0) > 1e-6 else "") for n, g in gains.items())
        title = f"{track['title']} ({label})"
        mix = self.services.music.library.mix_stem_files
        self.tasks.start("play", lambda: (track["id"], title, "stems", mix(paths, gains)))

    def _install(self, track_id: str, title: str, source: str, audio: np.ndarray, sample_rate: int) -> None:
        player = self.host.player
        if player is None:
            return
        position = player.player.position_s if self.player_track_id == track_id else 0.0
        self._installing = True
        try:
            player.load_audio(audio, sample_rate, title)
        finally:
            self._installing = False
        self.player_track_id = track_id
        self.player_source = source
        if 0 < position < player.player.duration_s:
            player.seek(position)  # switching between the full track and a stem mix keeps the place
        player.play()
        self._update_actions()

    def stop(self) -> None:
        if self.host.player is not None and self.player_track_id:
            self.host.player.stop()
        self._update_actions()

    def _player_loaded(self, _title: str) -> None:
        if not self._installing:  # something else was opened in the player bar
            self.player_track_id = None
            self.player_source = ""
            self.details.lyrics.highlight(-1)
            self._update_actions()

    def _player_playing_changed(self, playing: bool) -> None:
        if playing:
            self.position_timer.start()
        else:
            self.position_timer.stop()
            self._follow_position()
        self._update_actions()

    def _follow_position(self) -> None:
        player = self.host.player
        if player is None or not self.track or self.player_track_id != self.track["id"]:
            return
        position = player.player.position_s
        self.details.waveform.set_playhead(position)
        self.details.lyrics.highlight(self.details.lyrics.line_at(position))

    def current_lyric_text(self) -> str | None:
        return self.details.lyrics.current_text()

    def _waveform_seek(self, seconds: float) -> None:
        player = self.host.player
        if player is not None and self.track and self.player_track_id == self.track["id"]:
            player.seek(seconds)
            self._follow_position()

    def _lyric_clicked(self, start: float) -> None:
        if self.track is None:
            return
        if self.player_track_id == self.track["id"] and self.host.player is not None:
            self.host.player.seek(float(start))
            self.host.player.play()
        else:
            self.play_selected()

    def _stop_if_playing(self, track_id: str) -> None:
        player = self.host.player
        if player is not None and self.player_track_id == track_id:
            player.stop()
            self.player_track_id = None
            self.player_source = ""

    # --- actions --------------------------------------------------------------------------------
    def extend_selected(self, seconds: float | None = None) -> dict[str, Any] | None:
        """Queue an extension of the selected track by `seconds` (asked for when None)."""
        track = self.track
        if track is None:
            return None
        most = self.services.music.catalogue.max_duration_s() - float(track["duration_s"])
        if seconds is None:
            value, ok = QInputDialog.getDouble(
                self, "Extend track", f"Add how many seconds to “{track['title']}”? (1–{most:.0f})",
                min(30.0, most), 1.0, most, 0)
            if not ok:
                return None
            seconds = value
        try:
            job = self.services.music.generation.submit_extend(track["id"], float(seconds), source="gui")
        except Exception as exc:  # ValueError (bad length, no score), credits, unknown track
            QMessageBox.warning(self, "Not extended", str(exc))
            return None
        self.host.show_status(f"Extending “{track['title']}” by {seconds:g} s; the longer version appears "
                              "here as a new track when it is done.", 8000)
        return job

    def variations_selected(self, count: int | None = None) -> list[dict[str, Any]]:
        """Queue `count` new takes (asked for when None) of the selected track: its spec, new seeds."""
        track = self.track
        if track is None or not track.get("spec"):
            return []
        if count is None:
            value, ok = QInputDialog.getInt(self, "Variations", f"How many new takes of “{track['title']}”? "
                                            "Same settings, a new seed each.", 2, 1, MAX_VARIATIONS)
            if not ok:
                return []
            count = value
        seeds: list[int] = []
        while len(seeds) < count:
            seed = secrets.randbelow(SEED_MAX)
            if seed != track.get("seed") and seed not in seeds:
                seeds.append(seed)
        qualities = self.services.music.catalogue.audio_qualities()
        items = [{"fields": variation_fields(track, seed, qualities), "title": f"{track['title']} (take {i + 2})",
                  "extra": {"variation_of": track["id"], "variation_id": f"take_{i + 2}",
                            **({"prompt": track["prompt"]} if track.get("prompt") else {})}}
                 for i, seed in enumerate(seeds)]
        try:
            batch = self.services.music.batches.submit_batch(items, concurrency=count, notify_when_all_complete=False,
                                                source="gui")
        except Exception as exc:  # ValidationError (an old spec), credits
            QMessageBox.warning(self, "No variations queued", str(exc))
            return []
        self.host.show_status(f"Queued {count} variation{'s' if count != 1 else ''} of “{track['title']}”; "
                              "they appear here when done.", 8000)
        return batch["jobs"]

    def drag_path(self, track_id: str) -> Path | None:
        """The file a drag of `track_id` carries: its best audio file, named after the track."""
        try:
            track = self.track if self.track and self.track["id"] == track_id else self.services.music.library.track_row(track_id)
        except UnknownTrack:
            return None
        files = track.get("files_raw") or {}
        for fmt in DRAG_FORMATS:
            if isinstance(files.get(fmt), str):
                try:
                    path = self.services.music.library.media_file(files[fmt])[0]
                except KeyError:
                    continue
                if path.is_file():
                    return drag_copy_path(path, track["title"], track_id)
        return None

    def drag_mime_data(self, track_id: str) -> QMimeData | None:
        path = self.drag_path(track_id)
        if path is None:
            return None
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(path))])
        data.setText(str(path))
        return data

    def show_tracks(self, track_ids: list[str], *, search: str | None = None) -> bool:
        """Show a group of tracks (a playlist's): the search narrowed to `search`, the first selected."""
        self.filters.style_filter.blockSignals(True)
        self.filters.style_filter.setCurrentIndex(0)
        self.filters.style_filter.blockSignals(False)
        self.filters.search_edit.blockSignals(True)
        self.filters.search_edit.setText(search or "")
        self.filters.search_edit.blockSignals(False)
        self.refresh()
        return bool(track_ids) and self.select_track(track_ids[0])

    def edit_selected(self) -> EditTrackDialog | None:
        if self.track is None:
            return None
        dialog = EditTrackDialog(self.track, self)
        dialog.accepted.connect(lambda: self.save_edit(dialog.track["id"], dialog.changes()))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def save_edit(self, track_id: str, changes: dict[str, Any]) -> None:
        if not changes:
            return
        try:
            self.services.music.library.update_track(track_id, changes)
        except Exception as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return
        self.host.show_status("Track saved.", 3000)

    def export_folder(self) -> str:
        music = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
        return str(Path(music or Path.home()) / "Studio exports")

    def export_selected(self) -> ExportDialog | None:
        if self.track is None:
            return None
        dialog = ExportDialog(self.services.music.library, self.track, self.export_folder(), self)
        dialog.exported.connect(self._exported)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    def _exported(self, written: list[Path]) -> None:
        self.last_export = written
        if written:
            self.host.show_status(f"Exported {len(written)} file{'s' if len(written) != 1 else ''} to "
                                  f"{written[0].parent}", 8000)

    def reveal_selected(self) -> bool:
        """Open the folder holding the track's audio file in the file manager."""
        if self.track is None:
            return False
        path = self._audio_path(self.track)
        if path is None:
            files = self.track.get("files_raw") or {}
            media_id = next((v for v in files.values() if isinstance(v, str)), None)
            if media_id is None:
                return False
            path = self.services.music.library.media_file(media_id)[0]
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def delete_selected(self, *, confirm: bool = True) -> bool:
        track = self.track
        if track is None:
            return False
        if confirm:
            answer = QMessageBox.question(
                self, "Delete track",
                f"Delete “{track['title']}” and all its files (audio, stems, MIDI, lyrics)? This cannot be undone.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self._stop_if_playing(track["id"])
        try:
            self.services.music.library.delete_track(track["id"])
        except UnknownTrack:
            pass
        self._show_none()
        self.refresh()
        self.host.show_status(f"Deleted “{track['title']}”.", 4000)
        return True

    def focus_search(self) -> None:
        """Ctrl+F: the search box."""
        self.filters.search_edit.setFocus()
        self.filters.search_edit.selectAll()

    def primary_action(self) -> None:
        """Ctrl+Enter: play / pause the selected track."""
        self.toggle_play()
