"""The training-data export: answered messages with who drafted and who approved each reply, the
user's label corrections, in JSON, JSONL and CSV, within the period."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.messages import InboundMessage
from studio.db.models import CommunityReply
from studio.services.community.common import CommunityError
from studio.services.community.training import CSV_COLUMNS, PERSON_ON_PLATFORM

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def msg(n: int, author: str, text: str, *, days_ago: float, from_self: bool = False, reply_to: str | None = None,
        reactions: int = 0) -> InboundMessage:
    return InboundMessage(platform="discord", channel_id="c1", message_id=str(n), author_id=author, author_name=author,
                          text=text, sent_at=NOW - timedelta(days=days_ago), reply_to_id=reply_to,
                          mentions_bot=not from_self, from_self=from_self, reactions=reactions)


@pytest.fixture
def training(services):
    community = services.community
    community.training.clock = lambda: NOW
    community.ingest.store([
        msg(1, "ana", "can you recommend relaxing music?", days_ago=2),
        msg(2, "bo", "this mix is awful", days_ago=3),
        msg(3, "cy", "old question", days_ago=60),
        msg(4, "eve", "love it", days_ago=1),
        # the studio's reply to 1, read back from the channel with its reactions
        msg(100, "bot", "Try Evening Calm", days_ago=1.9, from_self=True, reply_to="1", reactions=4),
        # the user answering 2 by hand on Discord
        msg(101, "bot", "thanks, fixing the low end", days_ago=2.5, from_self=True, reply_to="2", reactions=1),
        msg(102, "bot", "sure", days_ago=59, from_self=True, reply_to="3"),  # outside a 30-day period
    ])
    page = community.inbox.messages(limit=10)["messages"]
    ids = {m["external_id"]: m["id"] for m in page}
    community.inbox.set_label(ids["4"], "neutral")  # the user's correction of "love it"
    with services.context.db.session() as s:
        s.add(CommunityReply(id="reply_a", message_id=ids["1"], platform="discord", channel_id="c1",
                             text="Try Evening Calm", drafted_text="Try Evening Calm, it is calm", drafted_by="studio",
                             status="sent", approved_by="tests (API key)", platform_message_id="100",
                             sent_at=NOW - timedelta(days=1.9), created_at=NOW - timedelta(days=2), updated_at=NOW))
        s.add(CommunityReply(id="reply_b", platform="discord", text="a /respond draft", drafted_by="studio",
                             status="sent", sent_at=NOW - timedelta(days=1), created_at=NOW, updated_at=NOW))
        s.add(CommunityReply(id="reply_c", message_id=ids["4"], platform="discord", channel_id="c1", text="draft",
                             drafted_by="studio", status="draft", created_at=NOW, updated_at=NOW))
    return community.training


def test_json_samples_say_who_drafted_and_who_approved(training):
    media_type, data = training.export("json", 30)
    assert media_type == "application/json"
    assert data["total_interactions"] == 3  # ana, bo, eve within 30 days
    assert data["successful_responses"] == 2 and data["skipped"] == {"replies_without_stored_message": 1}
    studio, person = data["training_samples"]
    assert studio["input"] == "can you recommend relaxing music?" and studio["response"] == "Try Evening Calm"
    assert studio["drafted_by"] == "studio" and studio["drafted_by_studio"] is True and studio["edited"] is True
    assert studio["approved_by"] == "tests (API key)" and studio["auto"] is False
    assert studio["engagement"] == 4  # the reactions on its copy read back from the channel
    assert studio["platform"] == "discord" and studio["reply_id"] == "reply_a"
    assert person["response"] == "thanks, fixing the low end" and person["drafted_by"] == PERSON_ON_PLATFORM
    assert person["drafted_by_studio"] is False and person["approved_by"] is None and person["engagement"] == 1
    assert person["input_sentiment"] == "negative" and person["label_source"] == "model"
    assert data["labelled_messages"] == [{"text": "love it", "label": "neutral", "model_label": "positive",
                                          "platform": "discord", "labelled_at": data["labelled_messages"][0]["labelled_at"],
                                          "sent_at": "2026-11-29T12:00:00Z",
                                          "message_id": data["labelled_messages"][0]["message_id"]}]
    assert data["reasons"] == {}

    wide = training.export("json", 90)[1]
    assert wide["successful_responses"] == 3 and wide["training_samples"][-1]["response"] == "sure"


def test_jsonl_and_csv_files(training):
    media_type, body = training.export("jsonl", 30)
    assert media_type == "application/x-ndjson"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [line["kind"] for line in lines] == ["reply", "reply", "label"]
    assert lines[2]["input"] == "love it" and lines[2]["input_sentiment"] == "neutral" and lines[2]["label_source"] == "user"

    media_type, body = training.export("csv", 30)
    assert media_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3
    assert rows[0]["approved_by"] == "tests (API key)" and rows[0]["drafted_by_studio"] == "True"
    assert rows[2]["kind"] == "label" and rows[2]["model_label"] == "positive" and rows[2]["response"] == ""


def test_nothing_answered_and_bad_input(services):
    services.community.training.clock = lambda: NOW
    data = services.community.training.export("json", 7)[1]
    assert data["training_samples"] == [] and "training_samples" in data["reasons"]
    with pytest.raises(CommunityError, match="format"):
        services.community.training.export("xml", 7)
    with pytest.raises(CommunityError, match="period"):
        services.community.training.export("json", 0)
