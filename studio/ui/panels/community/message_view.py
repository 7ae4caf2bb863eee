"""The opened message: its thread (the messages it answers and the replies to it, oldest first), its
sentiment with a way to correct the label, and the reply draft beside it with Approve & send, Edit
and Discard.

The box only shows and signals; the panel calls `inbox`, `drafts` and `outbox`."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.community.common import (
    REPLY_STATUS_COLORS,
    REPLY_STATUS_TEXT,
    SENTIMENT_COLORS,
    ago,
    platform_label,
)
from studio.ui.theme import COLORS, icon

# Replies a person can approve (again) and edit: a draft, or one that failed or whose sending is unconfirmed.
APPROVABLE = ("draft", "failed", "unconfirmed")
# Which of a message's replies the box shows: the one that is furthest along, newest first.
REPLY_ORDER = ("sending", "approved", "draft", "unconfirmed", "failed", "sent")


def current_reply(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The reply the draft box shows: one in flight, else the open draft, else the last outcome;
    discarded ones are history."""
    live = [r for r in replies if r.get("status") in REPLY_ORDER]
    if not live:
        return None
    live.sort(key=lambda r: str(r.get("created_at") or ""), reverse=True)
    return min(live, key=lambda r: REPLY_ORDER.index(r["status"]))


