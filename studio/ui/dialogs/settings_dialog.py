"""Settings: a form over the editable fields; Save goes through `services.system.update_config`,
which validates, persists (settings.json in the data dir) and applies what it can at once."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.config import EDITABLE_FIELDS, Settings
from studio.ui.theme import icon

if TYPE_CHECKING:
    from studio.services import Services

LABELS = {
    "host": "Host",
    "port": "Port",
    "api_enabled": "Run the local API",
    "allow_remote": "Allow remote access",
    "device": "Engine device",
    "max_concurrent": "Jobs at once",
    "max_body_mb": "Largest request (MB)",
    "session_ttl_s": "Login session (s)",
    "soundfont_path": "SoundFont",
    "ollama_url": "Ollama server",
    "ollama_model": "Ollama model",
    "log_level": "Log level",
    "daily_credits": "Credits per day",
    "allowed_folders": "Folders the API may read",
    "allowed_private_hosts": "Hosts on your network",
    "rate_limits": "Rate limits",
    "requests": "requests",
    "window_s": "window (s)",
}
INT32_MAX = 2**31 - 1


def _bounds(name: str) -> tuple[int, int]:
    low, high = 0, INT32_MAX
    for item in Settings.model_fields[name].metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return int(low), int(min(high, INT32_MAX))


def _choices(name: str) -> tuple[str, ...]:
    return tuple(typing.get_args(Settings.model_fields[name].annotation))


def describe_error(exc: Exception) -> tuple[str, str | None]:
    """A message naming the field(s) at fault, and the first top-level field (to focus it)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            items = errors()
        except Exception:
            items = []
        lines, first = [], None
        for item in items:
            loc = [str(part) for part in item.get("loc", ())]
            if loc and first is None:
                first = loc[0]
            where = " › ".join(LABELS.get(part, part) for part in loc) or "settings"
            lines.append(f"{where}: {item.get('msg', 'invalid value')}")
        if lines:
            return "\n".join(lines), first
    return str(exc), None


