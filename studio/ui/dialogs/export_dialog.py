"""Export a track: pick its formats and stems, copy the files into a folder of your choice.

Files are named after the track's current title ('Night Drive.wav', 'Night Drive (drums).wav');
a file already in the folder is never overwritten ('Night Drive (2).wav'). `export_files` is the
blocking copy; the dialog looks the files up on the loop and copies them on a worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.theme import icon
from studio.ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from studio.services.music.library import MusicLibrary

# files_raw key -> what the user sees, in the order shown.
FORMAT_LABELS = {
    "wav": "WAV (lossless)",
    "flac": "FLAC (lossless, smaller)",
    "mp3": "MP3",
    "ogg": "OGG Vorbis",
    "midi": "MIDI (the notes)",
    "lrc": "Lyrics (LRC, timed lines)",
    "lyrics_json": "Lyrics (JSON, timed syllables)",
    "chords_txt": "Chord chart (text)",
    "chords": "Chord chart (JSON)",
    "score": "Score (JSON, for Extend)",
}
DEFAULT_FORMATS = ("wav", "mp3", "midi", "lrc", "chords_txt")


def safe_name(title: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in " -_.()'," else "_" for ch in title).strip(" .")
    return cleaned[:120] or "track"


def export_name(title: str, media_id: str, stem: str | None = None) -> tuple[str, str]:
    """('Night Drive', 'wav') for 'gen_x.wav'; ('Night Drive (drums)', 'wav') for the drums stem."""
    suffix = media_id.split(".", 1)[1] if "." in media_id else "bin"
    if stem:
        return f"{safe_name(title)} ({stem})", suffix.rsplit(".", 1)[-1]
    return safe_name(title), suffix


def _free_path(folder: Path, base: str, ext: str) -> Path:
    target = folder / f"{base}.{ext}"
    n = 2
    while target.exists():
        target = folder / f"{base} ({n}).{ext}"
        n += 1
    return target


def encodable_formats(track: dict[str, Any]) -> list[str]:
    """Audio formats the track was not rendered in but can be encoded in from its lossless master."""
    from studio.services.music.common import CONVERTIBLE_AUDIO, LOSSLESS_MASTERS

    files = track.get("files_raw") or {}
    if not any(isinstance(files.get(f), str) for f in LOSSLESS_MASTERS):
        return []
    return [f for f in CONVERTIBLE_AUDIO if not isinstance(files.get(f), str)]


def export_plan(track: dict[str, Any], formats: list[str], stems: list[str]) -> list[tuple[str | None, str, str]]:
    """[(media_id, file base name, extension)] for the chosen formats and stems that the track has;
    media_id None for an audio format that is encoded from the master while exporting."""
    files = track.get("files_raw") or {}
    encodable = encodable_formats(track)
    plan: list[tuple[str | None, str, str]] = []
    for key in formats:
        if isinstance(files.get(key), str):
            plan.append((files[key], *export_name(track["title"], files[key])))
        elif key in encodable:
            plan.append((None, safe_name(track["title"]), key))
    stem_files = files.get("stems") or {}
    plan += [(stem_files[name], *export_name(track["title"], stem_files[name], stem=name)) for name in stems
             if name in stem_files]
    return plan


# (stored file, base name, extension, the tags (the service's TrackMetadata) when the file is
# encoded from it rather than copied)
ExportSource = tuple[Path, str, str, Any]


def export_sources(music: MusicLibrary, track: dict[str, Any], formats: list[str],
                   stems: list[str]) -> list[ExportSource]:
    """What to copy or encode; looks the media ids up (on the loop thread)."""
    plan = export_plan(track, formats, stems)
    if not plan:
        raise ValueError("nothing to export: choose at least one format or stem")
    sources: list[ExportSource] = []
    for media_id, base, ext in plan:
        if media_id is None:
            master, tags = music.conversion_source(track, ext)
            sources.append((master, base, ext, tags))
        else:
            sources.append((music.media_file(media_id)[0], base, ext, None))
    return sources


def copy_files(sources: list[ExportSource], folder: str | Path) -> list[Path]:
    """Copy (or encode) into `folder` (created if missing) without overwriting; blocking, no database."""
    from studio.services.music.library import encode_audio_file

    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for source, base, ext, encode_tags in sources:
        target = _free_path(folder, base, ext)
        partial = target.with_name(target.name + ".part")
        if encode_tags is not None:
            encode_audio_file(source, partial, ext, encode_tags)
        else:
            shutil.copyfile(source, partial)
        partial.replace(target)
        written.append(target)
    return written


def export_files(music: MusicLibrary, track: dict[str, Any], formats: list[str], stems: list[str],
                 folder: str | Path) -> list[Path]:
    """Copy the chosen files of `track` into `folder`; returns the new paths."""
    return copy_files(export_sources(music, track, formats, stems), folder)


class ExportDialog(QDialog):
    """Checkboxes for the track's formats and stems, a folder, and Export."""

    exported = Signal(list)  # [Path]
    export_failed = Signal(str)

    def __init__(self, music: MusicLibrary, track: dict[str, Any], folder: str | Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.music = music
        self.track = track
        self.written: list[Path] = []
        self.setWindowTitle(f"Export “{track['title']}”")
        self.setMinimumWidth(560)
        files = track.get("files_raw") or {}
        layout = QVBoxLayout(self)
        layout.setSpacing(12)

        formats_box = QGroupBox("Files")
        grid = QGridLayout(formats_box)
        self.format_checks: dict[str, QCheckBox] = {}
        encodable = encodable_formats(track)
        available = [key for key in FORMAT_LABELS if isinstance(files.get(key), str) or key in encodable]
        for i, key in enumerate(available):
            check = QCheckBox(FORMAT_LABELS[key] + (" · encoded from the master" if key in encodable else ""))
            check.setChecked(key in DEFAULT_FORMATS)
            check.toggled.connect(self._update)
            grid.addWidget(check, i // 2, i % 2)
            self.format_checks[key] = check
        if not available:
            grid.addWidget(QLabel("This track has no files to export."), 0, 0)
        layout.addWidget(formats_box)

        self.stem_checks: dict[str, QCheckBox] = {}
        stems = files.get("stems") or {}
        if stems:
            stems_box = QGroupBox("Stems (one WAV each)")
            stems_layout = QGridLayout(stems_box)
            for i, name in enumerate(stems):
                check = QCheckBox(name.capitalize())
                check.toggled.connect(self._update)
                stems_layout.addWidget(check, i // 3, i % 3)
                self.stem_checks[name] = check
            all_row = QHBoxLayout()
            all_button = QPushButton("All stems")
            all_button.setAutoDefault(False)
            all_button.clicked.connect(lambda: [c.setChecked(True) for c in self.stem_checks.values()])
            none_button = QPushButton("None")
            none_button.setAutoDefault(False)
            none_button.clicked.connect(lambda: [c.setChecked(False) for c in self.stem_checks.values()])
            all_row.addStretch(1)
            all_row.addWidget(all_button)
            all_row.addWidget(none_button)
            stems_layout.addLayout(all_row, (len(stems) + 2) // 3, 0, 1, 3)
            layout.addWidget(stems_box)

        folder_row = QHBoxLayout()
        folder_label = QLabel("Folder")
        folder_label.setObjectName("Muted")
        self.folder_edit = QLineEdit(str(folder))
        self.folder_edit.textChanged.connect(self._update)
        browse = QPushButton(icon("mdi6.folder-open"), "Choose…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self.choose_folder)
        folder_row.addWidget(folder_label)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        layout.addLayout(folder_row)

        self.note = QLabel()
        self.note.setObjectName("Muted")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Export")
        self.ok_button.setIcon(icon("mdi6.export"))
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._export_done)
        self.tasks.failed.connect(self._export_failed)
        self._update()

    # --- choices --------------------------------------------------------------------------------
    def selected_formats(self) -> list[str]:
        return [key for key, check in self.format_checks.items() if check.isChecked()]

    def selected_stems(self) -> list[str]:
        return [name for name, check in self.stem_checks.items() if check.isChecked()]

    def set_selection(self, formats: list[str], stems: list[str] = ()) -> None:
        for key, check in self.format_checks.items():
            check.setChecked(key in formats)
        for name, check in self.stem_checks.items():
            check.setChecked(name in stems)

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser()

    def set_folder(self, folder: str | Path) -> None:
        self.folder_edit.setText(str(folder))

    def choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export to folder", str(self.folder()))
        if chosen:
            self.set_folder(chosen)

    def _update(self, *_args) -> None:
        count = len(export_plan(self.track, self.selected_formats(), self.selected_stems()))
        has_folder = bool(self.folder_edit.text().strip())
        self.ok_button.setEnabled(count > 0 and has_folder and not self.tasks.busy("export"))
        if count == 0:
            self.note.setText("Choose at least one file.")
        else:
            self.note.setText(f"{count} file{'s' if count != 1 else ''} will be written; "
                              "files already in the folder are kept (new ones get a number).")

    # --- exporting ------------------------------------------------------------------------------
    def export(self) -> list[Path]:
        """Copy the chosen files now (blocking); what `Export` runs on a worker."""
        self.written = export_files(self.music, self.track, self.selected_formats(), self.selected_stems(),
                                    self.folder())
        return self.written

    def start_export(self) -> None:
        """What Export does: look the files up here, copy them on a worker."""
        try:
            sources = export_sources(self.music, self.track, self.selected_formats(), self.selected_stems())
        except (KeyError, ValueError) as exc:
            self._export_failed("export", str(exc))
            return
        folder = self.folder()
        self.tasks.start("export", lambda: copy_files(sources, folder))
        self.ok_button.setEnabled(False)
        self.note.setText("Copying…")

    def _export_done(self, _name: str, written: list[Path]) -> None:
        self.written = written
        self.exported.emit(written)
        self.accept()

    def _export_failed(self, _name: str, message: str) -> None:
        self._update()
        self.note.setText(f"Export failed: {message}")
        self.export_failed.emit(message)
