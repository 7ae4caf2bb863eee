"""The Community panel against the real community service, with messages stored through its ingest
(`services.community.ingest.store`): empty states, the inbox filters, a draft approved through the
outbox (button and Ctrl+Enter) and sent once by a fake Telegram client, the triage keys (J/K,
Delete), correcting a sentiment label, the import preview, write-only tokens and a rejected one
explained inline, the Discord channel picker, members with VIP, insights cards and charts.

Platform clients are replaced through `sources.clients` (no network); secrets go to a file."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from studio.connectors.charts import SourceError
from studio.connectors.messages import InboundMessage
from studio.services.system.secrets import Secrets
from studio.ui.panels.community.panel import CommunityPanel

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


def inbound(platform, channel, mid, author, name, text, minutes_ago, *, mention=False, reply_to=None,
            channel_name=None, from_self=False) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id=channel, message_id=mid, author_id=author, author_name=name,
                          text=text, sent_at=NOW - timedelta(minutes=minutes_ago), channel_name=channel_name,
                          mentions_bot=mention, reply_to_id=reply_to, from_self=from_self, reactions=1)


MESSAGES = [
    inbound("discord", "c1", "1", "u1", "Mia", "@studio love this track, what did you use for the drums?", 50,
            mention=True, channel_name="general"),
    inbound("discord", "c1", "2", "u2", "Theo", "the mix is awful, the vocals are terrible", 40, channel_name="general"),
    inbound("telegram", "t1", "3", "u3", "Ana", "thank you, this is wonderful", 30, mention=True),
    inbound("youtube", "vid1", "4", "u4", "Kai", "great video, any chance of a lofi version?", 20, mention=True),
    inbound("discord", "c1", "5", "u1", "Mia", "@studio also, is the sample pack out?", 10, mention=True,
            reply_to="1", channel_name="general"),
]


class FakeTelegram:
    """A stand-in for the Telegram client (`sources.clients`): who the bot is, and what it sent."""

    def __init__(self, *, rejected: bool = False) -> None:
        self.rejected = rejected
        self.sent: list[tuple[str, str, str | None]] = []

    async def get_me(self) -> dict:
        if self.rejected:
            raise SourceError("telegram", "the bot token was rejected (401)", fatal=True, status=401)
        return {"id": 77, "username": "studio_bot", "can_read_all_group_messages": True}

    async def send(self, chat_id: str, text: str, *, reply_to: str | None = None) -> str:
        self.sent.append((chat_id, text, reply_to))
        return "9001"


class FakeDiscord:
    async def guilds(self) -> list[dict]:
        return [{"id": "500000001", "name": "Beat Lab"}]

    async def channels(self, guild_id: str) -> list[dict]:
        return [{"id": "600000001", "name": "general", "guild_id": guild_id},
                {"id": "600000002", "name": "feedback", "guild_id": guild_id}]


@pytest.fixture
def community(services, tmp_path):
    """services.community with its secrets in a file (never the OS keyring)."""
    service = services.community
    service.sources.secrets = Secrets(tmp_path / "secrets", keyring_backend=fail.Keyring())
    return service


@pytest.fixture
def panel(community, window) -> CommunityPanel:
    panel = window.show_panel("community")
    assert isinstance(panel, CommunityPanel)
    panel.refresh()
    return panel


@pytest.fixture
def stored(community, panel):
    community.ingest.store(MESSAGES)
    panel.refresh()
    return panel


def rows(panel) -> list[str]:
    table = panel.inbox.table
    return [table.item(r, 2).text() for r in range(table.rowCount())]


def wait(qt_loop, future):
    return qt_loop.run_until_complete(asyncio.wait_for(asyncio.shield(future), 10))


def open_message(panel, qt_loop, text_start: str) -> dict:
    message_id = next(m["id"] for m in panel.messages if m["text"].startswith(text_start))
    assert panel.inbox.select_message(message_id)
    future = panel.futures.get(f"draft:{message_id}")
    if future is not None:
        wait(qt_loop, future)
    assert panel.current["id"] == message_id
    return panel.current


def test_empty_states_say_what_to_connect(panel):
    assert panel.inbox.stack.currentWidget() is panel.inbox.empty_label
    text = panel.inbox.empty_label.text()
    assert "Sources" in text and "Import messages" in text and "DiscordChatExporter" in text
    assert "Select a message" in panel.message_view.title_label.text()
    assert not panel.message_view.approve_button.isEnabled()
    panel.tabs.setCurrentIndex(1)
    assert "Approve a draft in the Inbox" in panel.outbox.empty_label.text()
    panel.tabs.setCurrentIndex(2)
    assert "No member yet" in panel.members.empty_label.text()
    panel.tabs.setCurrentIndex(4)
    card = panel.sources_box.card("discord")
    assert card.help_label.isVisibleTo(panel) and "<ol" in card.help_label.text()  # nothing set up: steps open
    assert "No bot token stored" in card.token_state.text()


def test_filters(stored, qtbot):
    panel = stored
    assert len(rows(panel)) == 5 and rows(panel)[0].startswith("@studio also")  # newest first
    assert panel.inbox.needs_reply_button.text() == "Needs reply (4)"
    assert panel.tabs.tabText(0) == "Inbox (4 to answer)"
    panel.inbox.platform_combo.setCurrentIndex(panel.inbox.platform_combo.findData("discord"))
    assert len(rows(panel)) == 3 and {m["platform"] for m in panel.messages} == {"discord"}
    panel.inbox.needs_reply_button.setChecked(True)
    assert len(rows(panel)) == 2
    panel.inbox.platform_combo.setCurrentIndex(0)
    panel.inbox.needs_reply_button.setChecked(False)
    panel.inbox.sentiment_combo.setCurrentIndex(panel.inbox.sentiment_combo.findData("negative"))
    assert rows(panel) == ["the mix is awful, the vocals are terrible"]
    assert panel.inbox.table.item(0, 3).text() == "negative"
    panel.inbox.sentiment_combo.setCurrentIndex(0)
    panel.inbox.search_edit.setText("lofi")
    qtbot.waitUntil(lambda: len(rows(panel)) == 1, timeout=3000)  # debounced
    assert rows(panel)[0].startswith("great video")
    panel.inbox.search_edit.setText("nothing like this")
    qtbot.waitUntil(lambda: panel.inbox.stack.currentWidget() is panel.inbox.empty_label, timeout=3000)
    assert "No message matches these filters" in panel.inbox.empty_label.text()


def test_approve_sends_through_the_outbox(stored, community, qt_loop):
    panel = stored
    message = open_message(panel, qt_loop, "thank you")  # a mention: the draft is written when it opens
    view = panel.message_view
    assert view.reply is not None and view.reply["status"] == "draft"
    assert view.draft_edit.toPlainText() == view.reply["text"] and view.draft_edit.isReadOnly()
    assert view.approve_button.isEnabled() and view.edit_button.isEnabled()
    view.edit_button.click()
    assert view.editing()
    view.draft_edit.setPlainText("Thank you Ana, glad you like it")
    view.approve_button.click()
    replies = community.outbox.list_replies(status="approved")
    assert len(replies) == 1 and replies[0]["message_id"] == message["id"]
    assert replies[0]["text"] == "Thank you Ana, glad you like it" and replies[0]["edited"]
    assert "(desktop app)" in replies[0]["approved_by"]
    assert panel.current["id"] != message["id"]  # on to the next message
    panel.tabs.setCurrentIndex(1)
    assert panel.outbox.table.rowCount() == 1 and "approved" in panel.outbox.table.item(0, 0).text()


def test_triage_keys(stored, community, window, qt_loop, qtbot):
    panel = stored
    window.activateWindow()
    table = panel.inbox.table
    table.setFocus()
    first = open_message(panel, qt_loop, "@studio also")
    assert "J or ↓" in table.toolTip() and "Delete" in panel.message_view.discard_button.toolTip()
    assert "Ctrl+Enter" in panel.message_view.approve_button.toolTip()
    qtbot.keyClick(table, Qt.Key.Key_J)
    assert panel.current["text"].startswith("great video")
    qtbot.keyClick(table, Qt.Key.Key_K)
    assert panel.current["id"] == first["id"]
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert panel.current["text"].startswith("great video")
    if future := panel.futures.get(f"draft:{panel.current['id']}"):
        wait(qt_loop, future)
    draft = panel.message_view.reply
    # typing in the draft keeps its keys
    panel.message_view.edit_button.click()
    qtbot.keyClick(panel.message_view.draft_edit, Qt.Key.Key_J)
    assert panel.current["text"].startswith("great video") and panel.message_view.draft_text().endswith("j")
    # Ctrl+Enter (the window's panel action) approves the edited text
    qtbot.keyClick(panel.message_view.draft_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert community.outbox.list_replies(status="approved")[0]["id"] == draft["id"]
    assert community.outbox.list_replies(status="approved")[0]["text"].endswith("j")
    # Delete discards the draft and dismisses the message
    current = open_message(panel, qt_loop, "thank you")
    draft = panel.message_view.reply
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert community.outbox.list_replies(status="discarded")[0]["id"] == draft["id"]
    assert community.inbox.message(current["id"])["status"] == "dismissed"
    assert panel.current["id"] != current["id"]


def test_label_correction(stored, community, qt_loop):
    panel = stored
    message = open_message(panel, qt_loop, "the mix is awful")
    assert message["sentiment"]["label"] == "negative"
    actions = panel.message_view.label_actions
    actions["neutral"].trigger()
    stored_now = community.inbox.message(message["id"])["sentiment"]
    assert stored_now["label"] == "neutral" and stored_now["label_source"] == "user"
    assert "your label" in panel.message_view.sentiment_label.text()
    assert "the text reads negative" in panel.message_view.sentiment_label.toolTip()
    row = panel.inbox.message_ids().index(message["id"])
    assert panel.inbox.table.item(row, 3).text() == "neutral ✎"
    actions[None].trigger()
    assert community.inbox.message(message["id"])["sentiment"]["label_source"] == "model"


def test_import_shows_a_preview_first(panel, community, tmp_path, qt_loop, qtbot):
    path = tmp_path / "history.csv"
    path.write_text("platform,author,time,text\ndiscord,Rin,2026-01-02 10:00:00,first!\n"
                    "discord,Sol,2026-01-02 11:00:00,nice groove\n")
    dialog = panel.preview_import(path, ask=False)
    assert "CSV" in dialog.summary.text() and "2 messages" in dialog.summary.text()
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, 3).text() == "first!"
    assert "Import 2 messages" in dialog.import_button.text()
    assert community.inbox.messages()["total"] == 0  # nothing imported before the user agrees
    result = wait(qt_loop, panel.import_pending())
    assert result["imported"] == 2 and panel.import_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.messages) == 2, timeout=3000)
    assert "imported from history.csv" in panel.inbox.table.item(0, 1).toolTip()


def test_a_bad_file_is_explained(panel, tmp_path, message_boxes):
    path = tmp_path / "notes.csv"
    path.write_text("colour,shape\nred,round\n")
    assert panel.preview_import(path, ask=False) is None
    kind, title, text = message_boxes[-1]
    assert kind == "warning" and "notes.csv" in text and "DiscordChatExporter" in text


def test_tokens_are_write_only_and_a_rejected_one_says_why(panel, community, qt_loop):
    panel.tabs.setCurrentIndex(4)
    card = panel.sources_box.card("telegram")
    assert card.token_edit.echoMode() == QLineEdit.EchoMode.Password
    assert "@BotFather" in card.help_label.text()  # the service's set-up steps
    community.sources.clients["telegram"] = FakeTelegram(rejected=True)
    card.token_edit.setText("123456:secret-token-value")
    future = panel.save_token("telegram")
    assert community.sources.secrets.get("community.telegram.token") == "123456:secret-token-value"
    assert card.token_edit.text() == ""
    wait(qt_loop, future)  # checked before the source is turned on: the platform's reason shows all the same
    assert "Telegram: the bot token was rejected" in panel.last_error and panel.error_label.isVisibleTo(panel)
    assert "rejected" in card.status_label.text()
    card.enabled_check.setChecked(True)
    wait(qt_loop, panel.verify("telegram"))
    assert "the bot token was rejected" in panel.last_error
    assert "Error" in card.status_label.text() and "rejected" in card.status_label.text()
    shown = " ".join(w.text() for w in card.findChildren(QLabel)) + panel.last_error
    assert "secret-token-value" not in shown and "Bot token stored (••••" in card.token_state.text()
    community.sources.clients["telegram"] = FakeTelegram()
    wait(qt_loop, panel.verify("telegram"))
    assert panel.last_error == ""
    panel.save_token("telegram")  # nothing pasted
    assert "Paste the Telegram bot token first" in panel.last_error
    panel.clear_token("telegram")
    assert community.sources.secrets.get("community.telegram.token") is None
    assert "No bot token stored" in card.token_state.text()


def test_discord_channel_picker(panel, community, qt_loop):
    panel.tabs.setCurrentIndex(4)
    community.sources.set_token("discord", "discord-bot-token-123")
    community.sources.clients["discord"] = FakeDiscord()
    panel.refresh_sources()
    card = panel.sources_box.card("discord")
    assert "No channel chosen yet" in card.channels_label.text() and card.pick_button.isEnabled()
    wait(qt_loop, panel.load_channels())
    assert card.channels_list.count() == 2 and "#general" in card.channels_list.item(0).text()
    card.channels_list.item(1).setCheckState(Qt.CheckState.Checked)
    panel.save_channels()
    assert community.sources.get("discord")["config"]["channels"] == [
        {"id": "600000002", "name": "feedback", "guild_id": "500000001"}]
    assert "Reads #feedback" in card.channels_label.text()


def test_an_approved_reply_is_sent_once_and_the_outbox_says_so(stored, community, qt_loop, services):
    panel = stored
    telegram = FakeTelegram()
    community.sources.clients["telegram"] = telegram
    community.sources.set_token("telegram", "123456:secret-token-value")
    community.sources.configure("telegram", enabled=True)
    open_message(panel, qt_loop, "thank you")
    reply = panel.approve()
    assert reply["status"] == "approved"
    sent = qt_loop.run_until_complete(community.outbox.send_one(reply["id"]))
    assert sent["status"] == "sent" and sent["platform_message_id"] == "9001"
    assert len(telegram.sent) == 1 and telegram.sent[0][0] == "t1"
    panel.tabs.setCurrentIndex(1)
    panel.refresh_outbox()
    table = panel.outbox.table
    assert table.rowCount() == 1 and table.item(0, 0).text() == "sent"
    assert panel.outbox.select_reply(reply["id"]) and "message id 9001" in panel.outbox.detail_label.text()
    assert not panel.outbox.retry_button.isEnabled() and not panel.outbox.discard_button.isEnabled()


def test_members_vip_and_profile(stored, community):
    panel = stored
    panel.tabs.setCurrentIndex(2)
    names = [panel.members.table.item(r, 1).text() for r in range(panel.members.table.rowCount())]
    assert sorted(names) == ["Ana", "Kai", "Mia", "Theo"]
    mia = next(m for m in panel.members.members if m["username"] == "Mia")
    assert panel.members.select_member(mia["id"])
    assert "Mia" in panel.members.profile_title.text() and "Messages</b>: 2" in panel.members.profile_label.text()
    assert "10 × r ÷ (r + 1)" in panel.members.profile_label.text()
    panel.members.vip_check(mia["id"]).setChecked(True)
    assert community.members.member(mia["id"])["vip_status"] is True
    panel.members.messages_button.click()
    assert panel.tabs.currentIndex() == 0 and {m["author"]["name"] for m in panel.messages} == {"Mia"}


def test_insights_cards_and_charts(stored, community):
    panel = stored
    panel.tabs.setCurrentIndex(3)
    overview = community.insights.overview(30)
    cards = panel.insights.cards
    assert cards["total_members"].value.text() == str(overview["overview"]["total_members"])
    missing = [key for key, value in overview["overview"].items() if value is None and key in cards]
    assert missing  # nothing was sent: the share answered by the bots is unknown, and says why
    for key in missing:
        assert cards[key].value.text() == "–" and cards[key].why.text() == overview["reasons"][f"overview.{key}"]
    chart = panel.insights.sentiment_chart
    series = community.insights.sentiment_series(None, 30)
    if any(p["positive"] + p["neutral"] + p["negative"] for p in series):
        assert chart.currentWidget() is chart.page and len(chart.days) == len(series)
    topics = community.topics.topics(30 * 86400, platform=None, limit=10)
    shown = panel.insights.topics_chart
    assert len(shown.topics) == sum(1 for t in topics if t["mentions"])


def test_live_events_refresh_the_inbox(panel, community, services, qtbot):
    community.ingest.store(MESSAGES[:2])
    services.events.publish("community_messages", {"new": 2, "platforms": ["discord"]})
    qtbot.waitUntil(lambda: len(panel.messages) == 2, timeout=3000)


def test_reply_settings_are_saved_through_the_service(panel, community, services):
    services.voices.characters.initialize()
    panel.refresh_sources()
    box = panel.reply_settings
    assert box.automation_spin.value() == 0 and box.character_combo.currentData() is None
    assert box.character_combo.itemText(0) == "No character (plain)" and box.character_combo.count() > 1
    character_id = box.character_combo.itemData(1)
    box.character_combo.setCurrentIndex(1)
    box.automation_spin.setValue(25)
    box.delay_min_spin.setValue(30)
    box.delay_max_spin.setValue(90)
    box.save_button.click()
    config = community.settings.config()
    assert config["automation_level"] == 25
    assert config["response_delay"] == {"min_seconds": 30, "max_seconds": 90}
    assert config["character_id"] == character_id
    assert box.result_label.text().startswith("Saved.")
    assert "no Discord or Telegram message addressed to you" in box.result_label.text()  # no basis: why
    box.personal_check.setChecked(False)
    assert not box.history_check.isEnabled()
    box.save_button.click()
    assert community.settings.config()["personalization"]["enabled"] is False


def test_a_bad_response_delay_shows_the_services_message(panel, community):
    panel.tabs.setCurrentIndex(4)
    box = panel.reply_settings
    box.delay_min_spin.setValue(600)
    box.delay_max_spin.setValue(60)
    box.save_button.click()
    assert box.error_label.isVisibleTo(panel)
    assert "max_seconds (60) must not be below min_seconds (600)" in box.error_label.text()
    assert community.settings.config()["response_delay"]["min_seconds"] != 600
    panel.refresh_sources()  # a refresh (a poll's event) keeps what is being edited
    assert box.delay_min_spin.value() == 600
    box.delay_max_spin.setValue(900)
    box.save_button.click()
    assert not box.error_label.isVisibleTo(panel) and box.result_label.text().startswith("Saved.")
    assert community.settings.config()["response_delay"] == {"min_seconds": 600, "max_seconds": 900}


def test_the_thread_shows_the_message_between_what_it_answers_and_its_replies(panel):
    detail = {"id": "msg_b", "external_id": "2", "author": {"name": "Bo"}, "text": "the middle one",
              "thread": [{"id": "msg_a", "external_id": "1", "author": {"name": "Ana"}, "text": "the first one"},
                         {"id": "msg_c", "external_id": "3", "reply_to_external_id": "2", "from_self": True,
                          "author": {"name": "StudioBot"}, "text": "the answer"}]}
    html = panel.message_view._thread_html(detail)
    assert html.index("the first one") < html.index("the middle one") < html.index("the answer")
