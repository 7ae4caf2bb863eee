"""The members: everyone who wrote in a connected or imported channel, with the profile the studio
computed from their messages (activity, favourite genres, engagement) and the VIP mark the user
sets. The selected member's profile says where each figure comes from.

The box only shows and signals; the panel calls `services.community.members`."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number, when
from studio.ui.panels.community.common import ago, platform_label
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.tables import list_table

MEMBER_COLUMNS = ("VIP", "Name", "Platform", "Messages", "Activity", "Engagement", "Last seen")
ID_ROLE = Qt.ItemDataRole.UserRole


class MembersBox(QWidget):
    """Filters, the members table, and the selected member's profile."""

    filters_changed = Signal()
    vip_toggled = Signal(str, bool)  # a member's id, VIP or not
    member_selected = Signal(str)
    messages_requested = Signal()  # show the selected member's messages in the inbox

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.members: list[dict[str, Any]] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)

        left = QGroupBox("Members")
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 8, 8)
        left_layout.setSpacing(6)
        row = QHBoxLayout()
        self.platform_combo = QComboBox()
        self.platform_combo.addItem("All platforms", None)
        for name in ("discord", "telegram", "youtube"):
            self.platform_combo.addItem(platform_label(name), name)
        self.platform_combo.currentIndexChanged.connect(lambda _i: self.filters_changed.emit())
        row.addWidget(self.platform_combo)
        self.status_combo = QComboBox()
        for label, value in (("Everyone", None), ("Active", "active"), ("Inactive", "inactive"), ("VIPs", "vip")):
            self.status_combo.addItem(label, value)
        self.status_combo.currentIndexChanged.connect(lambda _i: self.filters_changed.emit())
        row.addWidget(self.status_combo)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search a name")
        self.search_edit.setClearButtonEnabled(True)
        self.search_timer = debounce_timer(self, 300, self.filters_changed.emit)
        self.search_edit.textChanged.connect(lambda _t: self.search_timer.start())
        row.addWidget(self.search_edit, 1)
        left_layout.addLayout(row)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("Muted")
        left_layout.addWidget(self.summary_label)

        self.stack = QStackedWidget()
        self.table = list_table(MEMBER_COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeaderItem(0).setToolTip("Your own mark: tick the people you want to keep an eye on")
        self.table.horizontalHeaderItem(4).setToolTip("From how often they wrote recently (see a member's profile)")
        self.table.horizontalHeaderItem(5).setToolTip("0–10, from the replies and reactions their messages got "
                                                      "(see a member's profile)")
        self.table.itemSelectionChanged.connect(self._selected)
        self.stack.addWidget(self.table)
        self.empty_label = QLabel("")
        self.empty_label.setObjectName("Muted")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty_label)
        left_layout.addWidget(self.stack, 1)
        layout.addWidget(left, 3)

        right = QGroupBox("Profile")
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 8, 8, 8)
        right_layout.setSpacing(6)
        self.profile_title = QLabel("Select a member")
        self.profile_title.setObjectName("TrackTitle")
        self.profile_title.setWordWrap(True)
        right_layout.addWidget(self.profile_title)
        self.profile_label = QLabel("What the studio knows about them, and where each figure comes from, shows here.")
        self.profile_label.setObjectName("Muted")
        self.profile_label.setWordWrap(True)
        self.profile_label.setTextFormat(Qt.TextFormat.RichText)
        self.profile_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.profile_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right_layout.addWidget(self.profile_label)
        self.messages_button = QPushButton(icon("mdi6.forum-outline"), "Their messages")
        self.messages_button.setToolTip("Show only this member's messages in the inbox")
        self.messages_button.clicked.connect(lambda: self.messages_requested.emit())
        self.messages_button.setEnabled(False)
        right_layout.addWidget(self.messages_button, 0, Qt.AlignmentFlag.AlignLeft)
        right_layout.addStretch(1)
        layout.addWidget(right, 2)

    def filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.platform_combo.currentData():
            found["platform"] = self.platform_combo.currentData()
        if self.status_combo.currentData():
            found["status"] = self.status_combo.currentData()
        if self.search_edit.text().strip():
            found["search"] = self.search_edit.text().strip()
        return found

    def show_members(self, result: dict[str, Any], empty_text: str) -> None:
        self.members = list(result.get("members") or [])
        selected = self.selected()
        selected_id = selected["id"] if selected else None
        total, active = result.get("total_members"), result.get("active_members")
        self.summary_label.setText(
            f"{total} member{'s' if total != 1 else ''}" + (f", {active} active" if active is not None else "")
            + (f" · {len(self.members)} shown" if total and len(self.members) < total else "")
            if total else "")
        table = self.table
        table.blockSignals(True)
        table.clearContents()
        table.setRowCount(len(self.members))
        for r, member in enumerate(self.members):
            check = QCheckBox()
            check.setChecked(bool(member.get("vip_status")))
            check.setToolTip("VIP: your own mark")
            check.toggled.connect(lambda on, mid=member["id"]: self.vip_toggled.emit(mid, on))
            holder = QWidget()
            holder_layout = QHBoxLayout(holder)
            holder_layout.setContentsMargins(8, 0, 8, 0)
            holder_layout.addWidget(check)
            table.setCellWidget(r, 0, holder)
            engagement = member.get("engagement_score")
            cells = [QTableWidgetItem(""),
                     QTableWidgetItem(member.get("username") or "–"),
                     QTableWidgetItem(platform_label(member.get("platform"))),
                     QTableWidgetItem(str(member.get("total_messages") if member.get("total_messages") is not None
                                          else "–")),
                     QTableWidgetItem(str(member.get("activity_level") or "–")),
                     QTableWidgetItem("–" if engagement is None else number(engagement)),
                     QTableWidgetItem(ago(member.get("last_seen")))]
            reasons = member.get("reasons") or {}
            if engagement is None and reasons.get("engagement_score"):
                cells[5].setToolTip(reasons["engagement_score"])
            cells[6].setToolTip(when(member.get("last_seen")))
            for c, item in enumerate(cells):
                item.setData(ID_ROLE, member["id"])
                if c in (3, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
            if member["id"] == selected_id:
                table.selectRow(r)
        table.blockSignals(False)
        if self.members:
            self.stack.setCurrentWidget(self.table)
        else:
            self.empty_label.setText(empty_text)
            self.stack.setCurrentWidget(self.empty_label)
        if selected_id and not any(m["id"] == selected_id for m in self.members):
            self.show_profile(None)

    def vip_check(self, member_id: str) -> QCheckBox | None:
        for r, member in enumerate(self.members):
            if member["id"] == member_id:
                return self.table.cellWidget(r, 0).findChild(QCheckBox)
        return None

    def selected(self) -> dict[str, Any] | None:
        items = self.table.selectedItems()
        if not items:
            return None
        mid = items[0].data(ID_ROLE)
        return next((m for m in self.members if m["id"] == mid), None)

    def select_member(self, member_id: str) -> bool:
        for r, member in enumerate(self.members):
            if member["id"] == member_id:
                self.table.selectRow(r)
                return True
        return False

    def _selected(self) -> None:
        member = self.selected()
        if member is not None:
            self.member_selected.emit(member["id"])

    def show_profile(self, member: dict[str, Any] | None) -> None:
        """The profile of `member` (from `members.member`), each figure with its basis."""
        self.messages_button.setEnabled(member is not None)
        if member is None:
            self.profile_title.setText("Select a member")
            self.profile_label.setText("What the studio knows about them, and where each figure comes from, "
                                       "shows here.")
            return
        reasons = member.get("reasons") or {}
        muted = COLORS["muted"]

        def line(caption: str, value: Any, key: str, basis: str = "") -> str:
            shown = "–" if value in (None, "", []) else html.escape(str(value))
            why = reasons.get(key) or basis  # why it is missing, else how it was computed
            return (f"<b>{caption}</b>: {shown}"
                    + (f" <span style='color:{muted}'>({html.escape(str(why))})</span>" if why else ""))

        joined = member.get("join_date")
        basis = member.get("join_date_basis")
        genres = ", ".join(member.get("favorite_genres") or [])
        engagement = member.get("engagement_score")
        per_day, window = member.get("messages_per_day"), member.get("activity_window_days")
        mentions = member.get("genre_mentions") or {}
        rows = [
            line("Joined", when(joined, "–"), "join_date",
                 {"platform": "the platform's date", "first_seen": "their first message the studio saw"}.get(
                     str(basis), str(basis or "").replace("_", " "))),
            line("Last seen", when(member.get("last_seen"), "–"), "last_seen"),
            line("Messages", member.get("total_messages"), "total_messages"),
            line("Activity", member.get("activity_level"), "activity_level",
                 f"{per_day} messages a day over {window} days" if per_day is not None and window else ""),
            line("Favourite genres", genres, "favorite_genres",
                 ", ".join(f"{k.replace('_', ' ')} in {n} message{'s' if n != 1 else ''}" for k, n in mentions.items())
                 if mentions else "no style of the catalogue named in their messages"),
            line("Engagement", None if engagement is None else f"{number(engagement)} of 10", "engagement_score",
                 f"{member.get('reactions_received', 0)} reactions and {member.get('replies_received', 0)} replies "
                 f"on {member.get('total_messages', 0)} messages: r = their sum ÷ messages, 10 × r ÷ (r + 1)"),
        ]
        if member.get("vip_status"):
            rows.append(f"<span style='color:{COLORS['warning']}'>VIP (your mark)</span>")
        self.profile_title.setText(f"{member.get('username') or '–'} · {platform_label(member.get('platform'))}")
        self.profile_label.setText("<br>".join(rows))
