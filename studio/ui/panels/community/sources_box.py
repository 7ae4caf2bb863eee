"""The platforms' set-up: one card per platform (Discord, Telegram, YouTube) with its status and why,
on/off, the token or key (write-only: typed, stored in the OS keyring, never shown back), the
Discord channels to read, YouTube's channel or videos and "Sign in with Google" (needed to post
replies), what was read and sent, and the service's step-by-step set-up instructions.

The cards only show and signal (with the platform's name); the panel calls `services.community.sources`."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number, when
from studio.ui.panels.community.common import ago, platform_label
from studio.ui.theme import COLORS, icon

STATUS_COLORS = {"ok": COLORS["success"], "connecting": COLORS["accent"], "error": COLORS["danger"],
                 "disabled": COLORS["muted"]}
TOKEN_WORDS = {"discord": "bot token", "telegram": "bot token", "youtube": "API key"}


def instructions_html(instructions: Any) -> str:
    """The service's set-up text (a string, or a list of steps) as HTML: numbered steps, links clickable."""
    if not instructions:
        return ""
    if isinstance(instructions, str):
        lines = [line.strip() for line in instructions.splitlines() if line.strip()]
    else:
        lines = [str(step).strip() for step in instructions if str(step).strip()]
    if len(lines) == 1:
        return _linked(lines[0])
    steps = []
    for line in lines:
        text = line
        head = text.split(" ", 1)
        if len(head) == 2 and head[0].rstrip(".)").isdigit():  # "1. Open ..." already numbered
            text = head[1]
        steps.append(f"<li>{_linked(text)}</li>")
    return "<ol style='margin-left:-20px'>" + "".join(steps) + "</ol>"


def _linked(text: str) -> str:
    """Escape `text` and make its http(s) addresses links."""
    out = []
    for word in text.split(" "):
        bare = word.rstrip(".,;:)")
        tail = word[len(bare):]
        if bare.startswith(("https://", "http://")):
            out.append(f"<a href='{html.escape(bare, quote=True)}' style='color:{COLORS['accent']}'>"
                       f"{html.escape(bare)}</a>{html.escape(tail)}")
        else:
            out.append(html.escape(word))
    return " ".join(out)