class SettingsDialog(QDialog):
    saved = Signal(dict)  # the result of update_config

    def __init__(self, services: "Services", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.last_result: dict[str, Any] | None = None
        self.setWindowTitle("Settings")
        self.setMinimumWidth(860)
        s = services.settings
        self.fields: dict[str, QWidget] = {}

        # --- local API ------------------------------------------------------------------------
        api_box = QGroupBox("Local API")
        api = QFormLayout(api_box)
        self.fields["api_enabled"] = QCheckBox("Start the API with the window")
        self.fields["host"] = QLineEdit()
        self.fields["port"] = QSpinBox()
        self.fields["allow_remote"] = QCheckBox("Listen beyond this machine")
        self.fields["max_body_mb"] = QSpinBox()
        self.fields["session_ttl_s"] = QSpinBox()
        for name in ("api_enabled", "host", "port", "allow_remote", "max_body_mb", "session_ttl_s"):
            api.addRow(self._label(name), self.fields[name])

        # --- engine ---------------------------------------------------------------------------
        engine_box = QGroupBox("Engine")
        engine = QFormLayout(engine_box)
        self.fields["device"] = QComboBox()
        self.fields["max_concurrent"] = QSpinBox()
        self.soundfont_edit = QLineEdit()
        self.soundfont_edit.setPlaceholderText("built-in General MIDI")
        browse = QPushButton(icon("mdi6.folder-open"), "Browse…")
        browse.clicked.connect(self._browse_soundfont)
        self.soundfont_browse = browse
        # A choice of the embedded GM font and the SoundFonts the OS installed; the path field stays
        # the one value saved, so a file picked with Browse… works the same.
        self.soundfont_choice = QComboBox()
        self.soundfont_choice.setToolTip("The built-in General MIDI SoundFont, or a larger one your system installed "
                                         "(e.g. the fluid-soundfont-gm package)")
        self._fill_soundfont_choice()
        self.soundfont_choice.activated.connect(self._soundfont_chosen)
        soundfont_row = QWidget()
        row = QHBoxLayout(soundfont_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.soundfont_choice)
        row.addWidget(self.soundfont_edit, 1)
        row.addWidget(browse)
        self.fields["soundfont_path"] = self.soundfont_edit
        self.fields["log_level"] = QComboBox()
        self.fields["daily_credits"] = QSpinBox()
        self.fields["daily_credits"].setSpecialValueText("unlimited")  # 0
        self.fields["daily_credits"].setSuffix(" credits")
        engine.addRow(self._label("device"), self.fields["device"])
        engine.addRow(self._label("max_concurrent"), self.fields["max_concurrent"])
        engine.addRow(self._label("soundfont_path"), soundfont_row)
        engine.addRow(self._label("daily_credits"), self.fields["daily_credits"])
        engine.addRow(self._label("log_level"), self.fields["log_level"])
        self.fields["ollama_url"] = QLineEdit()
        self.fields["ollama_url"].setPlaceholderText("empty: the built-in script writer (e.g. http://127.0.0.1:11434)")
        self.fields["ollama_url"].setToolTip("A local Ollama server that writes character scripts; when it is not "
                                             "set or does not answer, the built-in writer is used")
        self.fields["ollama_model"] = QLineEdit()
        engine.addRow(self._label("ollama_url"), self.fields["ollama_url"])
        engine.addRow(self._label("ollama_model"), self.fields["ollama_model"])

        for name in ("port", "max_body_mb", "session_ttl_s", "max_concurrent", "daily_credits"):
            low, high = _bounds(name)
            self.fields[name].setRange(low, high)
        self.fields["session_ttl_s"].setSingleStep(60)
        for name in ("device", "log_level"):
            self.fields[name].addItems(list(_choices(name)))
        for name, widget in self.fields.items():
            description = Settings.model_fields[name].description
            restart = " Takes effect after a restart." if EDITABLE_FIELDS.get(name) else ""
            widget.setToolTip((description or "") + restart)

        # --- rate limits ----------------------------------------------------------------------
        limits_box = QGroupBox("Rate limits per API key and endpoint group")
        limits = QVBoxLayout(limits_box)
        self.rate_table = QTableWidget(0, 3)
        self.rate_table.setHorizontalHeaderLabels(["Endpoint group", "Requests", "Window (s)"])
        self.rate_table.verticalHeader().setVisible(False)
        self.rate_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.rate_table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.rate_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rate_table.setMinimumHeight(200)
        limits.addWidget(self.rate_table)
        hint = QLabel("A request counts against the group with the longest matching path prefix; "
                      "‘default’ covers the rest of /api.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        limits.addWidget(hint)

        # --- what requests may reach -----------------------------------------------------------
        reach_box = QGroupBox("What API requests may reach")
        reach = QFormLayout(reach_box)
        self.folders_list = QListWidget()
        self.folders_list.setMaximumHeight(72)
        self.folders_list.setToolTip(Settings.model_fields["allowed_folders"].description or "")
        add_folder = QPushButton(icon("mdi6.folder-plus"), "Add…")
        add_folder.clicked.connect(self._add_folder)
        remove_folder = QPushButton(icon("mdi6.folder-remove"), "Remove")
        remove_folder.clicked.connect(lambda: [self.folders_list.takeItem(self.folders_list.row(item))
                                               for item in self.folders_list.selectedItems()])
        self.add_folder_button, self.remove_folder_button = add_folder, remove_folder
        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(add_folder)
        folder_buttons.addWidget(remove_folder)
        folder_buttons.addStretch(1)
        folders_row = QWidget()
        folders_layout = QHBoxLayout(folders_row)
        folders_layout.setContentsMargins(0, 0, 0, 0)
        folders_layout.addWidget(self.folders_list, 1)
        folders_layout.addLayout(folder_buttons)
        self.hosts_edit = QLineEdit()
        self.hosts_edit.setPlaceholderText("none: only public addresses (e.g. nas.local, 192.168.1.20, 10.0.0.0/8)")
        self.hosts_edit.setToolTip(Settings.model_fields["allowed_private_hosts"].description or "")
        reach.addRow(self._label("allowed_folders"), folders_row)
        reach.addRow(self._label("allowed_private_hosts"), self.hosts_edit)

        note = QLabel("Fields marked ↻ take effect after a restart. Settings are saved in "
                      f"{services.settings.settings_file}.")
        note.setObjectName("Muted")
        note.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        columns = QHBoxLayout()
        columns.setSpacing(12)
        columns.addWidget(api_box, 1)
        columns.addWidget(engine_box, 1)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(columns)
        layout.addWidget(limits_box, 1)
        layout.addWidget(reach_box)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.load(s)

    def _label(self, name: str) -> QLabel:
        text = LABELS.get(name, name) + (" ↻" if EDITABLE_FIELDS.get(name) else "")
        label = QLabel(text)
        label.setToolTip(Settings.model_fields[name].description or "")
        return label

    # --- values ---------------------------------------------------------------------------------
    def load(self, s: Settings) -> None:
        self.fields["api_enabled"].setChecked(s.api_enabled)
        self.fields["host"].setText(s.host)
        self.fields["port"].setValue(s.port)
        self.fields["allow_remote"].setChecked(s.allow_remote)
        self.fields["max_body_mb"].setValue(s.max_body_mb)
        self.fields["session_ttl_s"].setValue(s.session_ttl_s)
        self.fields["device"].setCurrentText(s.device)
        self.fields["max_concurrent"].setValue(s.max_concurrent)
        self.fields["daily_credits"].setValue(s.daily_credits)
        self.soundfont_edit.setText(str(s.soundfont_path) if s.soundfont_path else "")
        chosen = self.soundfont_choice.findData(str(s.soundfont_path) if s.soundfont_path else "")
        self.soundfont_choice.setCurrentIndex(max(chosen, 0))
        self.fields["log_level"].setCurrentText(s.log_level)
        self.fields["ollama_url"].setText(s.ollama_url or "")
        self.fields["ollama_model"].setText(s.ollama_model)
        self.folders_list.clear()
        self.folders_list.addItems([str(folder) for folder in s.allowed_folders])
        self.hosts_edit.setText(", ".join(s.allowed_private_hosts))
        self.rate_table.setRowCount(0)
        for group, limit in s.rate_limits.items():
            row = self.rate_table.rowCount()
            self.rate_table.insertRow(row)
            name = QTableWidgetItem(group)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.rate_table.setItem(row, 0, name)
            self.rate_table.setItem(row, 1, QTableWidgetItem(str(limit.requests)))
            self.rate_table.setItem(row, 2, QTableWidgetItem(str(limit.window_s)))

    def values(self) -> dict[str, Any]:
        """Everything in the form, as `update_config` takes it (validation is the service's)."""
        soundfont = self.soundfont_edit.text().strip()
        return {
            "api_enabled": self.fields["api_enabled"].isChecked(),
            "host": self.fields["host"].text().strip(),
            "port": self.fields["port"].value(),
            "allow_remote": self.fields["allow_remote"].isChecked(),
            "max_body_mb": self.fields["max_body_mb"].value(),
            "session_ttl_s": self.fields["session_ttl_s"].value(),
            "device": self.fields["device"].currentText(),
            "max_concurrent": self.fields["max_concurrent"].value(),
            "daily_credits": self.fields["daily_credits"].value(),
            "soundfont_path": soundfont or None,
            "log_level": self.fields["log_level"].currentText(),
            "ollama_url": self.fields["ollama_url"].text().strip() or None,
            "ollama_model": self.fields["ollama_model"].text().strip() or self.services.settings.ollama_model,
            "rate_limits": self._rate_limits(),
            "allowed_folders": [self.folders_list.item(i).text() for i in range(self.folders_list.count())],
            "allowed_private_hosts": [h.strip() for h in self.hosts_edit.text().replace(";", ",").split(",")
                                      if h.strip()],
        }

    def _rate_limits(self) -> dict[str, dict[str, Any]]:
        out = {}
        for row in range(self.rate_table.rowCount()):
            group = self.rate_table.item(row, 0).text()
            cells = [self.rate_table.item(row, col) for col in (1, 2)]
            requests, window = [self._number(cell.text() if cell else "") for cell in cells]
            out[group] = {"requests": requests, "window_s": window}
        return out

    @staticmethod
    def _number(text: str) -> Any:
        text = text.strip()
        try:
            return int(text)
        except ValueError:
            return text  # the service reports it as not a whole number, naming the cell

    def changes(self) -> dict[str, Any]:
        """Only what differs from the current settings (so a --port override is not persisted)."""
        current = self.services.settings.model_dump(mode="json")
        out = {}
        for name, value in self.values().items():
            now = current.get(name)
            if name == "allowed_folders":
                same = [str(Path(v)) for v in value] == [str(Path(v)) for v in now or []]
            elif name == "soundfont_path":
                same = (value or None) == (now or None) or (value and now and Path(value) == Path(now))
            else:
                same = value == now
            if not same:
                out[name] = value
        return out

    # --- actions --------------------------------------------------------------------------------
    def save(self) -> None:
        changes = self.changes()
        problem = self._check(changes)
        if problem:
            field, message = problem
            self._show_error(message, field)
            return
        if not changes:
            self.last_result = {"updated_settings": [], "restart_required": False, "restart_fields": []}
            self.accept()
            return
        try:
            result = self.services.system.update_config(changes)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            message, field = describe_error(exc)
            self._show_error(message, field)
            return
        self.last_result = result
        self.saved.emit(result)
        self.accept()

    def _check(self, changes: dict[str, Any]) -> tuple[str, str] | None:
        """What the form can tell before the service: a missing host or SoundFont file."""
        if "host" in changes and not changes["host"]:
            return "host", "Host: enter the interface to listen on, e.g. 127.0.0.1"
        path = changes.get("soundfont_path")
        if path and not Path(path).expanduser().is_file():
            return "soundfont_path", f"SoundFont: no such file: {path}"
        return None

    def _show_error(self, message: str, field: str | None) -> None:
        widget = self.fields.get(field or "")
        if widget is not None:
            widget.setFocus()
        elif field == "rate_limits":
            self.rate_table.setFocus()
        QMessageBox.warning(self, "Settings not saved", f"Nothing was saved. Please fix:\n\n{message}")

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder the API may read files from", str(Path.home()))
        if folder and not self.folders_list.findItems(folder, Qt.MatchFlag.MatchExactly):
            self.folders_list.addItem(folder)

    def _fill_soundfont_choice(self) -> None:
        self.soundfont_choice.addItem("Built-in General MIDI (TimGM6mb)", "")
        for font in self.services.system.system_soundfonts():
            size_mib = font["size_bytes"] / (1 << 20)
            self.soundfont_choice.addItem(f"System: {font['name']} ({size_mib:.0f} MiB)", font["path"])
            self.soundfont_choice.setItemData(self.soundfont_choice.count() - 1, font["path"],
                                              Qt.ItemDataRole.ToolTipRole)

    def _soundfont_chosen(self, index: int) -> None:
        self.soundfont_edit.setText(self.soundfont_choice.itemData(index) or "")

    def _browse_soundfont(self) -> None:
        start = self.soundfont_edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a SoundFont", start,
                                              "SoundFonts (*.sf2 *.sf3);;All files (*)")
        if path:
            self.soundfont_edit.setText(path)