class MessageView(QWidget):
    """Thread, sentiment correction and the draft with its buttons."""

    label_chosen = Signal(object)  # "positive" | "neutral" | "negative" | None (back to the model's)
    approve_requested = Signal()
    edit_requested = Signal()
    discard_requested = Signal()
    draft_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message: dict[str, Any] | None = None
        self.reply: dict[str, Any] | None = None
        # The message and its reply side by side: both stay in view on a short laptop screen.
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(12)
        self.message_box = QGroupBox("Message")
        layout = QVBoxLayout(self.message_box)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        row.addWidget(self.message_box, 1)
        self.reply_box = QGroupBox("Reply")
        reply_layout = QVBoxLayout(self.reply_box)
        reply_layout.setContentsMargins(8, 8, 8, 8)
        reply_layout.setSpacing(6)
        row.addWidget(self.reply_box, 1)
        # Who, where and when on one line (the full time in its tooltip): the thread gets the height.
        self.title_label = QLabel("Select a message")
        self.title_label.setWordWrap(True)
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.title_label.setOpenExternalLinks(True)
        layout.addWidget(self.title_label)

        self.thread_view = QTextBrowser()
        self.thread_view.setOpenExternalLinks(False)
        self.thread_view.setMinimumHeight(60)
        layout.addWidget(self.thread_view, 1)

        sentiment_row = QHBoxLayout()
        sentiment_row.setSpacing(6)
        self.sentiment_label = QLabel("–")
        self.sentiment_label.setTextFormat(Qt.TextFormat.RichText)
        self.sentiment_label.setWordWrap(True)
        sentiment_row.addWidget(self.sentiment_label, 1)
        self.label_button = QToolButton()
        self.label_button.setText("Correct")
        self.label_button.setIcon(icon("mdi6.tag-edit-outline"))
        self.label_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.label_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.label_button.setToolTip("Correct the sentiment when the reading is wrong: your label is kept, used by "
                                     "the filters and the charts, and marked as yours in the training export")
        menu = QMenu(self.label_button)
        self.label_actions: dict[str | None, Any] = {}
        for label in ("positive", "neutral", "negative"):
            action = menu.addAction(f"Mark {label}")
            action.triggered.connect(lambda _checked=False, value=label: self.label_chosen.emit(value))
            self.label_actions[label] = action
        menu.addSeparator()
        back = menu.addAction("Back to the reading from the text")
        back.triggered.connect(lambda _checked=False: self.label_chosen.emit(None))
        self.label_actions[None] = back
        self.label_button.setMenu(menu)
        sentiment_row.addWidget(self.label_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(sentiment_row)

        self.draft_edit = QPlainTextEdit()
        self.draft_edit.setReadOnly(True)
        self.draft_edit.setPlaceholderText("No draft for this message")
        self.draft_edit.setMinimumHeight(56)
        reply_layout.addWidget(self.draft_edit, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.approve_button = QPushButton(icon("mdi6.send-check-outline"), "Approve && send")
        self.approve_button.setObjectName("Primary")
        self.approve_button.setToolTip("Send this reply as it reads now; you are recorded as the one who approved it "
                                       "(Ctrl+Enter)")
        self.approve_button.clicked.connect(lambda: self.approve_requested.emit())
        buttons.addWidget(self.approve_button)
        self.edit_button = QPushButton(icon("mdi6.pencil-outline"), "Edit")
        self.edit_button.setToolTip("Change the draft's text before approving it (Ctrl+Enter approves the edited "
                                    "text)")
        self.edit_button.clicked.connect(lambda: self.edit_requested.emit())
        buttons.addWidget(self.edit_button)
        self.discard_button = QPushButton(icon("mdi6.delete-outline"), "Discard")
        self.discard_button.setToolTip("Throw the draft away and mark the message as needing no reply, then go to the "
                                       "next one (Delete)")
        self.discard_button.clicked.connect(lambda: self.discard_requested.emit())
        self.draft_button = QPushButton(icon("mdi6.text-box-edit-outline"), "Draft a reply")
        self.draft_button.setToolTip("Let the studio write a reply in your character's voice, grounded in your "
                                     "Library; nothing is sent until you approve it")
        self.draft_button.clicked.connect(lambda: self.draft_requested.emit())
        buttons.addWidget(self.draft_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        reply_layout.addLayout(buttons)
        # Who wrote the draft and how (or where the reply is: waiting, sent, failed and why), under the buttons.
        self.state_label = QLabel("")
        self.state_label.setObjectName("Muted")
        self.state_label.setWordWrap(True)
        self.state_label.setTextFormat(Qt.TextFormat.RichText)
        reply_layout.addWidget(self.state_label)
        self.show_message(None)

    # --- showing ---------------------------------------------------------------------------------
    def show_message(self, detail: dict[str, Any] | None, note: str = "") -> None:
        """Show `detail` (a message with its `thread` and `replies`), or the hint / `note` for none."""
        self.message = detail
        self.label_button.setEnabled(detail is not None)
        if detail is None:
            self.title_label.setText(f"<b>Select a message</b><br><span style='color:{COLORS['muted']}'>"
                                     + html.escape(note or "Its thread, its sentiment and the reply the studio drafted "
                                                           "show here. J / K move through the inbox.") + "</span>")
            self.thread_view.clear()
            self.sentiment_label.setText("")
            self.show_reply(None, can_draft=False)
            return
        muted = COLORS["muted"]
        author = html.escape((detail.get("author") or {}).get("name") or "–")
        meta = [platform_label(detail.get("platform"))]
        if detail.get("channel_name"):
            meta.append(html.escape(f"#{detail['channel_name']}"))
        meta.append(ago(detail.get("sent_at")))
        if detail.get("imported_from"):
            meta.append(html.escape(f"imported from {detail['imported_from']}"))
        if detail.get("url"):
            meta.append(f"<a href='{html.escape(detail['url'], quote=True)}' style='color:{COLORS['accent']}'>"
                        f"open on {platform_label(detail.get('platform'))}</a>")
        state = ""
        if detail.get("needs_reply"):
            state = f" · <span style='color:{COLORS['warning']}'>needs a reply</span>"
        elif detail.get("status") in ("answered", "dismissed"):
            state = f" · {detail['status']}"
        self.title_label.setText(f"<b>{author}</b> <span style='color:{muted}'>· {' · '.join(meta)}</span>{state}")
        self.title_label.setToolTip(f"Sent {when(detail.get('sent_at'))}")
        self.thread_view.setHtml(self._thread_html(detail))
        self._show_sentiment(detail.get("sentiment") or {})

    def _thread_html(self, detail: dict[str, Any]) -> str:
        thread = list(detail.get("thread") or [])
        if not any(m.get("id") == detail.get("id") for m in thread):
            # the thread is what it answers (above) and the replies to it (below): it goes between
            answers_at = next((i for i, m in enumerate(thread)
                               if m.get("reply_to_external_id") == detail.get("external_id")), len(thread))
            thread.insert(answers_at, detail)
        parts = []
        for m in thread:
            me = m.get("id") == detail.get("id")
            who = html.escape((m.get("author") or {}).get("name") or "–")
            if m.get("from_self"):
                who += " (you)"
            text = html.escape(m.get("text") or "").replace("\n", "<br>")
            label = (m.get("sentiment") or {}).get("label")
            mood = (f" <span style='color:{SENTIMENT_COLORS[label]}'>{label}</span>"
                    if label in SENTIMENT_COLORS else "")
            style = (f"background:{COLORS['alternate']}; border-left: 3px solid {COLORS['accent']};" if me else "")
            parts.append(f"<div style='{style} padding:4px; margin-bottom:6px'>"
                         f"<b>{who}</b> <span style='color:{COLORS['muted']}'>{ago(m.get('sent_at'))}</span>{mood}"
                         f"<br>{text}</div>")
        return "".join(parts)

    def _show_sentiment(self, sentiment: dict[str, Any]) -> None:
        label = sentiment.get("label") or "–"
        color = SENTIMENT_COLORS.get(label, COLORS["text"])
        score = sentiment.get("score")
        source = sentiment.get("label_source")
        text = f"<b style='color:{color}'>{label}</b>"
        if source == "user":
            text += f" <span style='color:{COLORS['muted']}'>(your label)</span>"
        if score is not None:
            text += f" · {score}/10"
        self.sentiment_label.setText(text)
        read = "Read from the text" if source != "user" else (
            f"Your label; the text reads {sentiment.get('model_label') or '–'}")
        self.sentiment_label.setToolTip(f"{read}. 0–10 is the text's compound score mapped linearly: (compound + 1) × 5; "
                                        "5 is neutral" + (f" (compound {sentiment['compound']})"
                                                          if sentiment.get("compound") is not None else ""))

    def show_reply(self, reply: dict[str, Any] | None, *, can_draft: bool, busy: bool = False,
                   note: str = "") -> None:
        """The draft box: `reply` (None: no draft; `can_draft` offers Draft a reply), `busy` while one is written."""
        self.reply = reply
        status = (reply or {}).get("status")
        is_open = status in APPROVABLE
        self.draft_edit.setReadOnly(True)
        self.edit_button.setText("Edit")
        self.draft_edit.setPlainText((reply or {}).get("text") or "")
        self.draft_edit.setPlaceholderText("Writing a draft…" if busy else "No draft for this message")
        self.approve_button.setEnabled(is_open and not busy)
        self.edit_button.setEnabled(is_open and not busy)
        # Discard also dismisses a message that has no draft (triage: it needs no reply).
        self.discard_button.setEnabled(bool(self.message) and not busy and (reply is None or is_open
                                                                           or status == "approved"))
        self.approve_button.setText("Send again" if status in ("failed", "unconfirmed") else "Approve && send")
        # No draft to act on: "Draft a reply" stands where Approve & send and Edit are.
        offer_draft = reply is None or status == "sent"
        self.draft_button.setVisible(offer_draft)
        self.draft_button.setEnabled(can_draft and not busy)
        self.approve_button.setVisible(not offer_draft)
        self.edit_button.setVisible(not offer_draft)
        self.state_label.setToolTip("% personal: the share of what the studio knows about them (name, join date, "
                                    "preferences) that the reply uses" if reply else "")
        self.state_label.setText(note or " · ".join(t for t in (self._reply_state(reply),
                                                                 html.escape(self._reply_meta(reply))) if t))

    @staticmethod
    def _reply_meta(reply: dict[str, Any] | None) -> str:
        if not reply:
            return ""
        bits = []
        by = reply.get("drafted_by") or ""
        if by.startswith("studio"):  # "studio", or "studio (Ollama failed)"
            bits.append("drafted by the studio" + by.removeprefix("studio"))
        elif by.startswith("ollama:"):
            bits.append(f"drafted by Ollama ({by.partition(':')[2]})")
        elif by:
            bits.append(f"written by {by}")
        if reply.get("edited"):
            bits.append("edited by you")
        if reply.get("tone"):
            bits.append(str(reply["tone"]).replace("_", " "))
        if reply.get("personalization_score") is not None:
            bits.append(f"{float(reply['personalization_score']):.0f}% personal")
        if reply.get("grounded_track_ids"):
            n = len(reply["grounded_track_ids"])
            bits.append(f"names {n} track{'s' if n != 1 else ''} from your Library")
        return " · ".join(bits)

    @staticmethod
    def _reply_state(reply: dict[str, Any] | None) -> str:
        if not reply:
            return ""
        status = reply.get("status") or ""
        if status == "draft":
            return ""  # the panel's subtitle says nothing is sent before approval
        color = REPLY_STATUS_COLORS.get(status, COLORS["muted"])
        text = f"<span style='color:{color}'>{REPLY_STATUS_TEXT.get(status, status)}</span>"
        if reply.get("approved_by") and status != "draft":
            text += f" · approved by {html.escape(reply['approved_by'])} {ago(reply.get('approved_at'))}"
        if status == "sent":
            text += f" · sent {ago(reply.get('sent_at'))}"
        if reply.get("last_error") and status in ("failed", "unconfirmed", "approved"):
            text += f"<br>{html.escape(str(reply['last_error']))}"
        if reply.get("auto"):
            text += " · sent by the bot on its own (automation is on)"
        return text

    def start_editing(self) -> None:
        self.draft_edit.setReadOnly(False)
        self.draft_edit.setFocus()
        cursor = self.draft_edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.draft_edit.setTextCursor(cursor)
        self.edit_button.setText("Save")
        self.edit_button.setToolTip("Keep the edited text as the draft without sending it")

    def editing(self) -> bool:
        return not self.draft_edit.isReadOnly()

    def draft_text(self) -> str:
        return self.draft_edit.toPlainText().strip()