class SourceCard(QGroupBox):
    """One platform's status, switch, token, settings and instructions."""

    def __init__(self, name: str, box: "SourcesBox", parent: QWidget | None = None) -> None:
        super().__init__(platform_label(name), parent)
        self.name = name
        self.source: dict[str, Any] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)

        self.enabled_check = QCheckBox("Read messages")
        self.enabled_check.setToolTip("While this is on, the studio reads this platform in the background; nothing is "
                                      "read before you turn it on")
        self.enabled_check.toggled.connect(lambda on: box.enable_toggled.emit(name, on))
        layout.addWidget(self.enabled_check)
        self.status_label = QLabel("–")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.status_label)
        self.counts_label = QLabel("")
        self.counts_label.setObjectName("Muted")
        self.counts_label.setWordWrap(True)
        layout.addWidget(self.counts_label)
        top = QHBoxLayout()
        self.verify_button = QPushButton(icon("mdi6.check-network-outline"), "Verify")
        self.verify_button.setToolTip(f"Ask {platform_label(name)} whether the stored "
                                      f"{TOKEN_WORDS.get(name, 'token')} works (and whose it is)")
        self.verify_button.clicked.connect(lambda: box.verify_requested.emit(name))
        top.addWidget(self.verify_button)
        self.poll_button = QPushButton(icon("mdi6.refresh"), "Check now")
        self.poll_button.setToolTip("Read new messages from this platform now")
        self.poll_button.clicked.connect(lambda: box.poll_requested.emit(name))
        top.addWidget(self.poll_button)
        top.addStretch(1)

        word = TOKEN_WORDS.get(name, "token")
        token_row = QHBoxLayout()
        token_row.setSpacing(6)
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(f"Paste the {word}")
        self.token_edit.returnPressed.connect(lambda: box.save_token_requested.emit(name))
        token_row.addWidget(self.token_edit, 1)
        self.save_button = QPushButton(icon("mdi6.key-plus"), "Save")
        self.save_button.setToolTip(f"Keep the {word} in your system's keyring and check it with {platform_label(name)}")
        self.save_button.clicked.connect(lambda: box.save_token_requested.emit(name))
        token_row.addWidget(self.save_button)
        self.clear_button = QToolButton()
        self.clear_button.setIcon(icon("mdi6.key-remove"))
        self.clear_button.setToolTip(f"Forget the stored {word}")
        self.clear_button.clicked.connect(lambda: box.clear_token_requested.emit(name))
        token_row.addWidget(self.clear_button)
        layout.addLayout(token_row)
        self.token_state = QLabel("")
        self.token_state.setObjectName("Muted")
        self.token_state.setWordWrap(True)
        layout.addWidget(self.token_state)
        layout.addLayout(top)

        self.channels_list: QListWidget | None = None
        if name == "discord":
            self.channels_label = QLabel("")
            self.channels_label.setWordWrap(True)
            layout.addWidget(self.channels_label)
            row = QHBoxLayout()
            self.pick_button = QPushButton(icon("mdi6.pound"), "Choose channels…")
            self.pick_button.setToolTip("List the text channels your bot can see, to tick the ones to read")
            self.pick_button.clicked.connect(lambda: box.channels_requested.emit(name))
            row.addWidget(self.pick_button)
            self.save_channels_button = QPushButton(icon("mdi6.check"), "Read these channels")
            self.save_channels_button.setVisible(False)
            self.save_channels_button.clicked.connect(lambda: box.save_channels_requested.emit(name))
            row.addWidget(self.save_channels_button)
            row.addStretch(1)
            layout.addLayout(row)
            self.channels_list = QListWidget()
            self.channels_list.setVisible(False)
            self.channels_list.setMaximumHeight(140)
            layout.addWidget(self.channels_list)

        if name == "youtube":
            self.channel_edit = QLineEdit()
            self.channel_edit.setPlaceholderText("Channel id (UC…): comments on all its videos")
            self.channel_edit.setToolTip("Your channel id, 24 characters starting with UC (YouTube Studio > Settings > "
                                         "Channel > Advanced settings): the comments on all its videos are read")
            layout.addWidget(self.channel_edit)
            self.videos_edit = QLineEdit()
            self.videos_edit.setPlaceholderText("Or video ids / links, comma-separated")
            self.videos_edit.setToolTip("Only the comments on these videos: their ids (the 11 characters after "
                                        "watch?v=) or their links, separated by commas")
            layout.addWidget(self.videos_edit)
            row = QHBoxLayout()
            self.save_config_button = QPushButton(icon("mdi6.content-save-outline"), "Save what to read")
            self.save_config_button.clicked.connect(lambda: box.save_config_requested.emit(name))
            row.addWidget(self.save_config_button)
            row.addStretch(1)
            layout.addLayout(row)
            replies = QLabel("Replying to comments")
            replies.setObjectName("CardLabel")
            layout.addWidget(replies)
            self.client_id_edit = QLineEdit()
            self.client_id_edit.setPlaceholderText("OAuth client id")
            self.client_id_edit.setToolTip("The client id of your Google Cloud OAuth client of type Desktop app (it ends "
                                           "with .apps.googleusercontent.com)")
            layout.addWidget(self.client_id_edit)
            client_row = QHBoxLayout()
            client_row.setSpacing(6)
            self.client_secret_edit = QLineEdit()
            self.client_secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
            self.client_secret_edit.setPlaceholderText("OAuth client secret")
            client_row.addWidget(self.client_secret_edit, 1)
            self.client_button = QPushButton(icon("mdi6.content-save-outline"), "Save")
            self.client_button.setToolTip("Keep the OAuth client (type Desktop app) in your system's keyring; "
                                          "Sign in with Google uses it")
            self.client_button.clicked.connect(lambda: box.oauth_client_requested.emit())
            client_row.addWidget(self.client_button)
            layout.addLayout(client_row)
            google_row = QHBoxLayout()
            self.google_button = QPushButton(icon("mdi6.google"), "Sign in with Google…")
            self.google_button.setToolTip("Opens Google's sign-in page in your browser; the studio asks only for the "
                                          "permission to manage your YouTube comments (youtube.force-ssl), used to post "
                                          "the replies you approve")
            self.google_button.clicked.connect(lambda: box.google_sign_in_requested.emit())
            google_row.addWidget(self.google_button)
            self.sign_out_button = QPushButton(icon("mdi6.logout"), "Sign out")
            self.sign_out_button.setToolTip("Forget Google's sign-in: replies to comments can no longer be posted")
            self.sign_out_button.clicked.connect(lambda: box.sign_out_requested.emit())
            google_row.addWidget(self.sign_out_button)
            google_row.addStretch(1)
            layout.addLayout(google_row)
            self.google_state = QLabel("")
            self.google_state.setObjectName("Muted")
            self.google_state.setWordWrap(True)
            layout.addWidget(self.google_state)

        self.help_toggle = QToolButton()
        self.help_toggle.setText("How to set it up")
        self.help_toggle.setCheckable(True)
        self.help_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.help_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.help_toggle.toggled.connect(self._toggle_help)
        layout.addWidget(self.help_toggle)
        self.help_label = QLabel("")
        self.help_label.setWordWrap(True)
        self.help_label.setTextFormat(Qt.TextFormat.RichText)
        self.help_label.setOpenExternalLinks(True)
        self.help_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.help_label.setVisible(False)
        layout.addWidget(self.help_label)
        layout.addStretch(1)

    def _toggle_help(self, on: bool) -> None:
        self.help_label.setVisible(on)
        self.help_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def show_source(self, source: dict[str, Any]) -> None:
        self.source = source
        name = self.name
        self.setTitle(source.get("label") or platform_label(name))
        self.enabled_check.blockSignals(True)
        self.enabled_check.setChecked(bool(source.get("enabled")))
        self.enabled_check.blockSignals(False)
        status = str(source.get("status") or ("disabled" if not source.get("enabled") else "connecting"))
        color = STATUS_COLORS.get(status, COLORS["text"])
        identity = source.get("identity") or {}
        who = identity.get("username") or identity.get("title") or identity.get("name")
        text = {"ok": "Connected", "connecting": "Connecting…", "error": "Error", "disabled": "Off"}.get(status, status)
        if who and status == "ok":
            text += f" as {who}"
        line = f"<b style='color:{color}'>{html.escape(text)}</b>"
        if source.get("error"):
            line += f": {html.escape(str(source['error']))}"
        elif status == "disabled":
            line += " · " + ("turn on Read messages to start" if source.get("has_token") or name != "youtube"
                             else "paste an API key, then turn on Read messages")
        self.status_label.setText(line)
        read, sent = int(source.get("messages_total") or 0), int(source.get("sent_total") or 0)
        counts = [f"{number(read, 0)} message{'' if read == 1 else 's'} read",
                  f"{number(sent, 0)} repl{'y' if sent == 1 else 'ies'} sent",
                  f"last check {ago(source.get('last_poll'))}" if source.get("last_poll") else "not checked yet"]
        if source.get("quota_used") is not None and source.get("quota_limit"):
            counts.append(f"{source['quota_used']:,} of {source['quota_limit']:,} API units used today"
                          .replace(",", " "))
        self.counts_label.setText(" · ".join(counts))
        self.counts_label.setToolTip((f"Last check {when(source.get('last_poll'))}" if source.get("last_poll") else "")
                                     + (f"\n{source['quota_basis']}" if source.get("quota_basis") else ""))
        self.poll_button.setEnabled(bool(source.get("enabled")))

        word = TOKEN_WORDS.get(name, "token")
        has = bool(source.get("has_token"))
        self.clear_button.setEnabled(has)
        self.verify_button.setEnabled(has)
        masked = source.get("token_masked")
        if masked:
            state = f"{word.capitalize()} stored ({masked}); pasting a new one replaces it. It is never shown again."
        elif has:
            state = "Signed in with Google (comments are read with the sign-in); an API key is optional."
        else:
            state = f"No {word} stored yet: the steps below say where to get one."
        if identity.get("privacy_mode"):
            state += (" Privacy mode is on: in groups the bot sees only messages that mention it or reply to it "
                      "(step 4 says how to change that).")
        self.token_state.setText(state)
        self.help_label.setText(instructions_html(source.get("instructions")))
        self.help_toggle.setVisible(bool(source.get("instructions")))
        if not has and not self.help_toggle.isChecked() and source.get("instructions"):
            self.help_toggle.setChecked(True)  # nothing set up yet: the steps are what the user needs

        config = source.get("config") or {}
        if name == "discord":
            channels = config.get("channels") or []
            names = ", ".join(f"#{c.get('name') or c.get('id')}" for c in channels)
            self.channels_label.setText(f"Reads {names}" if channels else
                                        "No channel chosen yet: save the bot token, then choose the channels to read.")
            self.pick_button.setEnabled(has)
        if name == "youtube":
            if not self.channel_edit.hasFocus():
                self.channel_edit.setText(str(config.get("channel_id") or ""))
            if not self.videos_edit.hasFocus():
                self.videos_edit.setText(", ".join(config.get("video_ids") or []))
            signed_in = bool(source.get("signed_in"))
            has_client = bool(source.get("has_oauth_client"))
            self.google_button.setEnabled(has_client)
            self.sign_out_button.setVisible(signed_in)
            self.client_id_edit.setPlaceholderText("OAuth client stored (paste another to replace)"
                                                   if has_client else "OAuth client id")
            if signed_in:
                text = "Signed in with Google: approved replies are posted as your channel."
            elif has_client:
                text = "Sign in with Google to post the replies you approve (each costs 50 of the 10 000 daily units)."
            else:
                text = ("Reading comments needs only the API key. To post replies, save your OAuth client (steps 3-4 "
                        "below), then sign in with Google.")
            self.google_state.setText(text)

    def show_channels(self, channels: list[dict[str, Any]], chosen: set[str]) -> None:
        """The channels the bot can see, the ones read now ticked."""
        if self.channels_list is None:
            return
        self.channels_list.clear()
        for channel in channels:
            guild = channel.get("guild_name")
            item = QListWidgetItem(f"#{channel.get('name')}" + (f"  ({guild})" if guild else ""))
            item.setData(Qt.ItemDataRole.UserRole, channel)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if str(channel.get("id")) in chosen else Qt.CheckState.Unchecked)
            self.channels_list.addItem(item)
        self.channels_list.setVisible(True)
        self.save_channels_button.setVisible(True)

    def chosen_channels(self) -> list[dict[str, Any]]:
        if self.channels_list is None:
            return []
        chosen = []
        for i in range(self.channels_list.count()):
            item = self.channels_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                channel = item.data(Qt.ItemDataRole.UserRole)
                chosen.append({k: channel.get(k) for k in ("id", "name", "guild_id")})
        return chosen

    def youtube_config(self) -> dict[str, Any]:
        """The channel id and video ids typed in (links are reduced to their video id)."""
        videos = []
        for part in self.videos_edit.text().replace("\n", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if "v=" in part:
                part = part.split("v=", 1)[1].split("&", 1)[0]
            elif "youtu.be/" in part:
                part = part.split("youtu.be/", 1)[1].split("?", 1)[0]
            videos.append(part)
        return {"channel_id": self.channel_edit.text().strip() or None, "video_ids": videos}


class SourcesBox(QWidget):
    """The three platform cards side by side."""

    enable_toggled = Signal(str, bool)
    save_token_requested = Signal(str)
    clear_token_requested = Signal(str)
    poll_requested = Signal(str)
    channels_requested = Signal(str)
    save_channels_requested = Signal(str)
    save_config_requested = Signal(str)
    google_sign_in_requested = Signal()
    sign_out_requested = Signal()
    oauth_client_requested = Signal()
    verify_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards: dict[str, SourceCard] = {}
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(12)

    def show_sources(self, sources: list[dict[str, Any]]) -> None:
        for source in sources:
            name = source["name"]
            card = self.cards.get(name)
            if card is None:
                card = self.cards[name] = SourceCard(name, self)
                self.row.addWidget(card, 1)
            card.show_source(source)

    def card(self, name: str) -> SourceCard:
        return self.cards[name]
