"""Community: one inbox for Discord, Telegram and YouTube comments, with sentiment, members,
insights and the replies the studio drafts and a person approves.

Tabs: Inbox (the filtered messages beside the opened one: its thread, its sentiment with a way to
correct the label, the reply draft with Approve & send / Edit / Discard), Outbox (approved replies
and where each is: waiting, sending, sent, failed, unconfirmed), Members (the computed profile and
the VIP mark), Insights (overview cards, sentiment over time, topics) and Sources (each platform's
status, token, channels, instructions). "Import messages…" reads an export file, shows what it
holds, and imports it when the user agrees.

Triage from the keyboard while the inbox is shown: J next message, K previous (↓ / ↑ too while the
list has the focus), Ctrl+Enter approve & send the draft (the window's panel action, so it also
approves the text being edited), Delete discard it. Typing in a text field keeps its keys: a text
field claims J, K and Delete before a shortcut does (Qt's ShortcutOverride).

Everything comes from `services.community` through its parts (inbox, members, insights, topics,
sources, live, outbox, drafts, imports); nothing is computed here and the HTTP API is never called.
Network calls (checking a token, polling, drafting with Ollama, Google sign-in, imports) run as
coroutines on the qasync loop, so the window stays responsive; `community_*` events refresh the
panel while it is open. A service error is shown in the panel (what to fix), never raised.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.community.common import approver, platform_label, reason
from studio.ui.panels.community.import_dialog import ImportPreview
from studio.ui.panels.community.inbox_list import InboxList
from studio.ui.panels.community.insights_box import InsightsBox
from studio.ui.panels.community.members_box import MembersBox
from studio.ui.panels.community.message_view import (
    APPROVABLE,
    MessageView,
    current_reply,
)
from studio.ui.panels.community.outbox_box import OUTBOX_STATUSES, OutboxBox
from studio.ui.panels.community.reply_settings import ReplySettings
from studio.ui.panels.community.sources_box import SourcesBox
from studio.ui.theme import icon
from studio.ui.widgets.debounce import debounce_timer

if TYPE_CHECKING:
    from studio.services.community import CommunityService

PAGE = 100  # messages per page of the inbox ("Show more" adds another)
MAX_PAGE = 200  # the most the inbox returns per call
MEMBER_LIMIT = 200
OUTBOX_LIMIT = 200
TOPIC_LIMIT = 6
REFRESH_DELAY_MS = 300
MESSAGES_FILTER = "Message exports (*.json *.csv);;All files (*)"
IMPORT_HELP = ("A DiscordChatExporter JSON export, a Telegram Desktop export (result.json), or a CSV with the columns "
               "platform, author, time, text can be imported.")


def guarded(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A refresh that never raises: whatever goes wrong reading the service is shown inline."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def run(self: "CommunityPanel", *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:  # e.g. a part of the service not available
                self._show_error(f"{what}: {reason(exc)}")
                return None
        return run

    return wrap


class CommunityPanel(Panel):
    title = "Community"
    icon = "mdi6.account-group"
    key = "community"
    area = "community"
    subtitle = ("Discord, Telegram and YouTube comments in one inbox, with their sentiment. The studio drafts "
                "replies; nothing is sent until you approve it.")

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.sources: list[dict[str, Any]] = []
        self.counts: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self.total = 0
        self.page = PAGE
        self.current: dict[str, Any] | None = None  # the opened message with its thread and replies
        self.last_error = ""
        self.futures: dict[str, asyncio.Future] = {}  # what runs on the loop: "draft:<message id>", "poll:discord"...
        self.pending_import: tuple[bytes, str] | None = None
        self.draft_failed: set[str] = set()  # messages whose draft failed: not retried on every refresh

        self.import_button = QPushButton(icon("mdi6.file-import-outline"), "Import messages…")
        self.import_button.setToolTip("Read a DiscordChatExporter JSON, a Telegram Desktop export (result.json) or a "
                                      "CSV (platform, author, time, text), and see what it holds before importing it")
        self.import_button.clicked.connect(self.pick_import)

        body = QVBoxLayout(self)
        body.setContentsMargins(28, 16, 28, 8)  # tighter than other panels: a laptop screen shows the draft's buttons
        body.setSpacing(8)
        body.addLayout(self.header(self.import_button))
        self.error_label = QLabel("")
        self.error_label.setObjectName("Warning")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        body.addWidget(self.error_label)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # Inbox: the list beside the opened message and its draft
        inbox_page = QWidget()
        inbox_row = QHBoxLayout(inbox_page)
        inbox_row.setContentsMargins(0, 8, 0, 0)
        inbox_row.setSpacing(12)
        self.inbox = InboxList()
        self.inbox.filters_changed.connect(self._filters_changed)
        self.inbox.message_selected.connect(self.show_message)
        self.inbox.more_requested.connect(self.show_more)
        inbox_row.addWidget(self.inbox, 4)
        self.message_view = MessageView()
        self.message_view.label_chosen.connect(self.set_label)
        self.message_view.approve_requested.connect(self.approve)
        self.message_view.edit_requested.connect(self.edit)
        self.message_view.discard_requested.connect(self.discard)
        self.message_view.draft_requested.connect(lambda: self.draft())
        inbox_row.addWidget(self.message_view, 6)
        self.tabs.addTab(inbox_page, icon("mdi6.inbox-outline"), "Inbox")
        # Outbox
        self.outbox = OutboxBox()
        self.outbox.filter_changed.connect(self.refresh_outbox)
        self.outbox.open_message_requested.connect(self.open_message)
        self.outbox.discard_requested.connect(self.discard_reply)
        self.outbox.retry_requested.connect(self.retry_reply)
        self.tabs.addTab(self._padded(self.outbox), icon("mdi6.send-clock-outline"), "Outbox")
        # Members
        self.members = MembersBox()
        self.members.filters_changed.connect(self.refresh_members)
        self.members.vip_toggled.connect(self.set_vip)
        self.members.member_selected.connect(self.show_member)
        self.members.messages_requested.connect(self.member_messages)
        self.tabs.addTab(self._padded(self.members), icon("mdi6.account-multiple-outline"), "Members")
        # Insights
        self.insights = InsightsBox()
        self.insights.changed.connect(self.refresh_insights)
        self.tabs.addTab(self._padded(self.insights), icon("mdi6.chart-line"), "Insights")
        # Sources (scrolls: the instructions can be long)
        self.sources_box = SourcesBox()
        self.sources_box.enable_toggled.connect(self.set_enabled)
        self.sources_box.save_token_requested.connect(self.save_token)
        self.sources_box.clear_token_requested.connect(self.clear_token)
        self.sources_box.poll_requested.connect(self.poll)
        self.sources_box.channels_requested.connect(lambda _name: self.load_channels())
        self.sources_box.save_channels_requested.connect(lambda _name: self.save_channels())
        self.sources_box.save_config_requested.connect(lambda _name: self.save_youtube())
        self.sources_box.google_sign_in_requested.connect(self.google_sign_in)
        self.sources_box.sign_out_requested.connect(self.sign_out_youtube)
        self.sources_box.oauth_client_requested.connect(self.save_oauth_client)
        self.sources_box.verify_requested.connect(self.verify)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.reply_settings = ReplySettings()
        self.reply_settings.save_requested.connect(self.save_reply_settings)
        sources_page = QWidget()
        sources_layout = QVBoxLayout(sources_page)
        sources_layout.setContentsMargins(0, 0, 0, 0)
        sources_layout.addWidget(self.sources_box)
        sources_layout.addWidget(self.reply_settings)
        sources_layout.addStretch(1)
        scroll.setWidget(self._padded(sources_page))
        self.tabs.addTab(scroll, icon("mdi6.connection"), "Sources")
        self.tabs.currentChanged.connect(lambda _i: self.refresh_tab())
        # No page scroll: the parts are laid out to fit a laptop screen with the Jobs dock open (each
        # table and the thread scroll on their own), so the draft's buttons stay in view.
        body.addWidget(self.tabs, 1)

        # Triage keys; a focused text field takes its own keys first (ShortcutOverride).
        self.shortcuts = []
        for keys, slot in ((("J",), lambda: self.step(1)), (("K",), lambda: self.step(-1)),
                           (("Delete",), self.discard)):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
                self.shortcuts.append(shortcut)

        self.refresh_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh)
        host.bridge.event.connect(self._on_event)
        self.refresh()

    @staticmethod
    def _padded(widget: QWidget) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(widget, 1)
        return page

    @property
    def service(self) -> "CommunityService":
        return self.services.community

    # --- panel hooks -------------------------------------------------------------------------------
    def primary_action(self) -> None:
        """Ctrl+Enter: approve & send the opened draft (with the edits typed into it)."""
        if self.tabs.currentIndex() == 0:
            self.approve()

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.inbox.search_edit.setFocus()
        self.inbox.search_edit.selectAll()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.refresh_timer.start()

    def busy(self) -> bool:
        return any(not f.done() for f in self.futures.values())

    # --- running calls -----------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a service method; a failure shows inline (what to fix) and returns None."""
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the service says what is wrong; the panel shows it
            self._show_error(f"{what}: {reason(exc)}")
            return None
        return result

    def _try(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """`_call` for a call whose answer is not needed: whether it went through."""
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            self._show_error(f"{what}: {reason(exc)}")
            return False
        return True

    def _run(self, key: str, what: str, make: Callable[[], Awaitable[Any]],
             done: Callable[[Any], Any], failed: Callable[[str], Any] | None = None) -> asyncio.Future:
        """Run a coroutine on the loop (one per `key` at a time): `done(result)` after it, or the error
        shown (and `failed(reason)`) when it raises."""
        running = self.futures.get(key)
        if running is not None and not running.done():
            return running

        async def run() -> Any:
            try:
                result = await make()
            except Exception as exc:  # shown inline; the panel stays usable
                self.futures.pop(key, None)
                why = reason(exc)
                self._show_error(f"{what}: {why}")
                if failed is not None:
                    failed(why)
                return None
            self.futures.pop(key, None)  # finished: `done` sees the panel as no longer busy with it
            done(result)
            return result

        future = self.futures[key] = asyncio.ensure_future(run())
        return future

    def _show_error(self, text: str) -> None:
        self.last_error = text
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _clear_error(self) -> None:
        self._show_error("")

    # --- refreshing --------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.refresh_sources()
        self.refresh_inbox()
        self.refresh_tab()

    def refresh_tab(self) -> None:
        """The shown tab's data (members and insights are read only while shown)."""
        page = self.tabs.currentIndex()
        if page == 1:
            self.refresh_outbox()
        elif page == 2:
            self.refresh_members()
        elif page == 3:
            self.refresh_insights()
        elif page == 4:
            self.refresh_sources()

    @guarded("Could not read the sources")
    def refresh_sources(self) -> None:
        rows = self._call("Could not read the sources", self.service.sources.list_sources)
        if rows is None:
            return
        self.sources = list(rows)
        self.sources_box.show_sources(self.sources)
        config = self._call("Could not read the reply settings", self.service.settings.config)
        if config is not None:
            _total, characters = self.services.voices.characters.list_characters(limit=1000)
            self.reply_settings.show_config(config, characters)

    def save_reply_settings(self, changes: dict) -> None:
        try:
            result = self.service.settings.update_config(changes)
        except Exception as exc:  # shown beside Save (the group sits low on a scrolled page), the edits kept
            self.reply_settings.show_error(f"Not saved: {reason(exc)}")
            return
        self.reply_settings.show_saved(result)

    def _filters_changed(self) -> None:
        self.page = PAGE
        self.refresh_inbox()

    def show_more(self) -> None:
        self.page += PAGE
        self.refresh_inbox()

    @guarded("Could not read the inbox")
    def refresh_inbox(self) -> None:
        counts = self._call("Could not count the messages", self.service.inbox.counts)
        if counts is not None:
            self.counts = dict(counts)
            self.inbox.show_counts(self.counts)
            needs = self.counts.get("needs_reply") or 0
            self.tabs.setTabText(0, f"Inbox ({needs} to answer)" if needs else "Inbox")
        filters = self.inbox.filters()
        messages: list[dict[str, Any]] = []
        result: dict[str, Any] = {}
        while len(messages) < self.page:  # "Show more" pages beyond what one call returns
            result = self._call("Could not read the inbox", self.service.inbox.messages, **filters,
                                limit=min(MAX_PAGE, self.page - len(messages)), offset=len(messages))
            if result is None:
                return
            page = list(result.get("messages") or [])
            messages.extend(page)
            if not page or len(messages) >= int(result.get("total") or 0):
                break
        self.messages = messages
        self.total = max(int(result.get("total") or 0), len(messages))
        selected = self.current["id"] if self.current else None
        self.inbox.show_messages(self.messages, selected, self.total, "" if self.messages else self._empty_text(),
                                 capped=bool(result.get("total_capped")))
        if self.current is not None and not self.message_view.editing() and not self.busy_drafting():
            self.show_message(self.current["id"], mark_read=False)  # its replies may have moved on

    def _empty_text(self) -> str:
        if not (self.counts.get("all") or 0) and not self.inbox.filtered():
            if not any(s.get("enabled") for s in self.sources):
                return ("<b>No messages yet.</b><br>Connect Discord, Telegram or YouTube under <b>Sources</b> (each "
                        "card says step by step how to set it up), or read in past messages with <b>Import "
                        "messages</b> (top right): a DiscordChatExporter JSON, a Telegram Desktop export or a CSV.")
            return ("<b>Connected; no message read yet.</b><br>New messages arrive here as they are written. "
                    "<b>Check now</b> on a platform's card under Sources reads it at once.")
        if self.inbox.needs_reply_button.isChecked() and len(self.inbox.filters()) == 1:
            return "<b>Nothing waits for a reply.</b><br>Messages addressed to you that nobody has answered show here."
        return "No message matches these filters. Clear the search or choose All platforms / Any sentiment."

    @guarded("Could not read the outbox")
    def refresh_outbox(self) -> None:
        replies = self._call("Could not read the outbox", self.service.outbox.list_replies,
                             status=self.outbox.status() or ",".join(OUTBOX_STATUSES), limit=OUTBOX_LIMIT)
        if replies is None:
            return
        replies = list(replies)
        self.outbox.show_replies(replies, "No reply approved yet. Approve a draft in the Inbox: it is sent from "
                                          "here, once, and its state shows in this list."
                                 if not self.outbox.status() else "No reply in this state.")
        failed = sum(1 for r in replies if r.get("status") in ("failed", "unconfirmed"))
        self.tabs.setTabText(1, f"Outbox ({failed} to check)" if failed else "Outbox")

    @guarded("Could not read the members")
    def refresh_members(self) -> None:
        result = self._call("Could not read the members", self.service.members.list_members,
                            **self.members.filters(), limit=MEMBER_LIMIT)
        if result is None:
            return
        self.members.show_members(dict(result), "No member yet: people appear here as their messages are read or "
                                                "imported." if not self.members.filters()
                                  else "No member matches these filters.")

    @guarded("Could not compute the insights")
    def refresh_insights(self) -> None:
        days, platform = self.insights.filters()
        overview = self._call("Could not compute the overview", self.service.insights.overview, days)
        if overview is not None:
            self.insights.show_overview(dict(overview))
        try:
            series = self.service.insights.sentiment_series(platform, days)
        except Exception as exc:  # the chart says why instead
            self.insights.show_series([], f"No sentiment chart: {reason(exc)}")
        else:
            self.insights.show_series(list(series), "No messages in this period.")
        try:
            topics = self.service.topics.topics(days * 86400, platform=platform, limit=TOPIC_LIMIT)
        except Exception as exc:
            self.insights.show_topics([], f"No topics: {reason(exc)}")
        else:
            self.insights.show_topics(list(topics), "No topic in this period: topics come from the words people "
                                                    "use in their messages.")

    # --- the opened message ------------------------------------------------------------------------
    def show_message(self, message_id: str, *, mark_read: bool = True) -> dict[str, Any] | None:
        try:
            detail = self.service.inbox.message(message_id)
        except Exception as exc:  # UnknownMessage: gone since, or another error
            self.current = None
            self.message_view.show_message(None, f"This message can not be shown ({reason(exc)})")
            return None
        detail = dict(detail)
        if mark_read and detail.get("status") == "new":
            if self._try("Could not mark the message read", self.service.inbox.set_status, message_id, "read"):
                detail["status"] = "read"
                self.inbox.mark_read(message_id)
        self.current = detail
        self.message_view.show_message(detail)
        reply = current_reply(list(detail.get("replies") or []))
        can_draft = not detail.get("from_self")
        if reply is None and detail.get("needs_reply") and can_draft and message_id not in self.draft_failed:
            self.draft()  # the draft is what the person came for; nothing is sent without approval
        else:
            self.message_view.show_reply(reply, can_draft=can_draft, busy=self.busy_drafting())
        return detail

    def open_message(self, message_id: str) -> None:
        """From the outbox: the message in the inbox (all filters off, so it is in the list)."""
        self.tabs.setCurrentIndex(0)
        if not self.inbox.select_message(message_id):
            self.show_message(message_id, mark_read=False)

    def step(self, delta: int) -> str | None:
        """J/K: the next or previous message in the inbox."""
        if self.tabs.currentIndex() != 0:
            return None
        return self.inbox.step(delta)

    def busy_drafting(self) -> bool:
        """A draft of the opened message is being written."""
        future = self.futures.get(f"draft:{self.current['id']}") if self.current else None
        return future is not None and not future.done()

    def draft(self) -> asyncio.Future | None:
        """Ask the studio for a draft of the opened message (a coroutine: Ollama may take a while)."""
        message = self.current
        if message is None:
            return None
        message_id = message["id"]
        self.message_view.show_reply(None, can_draft=True, busy=True)

        self.draft_failed.discard(message_id)

        def done(reply: Any) -> None:
            if self.current and self.current["id"] == message_id:
                self.show_message(message_id, mark_read=False)

        def failed(why: str) -> None:
            self.draft_failed.add(message_id)
            if self.current and self.current["id"] == message_id:
                self.message_view.show_reply(None, can_draft=True, note=f"No draft: {why}")

        return self._run(f"draft:{message_id}", "The studio could not draft a reply",
                         lambda: self.service.drafts.draft_for_message(message_id), done, failed)

    def _open_reply(self) -> dict[str, Any] | None:
        reply = self.message_view.reply
        if self.current is None or reply is None:
            return None
        return reply

    def approve(self) -> dict[str, Any] | None:
        """Approve & send: the outbox sends it once; the next message opens."""
        reply = self._open_reply()
        if reply is None or reply.get("status") not in APPROVABLE:
            if self.current is not None:
                self.host.show_status("No draft to approve for this message")
            return None
        text = self.message_view.draft_text()
        if not text:
            self._show_error("The reply is empty: write something, or Discard it.")
            return None
        edited = text if text != (reply.get("text") or "").strip() else None
        result = self._call("The reply was not approved", self.service.outbox.approve, reply["id"], text=edited,
                            approved_by=approver())
        if result is None:
            return None
        self._clear_error()
        where = platform_label(self.current.get("platform"))
        self.host.show_status(f"Approved: the reply goes to {where} (Outbox shows when it is sent)", 6000)
        self.message_view.show_reply(dict(result), can_draft=False)
        if self.step(1) is None:
            self.refresh_timer.start()
        return dict(result)

    def edit(self) -> dict[str, Any] | None:
        """Edit: make the draft editable; pressed again (Save edit), keep the edited text as the draft."""
        reply = self._open_reply()
        if reply is None or reply.get("status") not in APPROVABLE:
            return None
        if not self.message_view.editing():
            self.message_view.start_editing()
            return None
        text = self.message_view.draft_text()
        if not text:
            self._show_error("The reply is empty: write something, or Discard it.")
            return None
        result = self._call("The edit was not saved", self.service.outbox.edit, reply["id"], text)
        if result is None:
            return None
        self._clear_error()
        self.message_view.show_reply(dict(result), can_draft=False)
        return dict(result)

    def discard(self) -> bool:
        """Delete / Discard: throw the draft away, mark the message as needing no reply, open the next."""
        if self.tabs.currentIndex() != 0 or self.current is None:
            return False
        reply = self._open_reply()
        if reply is not None and reply.get("status") in (*APPROVABLE, "approved"):
            if not self._try("The draft was not discarded", self.service.outbox.discard, reply["id"]):
                return False
        elif reply is not None:
            self.host.show_status(f"This reply is already {reply.get('status')}: it can not be discarded here")
            return False
        if self.current.get("status") not in ("answered", "dismissed"):
            if not self._try("The message was not dismissed", self.service.inbox.set_status, self.current["id"],
                             "dismissed"):
                return False
        self._clear_error()
        self.host.show_status("Discarded: the message needs no reply")
        if self.step(1) is None:
            self.show_message(self.current["id"], mark_read=False)
        self.refresh_timer.start()
        return True

    def set_label(self, label: str | None) -> dict[str, Any] | None:
        """Correct the opened message's sentiment label (None: back to the model's reading)."""
        if self.current is None:
            return None
        message_id = self.current["id"]
        result = self._call("The label was not changed", self.service.inbox.set_label, message_id, label)
        if result is None:
            return None
        self._clear_error()
        self.host.show_status(f"Marked {label}: kept as your label" if label else "Back to the reading from the text")
        self.refresh_inbox()
        return self.show_message(message_id, mark_read=False)

    # --- outbox ------------------------------------------------------------------------------------
    def discard_reply(self, reply_id: str) -> None:
        if self._try("The reply was not discarded", self.service.outbox.discard, reply_id):
            self._clear_error()
        self.refresh_outbox()

    def retry_reply(self, reply_id: str) -> None:
        if self._try("The reply was not queued again", self.service.outbox.approve, reply_id,
                     approved_by=approver()):
            self._clear_error()
            self.host.show_status("Queued again: the outbox sends it once")
        self.refresh_outbox()

    # --- members -----------------------------------------------------------------------------------
    def set_vip(self, member_id: str, vip: bool) -> None:
        if not self._try("The VIP mark was not changed", self.service.members.set_vip, member_id, vip):
            self.refresh_members()  # the checkbox goes back to what is stored
            return
        self._clear_error()
        selected = self.members.selected()
        if selected and selected["id"] == member_id:
            self.show_member(member_id)

    def show_member(self, member_id: str) -> dict[str, Any] | None:
        member = self._call("Could not read the member", self.service.members.member, member_id)
        self.members.show_profile(dict(member) if member is not None else None)
        return member

    def member_messages(self) -> None:
        member = self.members.selected()
        if member is None:
            return
        self.tabs.setCurrentIndex(0)
        self.inbox.set_member(member)

    # --- sources -----------------------------------------------------------------------------------
    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any] | None:
        result = self._call(f"Could not turn {platform_label(name)} {'on' if enabled else 'off'}",
                            self.service.sources.configure, name, enabled=enabled)
        if result is not None:
            self._clear_error()
            self.host.show_status(f"{platform_label(name)} {'on: new messages are read' if enabled else 'off'}")
        self.refresh_sources()
        return result

    def save_token(self, name: str) -> asyncio.Future | None:
        """Store the pasted token (write-only) and check it with the platform."""
        card = self.sources_box.card(name)
        token = card.token_edit.text().strip()
        card.token_edit.clear()  # never kept in the field, never shown back
        if not token:
            self._show_error(f"Paste the {platform_label(name)} {'API key' if name == 'youtube' else 'bot token'} "
                             "first.")
            return None
        if not self._try(f"Could not store the {platform_label(name)} token", self.service.sources.set_token, name,
                         token):
            return None
        self._clear_error()
        self.refresh_sources()
        return self.verify(name)

    def verify(self, name: str) -> asyncio.Future:
        def done(source: Any) -> None:
            source = source or {}
            if source.get("error") or source.get("status") == "error":  # the platform said no, and why
                self._show_error(f"{platform_label(name)}: {source.get('error') or 'the check failed'}")
            elif not source.get("identity"):  # no reason given, and no account either
                word = "API key" if name == "youtube" else "bot token"
                self._show_error(f"{platform_label(name)} did not confirm the {word}.")
            else:
                self._clear_error()
                who = (source.get("identity") or {}).get("username")
                self.host.show_status(f"{platform_label(name)}: the token works" + (f" (bot @{who})" if who else ""),
                                      6000)
            self.refresh_sources()

        return self._run(f"verify:{name}", f"{platform_label(name)} did not accept it",
                         lambda: self.service.sources.verify(name), done, lambda _why: self.refresh_sources())

    def clear_token(self, name: str) -> None:
        if self._try("Could not remove the token", self.service.sources.clear_token, name):
            self._clear_error()
            self.host.show_status(f"{platform_label(name)} token removed")
        self.refresh_sources()

    def poll(self, name: str) -> asyncio.Future:
        def done(result: Any) -> None:
            result = result or {}
            if result.get("error"):  # the poll ran and the platform said no: what it said
                self._show_error(f"{platform_label(name)}: {result['error']}")
            else:
                self._clear_error()
                self.host.show_status(f"{platform_label(name)} checked: {result.get('new', 0)} new messages", 6000)
            self.refresh()

        return self._run(f"poll:{name}", f"Could not read {platform_label(name)}",
                         lambda: self.service.live.poll(name), done, lambda _why: self.refresh_sources())

    def load_channels(self) -> asyncio.Future:
        """The text channels the Discord bot can see, to tick the ones to read."""
        card = self.sources_box.card("discord")
        chosen = {str(c.get("id")) for c in (card.source.get("config") or {}).get("channels") or []}

        def done(channels: Any) -> None:
            channels = list(channels or [])
            if not channels:
                self._show_error("The bot sees no text channel: invite it to your server first (the set-up steps "
                                 "on the Discord card say how).")
                return
            self._clear_error()
            card.show_channels(channels, chosen)

        return self._run("channels", "Could not list the Discord channels", self.service.sources.discord_channels,
                         done)

    def save_channels(self) -> dict[str, Any] | None:
        card = self.sources_box.card("discord")
        config = dict(card.source.get("config") or {})
        config["channels"] = card.chosen_channels()
        result = self._call("The channels were not saved", self.service.sources.configure, "discord", config=config)
        if result is not None:
            self._clear_error()
            n = len(config["channels"])
            self.host.show_status(f"Discord: reading {n} channel{'s' if n != 1 else ''}")
        self.refresh_sources()
        return result

    def save_youtube(self) -> dict[str, Any] | None:
        card = self.sources_box.card("youtube")
        config = dict(card.source.get("config") or {}) | card.youtube_config()
        result = self._call("The YouTube settings were not saved", self.service.sources.configure, "youtube",
                            config=config)
        if result is not None:
            self._clear_error()
            self.host.show_status("YouTube channel and videos saved")
        self.refresh_sources()
        return result

    def google_sign_in(self) -> asyncio.Future:
        """Google's consent page in the browser; the studio waits for it on a local address."""
        self.host.show_status("Sign in in your browser; the studio waits for Google's answer", 10000)

        def open_browser(url: str) -> None:
            QDesktopServices.openUrl(QUrl(url))

        def done(_result: Any) -> None:
            self._clear_error()
            self.host.show_status("Signed in with Google: approved YouTube replies can be posted", 6000)
            self.refresh_sources()

        return self._run("google", "Google sign-in did not finish",
                         lambda: self.service.sources.youtube_authorize(open_browser), done)

    def save_oauth_client(self) -> bool:
        """The Google Cloud OAuth client (Desktop app) Sign in with Google uses; write-only like the tokens."""
        card = self.sources_box.card("youtube")
        client_id, secret = card.client_id_edit.text().strip(), card.client_secret_edit.text().strip()
        card.client_secret_edit.clear()
        if not client_id or not secret:
            self._show_error("Paste both the OAuth client id and its client secret (Google Cloud console > "
                             "Credentials > your Desktop app client).")
            return False
        if not self._try("The OAuth client was not saved", self.service.sources.set_oauth_client, client_id, secret):
            return False
        card.client_id_edit.clear()
        self._clear_error()
        self.host.show_status("OAuth client saved: Sign in with Google is ready")
        self.refresh_sources()
        return True

    def sign_out_youtube(self) -> None:
        if self._try("Could not sign out", self.service.sources.sign_out_youtube):
            self._clear_error()
            self.host.show_status("Signed out of Google: YouTube replies wait until you sign in again")
        self.refresh_sources()

    # --- importing ---------------------------------------------------------------------------------
    def pick_import(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        name, _ = QFileDialog.getOpenFileName(self, "Import messages", start, MESSAGES_FILTER)
        if name:
            self.preview_import(Path(name))

    def preview_import(self, path: Path, *, ask: bool = True) -> ImportPreview | asyncio.Future | None:
        """Read `path`, show what it holds, import it when the user agrees (`ask=False`: the preview
        dialog is returned unopened, for tests and scripts)."""
        try:
            data = path.read_bytes()
            preview = self.service.imports.preview(data, path.name)
        except Exception as exc:  # unreadable file, CommunityError naming the line or message to fix
            QMessageBox.warning(self, "Not a messages file", f"{path.name} could not be read:\n\n{reason(exc)}\n\n"
                                f"{IMPORT_HELP}")
            return None
        dialog = ImportPreview(path.name, dict(preview), self)
        self.pending_import = (data, path.name)
        if not ask:
            return dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return self.import_pending()
        self.pending_import = None
        return None

    def import_pending(self) -> asyncio.Future | None:
        """Import the previewed file on the loop (the service stores it in a worker thread)."""
        if self.pending_import is None:
            return None
        data, filename = self.pending_import
        self.pending_import = None
        self.import_button.setEnabled(False)
        self.import_button.setText("Importing…")

        def finish() -> None:
            self.import_button.setEnabled(True)
            self.import_button.setText("Import messages…")

        def done(result: Any) -> None:
            finish()
            self._clear_error()
            result = result or {}
            self.host.show_status(f"Imported {result.get('imported', 0)} messages from {result.get('file', filename)}"
                                  + (f" ({result['duplicates']} already stored)" if result.get("duplicates") else ""),
                                  8000)
            self.refresh()

        return self._run("import", "The import failed",
                         lambda: self.service.imports.import_file(data, filename), done, lambda _why: finish())

    # --- live events -------------------------------------------------------------------------------
    def _on_event(self, name: str, data: dict) -> None:
        if name == "community_mention" and data.get("user"):
            self.host.show_status(f"New message to answer from {data['user']} on "
                                  f"{platform_label(data.get('platform'))}", 6000)
        if name.startswith("community_"):
            self.refresh_timer.start()
