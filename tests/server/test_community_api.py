"""/api/community/...: the nine seed paths with their documented fields, the inbox/outbox/sources
routes the panel's actions have for scripting, bad input -> 4xx with a message, write-only tokens,
the rate-limit group. Messages come through the ingest (fixed set, no clock dependence) or an
imported CSV; no network anywhere (sources stay off; the outbox has no running sender)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import FormData

from studio.connectors.messages import InboundMessage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=12)  # the figures' clock: the messages are an hour old
SEED_PATHS = ("/api/community/initialize", "/api/community/analytics", "/api/community/respond",
              "/api/community/sentiment", "/api/community/members", "/api/community/config",
              "/api/community/platforms", "/api/community/engagement", "/api/community/training-data")


class FakeSecrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name):
        return self.values.get(name)

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        self.values.pop(name, None)

    def has(self, name):
        return name in self.values

    def masked(self, name):
        return "••••" + self.values[name][-4:] if name in self.values else None


def msg(n: int, text: str, *, author: str = "u1", name: str = "Ana", platform: str = "discord",
        mention: bool = True) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id="c1", message_id=str(n), author_id=author, author_name=name,
                          text=text, sent_at=T0 + timedelta(minutes=n), mentions_bot=mention)


class FakeTelegram:
    """A bot that answers getMe and has one message waiting (no network)."""

    async def get_me(self):
        return {"id": "555", "username": "studio_bot", "can_read_all_group_messages": False}

    async def updates(self, offset, *, timeout_s=25, bot_username=None):
        if offset:
            return [], offset
        return [msg(9, "hello from the bot's chat", author="t2", name="Di", platform="telegram")], 10


async def _json(resp, status=200):
    data = await resp.json()
    assert resp.status == status, data
    return data


@pytest.fixture
def community(running_services):
    community = running_services.community
    community.sources.secrets = FakeSecrets()
    for part in (community.settings, community.members, community.topics, community.insights, community.training):
        part.clock = lambda: NOW
    running_services.community.ingest.store([
        msg(1, "can you recommend some lo-fi for coding?"),
        msg(2, "the mix is muddy", author="u2", name="Bo", mention=False),
        msg(3, "new release when?", author="t1", name="Cy", platform="telegram")])
    return community


async def test_seed_paths_answer_with_their_documented_fields(api, community):
    h = api.auth_headers
    init = await _json(await api.post("/api/community/initialize", headers=h))
    assert init["status"] == "success" and init["platforms_connected"] == 0 and init["automation_level"] == 0
    assert "estimated_daily_interactions" in init and "platforms_connected" in init["reasons"]

    analytics = await _json(await api.get("/api/community/analytics?period=30d", headers=h))
    assert analytics["period"] == "30d" and analytics["overview"]["total_members"] == 3
    assert analytics["overview"]["daily_interactions"] == round(3 / 30, 1)
    assert set(analytics["overview"]) >= {"total_members", "daily_interactions", "automation_percentage",
                                          "sentiment_score", "growth_rate", "engagement_improvement"}
    assert {p["platform"] for p in analytics["platform_breakdown"]} == {"discord", "telegram", "youtube"}
    assert set(analytics["platform_breakdown"][0]) == {"platform", "members", "daily_messages", "ai_responses",
                                                       "sentiment"}

    sentiment = await _json(await api.get("/api/community/sentiment?platform=all&period=24h", headers=h))
    assert sentiment["period"] == "24h" and set(sentiment["overall_sentiment"]) >= {"score", "trend", "change"}
    assert set(sentiment["platform_sentiment"][0]) >= {"platform", "score", "positive_mentions", "negative_mentions",
                                                       "neutral_mentions"}
    assert sentiment["overall_sentiment"]["messages"] == 3
    assert {t["topic"] for t in sentiment["trending_topics"]} == {"requests", "mixing", "new_release"}

    members = await _json(await api.get("/api/community/members?platform=discord&status=active&limit=50", headers=h))
    assert members["total_members"] == 2 and "active_members" in members
    everyone = await _json(await api.get("/api/community/members?limit=50", headers=h))
    ana = next(m for m in everyone["members"] if m["username"] == "Ana")
    assert set(ana) >= {"id", "username", "platform", "join_date", "activity_level", "total_messages",
                        "favorite_genres", "engagement_score", "vip_status"}
    assert ana["favorite_genres"] == ["lofi_hip_hop"]

    config = await _json(await api.put("/api/community/config", headers=h, json={
        "automation_level": 95, "response_delay": {"min_seconds": 30, "max_seconds": 300},
        "personalization": {"enabled": True, "use_member_history": True, "mention_preferences": True},
        "content_promotion": {"frequency": "daily", "max_per_day": 3, "target_engagement": 8.0}}))
    assert config["config_updated"] is True and config["effective_immediately"] is True
    assert "estimated_daily_responses" in config and "content_promotion" in config["not_applied"]
    current = await _json(await api.get("/api/community/config", headers=h))
    assert current["config"]["automation_level"] == 95 and current["config"]["response_delay"]["max_seconds"] == 300

    platforms = await _json(await api.get("/api/community/platforms", headers=h))
    by_name = {p["name"]: p for p in platforms["platforms"]}
    assert set(by_name) == {"discord", "telegram", "youtube"}
    assert by_name["discord"]["status"] == "disabled" and by_name["discord"]["bot_online"] is False
    assert by_name["discord"]["members"] == 2 and by_name["youtube"]["bot_online"] is None
    assert "bot_online" in by_name["youtube"]["reasons"] and "last_response" in by_name["telegram"]["reasons"]

    engagement = await _json(await api.get("/api/community/engagement?content_id=muddy", headers=h))
    assert engagement["content_id"] == "muddy" and engagement["engagement"]["comments"] == 1
    assert set(engagement["engagement"]) == {"total_interactions", "likes", "comments", "shares", "saves",
                                             "engagement_rate"}
    await _json(await api.get("/api/community/engagement?content_id=trk_nope", headers=h), 404)

    training = await _json(await api.get("/api/community/training-data?format=json&period=30d", headers=h))
    assert training["period"] == "30d" and training["total_interactions"] == 3
    assert training["successful_responses"] == 0 and training["training_samples"] == []

    respond = await _json(await api.post("/api/community/respond", headers=h, json={
        "platform": "discord", "message_content": "Hey, can you recommend some good lo-fi tracks for coding?",
        "user_context": {"username": "DevCoder99", "join_date": "2024-01-10", "activity_level": "high",
                         "preferences": ["programming", "lofi", "productivity"]},
        "response_type": "helpful_recommendation"}))
    response = respond["response"]
    assert set(response) >= {"content", "tone", "personalization_score", "estimated_engagement"}
    assert "DevCoder99" in response["content"]
    assert response["estimated_engagement"] is None and "estimated_engagement" in response["reasons"]

    spec = await _json(await api.get("/openapi.json", headers=h))
    for path in SEED_PATHS:
        assert path in spec["paths"], path


async def test_inbox_drafts_and_approval_in_the_callers_name(api, community):
    h = api.auth_headers
    page = await _json(await api.get("/api/community/messages?needs_reply=true&platform=discord", headers=h))
    assert page["total"] == 1 and page["messages"][0]["text"].startswith("can you recommend")
    message_id = page["messages"][0]["id"]
    detail = await _json(await api.get(f"/api/community/messages/{message_id}", headers=h))
    assert detail["message"]["id"] == message_id and detail["message"]["thread"] == []

    labelled = await _json(await api.patch(f"/api/community/messages/{message_id}", headers=h,
                                           json={"label": "negative", "status": "read"}))
    assert labelled["message"]["sentiment"]["label_source"] == "user" and labelled["message"]["status"] == "read"
    reset = await _json(await api.patch(f"/api/community/messages/{message_id}", headers=h, json={"label": None}))
    assert reset["message"]["sentiment"]["label_source"] == "model"

    draft = (await _json(await api.post(f"/api/community/messages/{message_id}/draft", headers=h, json={})))["reply"]
    assert draft["status"] == "draft" and draft["message_id"] == message_id and draft["text"]
    detail = await _json(await api.get(f"/api/community/messages/{message_id}", headers=h))
    assert [r["id"] for r in detail["message"]["replies"]] == [draft["id"]]
    edited = await _json(await api.patch(f"/api/community/replies/{draft['id']}", headers=h,
                                         json={"text": "Try the Library's lo-fi tracks!"}))
    assert edited["reply"]["edited"] is True
    approved = await _json(await api.post(f"/api/community/replies/{draft['id']}/approve", headers=h, json={}))
    assert approved["reply"]["status"] == "approved" and approved["reply"]["approved_by"] == "tests (API key)"
    assert approved["reply"]["text"] == "Try the Library's lo-fi tracks!"
    listed = await _json(await api.get("/api/community/replies?status=approved", headers=h))
    assert [r["id"] for r in listed["replies"]] == [draft["id"]]
    one = await _json(await api.get(f"/api/community/replies/{draft['id']}", headers=h))
    assert one["reply"]["status"] == "approved" and one["reply"]["approved_by"] == "tests (API key)"

    other = await _json(await api.get("/api/community/messages?search=release", headers=h))
    second = (await _json(await api.post(f"/api/community/messages/{other['messages'][0]['id']}/draft", headers=h,
                                         json={})))["reply"]
    discarded = await _json(await api.post(f"/api/community/replies/{second['id']}/discard", headers=h))
    assert discarded["reply"]["status"] == "discarded"

    member_id = page["messages"][0]["author"]["member_id"]
    vip = await _json(await api.patch(f"/api/community/members/{member_id}", headers=h, json={"vip": True}))
    assert vip["member"]["vip_status"] is True
    one = await _json(await api.get(f"/api/community/members/{member_id}", headers=h))
    assert one["member"]["recent_messages"][0]["id"] == message_id


async def test_sources_tokens_are_write_only_and_import(api, community):
    h = api.auth_headers
    token = "discord-secret-token-0123456789"
    put = await api.put("/api/community/sources/discord", headers=h, json={"token": token})
    text = await put.text()
    assert put.status == 200 and token not in text
    sources = await api.get("/api/community/sources", headers=h)
    body = await sources.text()
    assert token not in body and (await sources.json())["sources"][0]["has_token"] is True
    configured = await _json(await api.put("/api/community/sources/telegram", headers=h,
                                           json={"config": {"poll_timeout_s": 20}}))
    assert configured["source"]["config"]["poll_timeout_s"] == 20
    cleared = await _json(await api.put("/api/community/sources/discord", headers=h, json={"token": ""}))
    assert cleared["source"]["has_token"] is False
    await _json(await api.put("/api/community/sources/reddit", headers=h, json={"enabled": True}), 404)
    off = await _json(await api.post("/api/community/sources/telegram/poll", headers=h), 422)
    assert "turned off" in off["error"]["message"]
    community.sources.clients["telegram"] = FakeTelegram()
    verified = await _json(await api.put("/api/community/sources/telegram", headers=h,
                                         json={"enabled": True, "verify": True}))
    assert verified["source"]["status"] == "ok" and verified["source"]["identity"]["privacy_mode"] is True
    polled = (await _json(await api.post("/api/community/sources/telegram/poll", headers=h)))["poll"]
    assert polled["new"] == 1 and polled["error"] is None
    await _json(await api.post("/api/community/sources/myspace/poll", headers=h), 404)

    data = "platform,author,time,text\ndiscord,Zed,2026-11-02T10:00:00Z,imported hello\n".encode()
    form = FormData()
    form.add_field("file", data, filename="history.csv", content_type="text/csv")
    preview = await _json(await api.post("/api/community/import?preview=true", headers=h, data=form))
    assert preview["preview"]["total"] == 1 and preview["preview"]["format"] == "csv"
    assert (await _json(await api.get("/api/community/messages?search=imported", headers=h)))["total"] == 0
    form = FormData()
    form.add_field("file", data, filename="history.csv", content_type="text/csv")
    imported = await _json(await api.post("/api/community/import", headers=h, data=form))
    assert imported["imported"] == 1 and imported["file"] == "history.csv"
    found = await _json(await api.get("/api/community/messages?search=imported", headers=h))
    assert found["messages"][0]["imported_from"] == "history.csv"
    form = FormData()
    form.add_field("file", b"not,a,known\nformat", filename="x.csv", content_type="text/csv")
    bad = await _json(await api.post("/api/community/import", headers=h, data=form), 422)
    assert bad["error"]["message"]
    await _json(await api.post("/api/community/import", headers=h, json={}), 400)


async def test_training_data_files(api, community):
    h = api.auth_headers
    message = (await _json(await api.get("/api/community/messages?search=muddy", headers=h)))["messages"][0]
    await _json(await api.patch(f"/api/community/messages/{message['id']}", headers=h, json={"label": "neutral"}))
    resp = await api.get("/api/community/training-data?format=csv&period=7d", headers=h)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="community-training-7d.csv"'
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["kind"], r["input"], r["input_sentiment"]) for r in rows] == [("label", "the mix is muddy", "neutral")]
    resp = await api.get("/api/community/training-data?format=jsonl&period=7d", headers=h)
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    assert (await resp.text()).count("\n") == 1
    answer = InboundMessage(platform="discord", channel_id="c1", message_id="4", author_id="me", author_name="Me",
                            text="I'll clean up the low end", sent_at=T0 + timedelta(minutes=4), reply_to_id="2",
                            from_self=True)
    community.ingest.store([answer])
    data = await _json(await api.get("/api/community/training-data?format=json&period=7d", headers=h))
    assert [s["drafted_by"] for s in data["training_samples"]] == ["person (on the platform)"]
    assert [m["label"] for m in data["labelled_messages"]] == ["neutral"]


@pytest.mark.parametrize("method, path, body, status, parameter", [
    ("put", "/api/community/config", {"automation_level": 150}, 422, "automation_level"),
    ("put", "/api/community/config", {"response_delay": {"min_seconds": 300, "max_seconds": 30}}, 422, "body"),
    ("put", "/api/community/config", {"volume": 11}, 422, "volume"),
    ("put", "/api/community/config", {}, 422, "body"),
    ("post", "/api/community/respond", {"platform": "myspace", "message_content": "hi"}, 422, "platform"),
    ("post", "/api/community/respond", {"platform": "discord", "message_content": ""}, 422, "message_content"),
    ("get", "/api/community/sentiment?period=forever", None, 422, "period"),
    ("get", "/api/community/sentiment?platform=reddit", None, 422, "platform"),
    ("get", "/api/community/analytics?period=soon", None, 422, "period"),
    ("get", "/api/community/members?status=lurking", None, 422, "status"),
    ("get", "/api/community/members?limit=0", None, 422, "limit"),
    ("get", "/api/community/engagement", None, 422, "content_id"),
    ("get", "/api/community/training-data?format=xml", None, 422, "format"),
    ("get", "/api/community/messages?sentiment=angry", None, 422, "sentiment"),
    ("get", "/api/community/replies?status=lost", None, 422, "status"),
    ("patch", "/api/community/messages/msg_nope", {"status": "read"}, 404, None),
    ("patch", "/api/community/messages/msg_nope", {}, 422, "body"),
    ("get", "/api/community/messages/msg_nope", None, 404, None),
    ("post", "/api/community/messages/msg_nope/draft", {}, 404, None),
    ("post", "/api/community/replies/reply_nope/approve", {}, 404, None),
    ("get", "/api/community/replies/reply_nope", None, 404, None),
    ("post", "/api/community/replies/reply_nope/discard", None, 404, None),
    ("patch", "/api/community/members/member_nope", {"vip": True}, 404, None),
])
async def test_bad_input_is_refused_with_a_message(api, community, method, path, body, status, parameter):
    resp = await getattr(api, method)(path, headers=api.auth_headers, **({"json": body} if body is not None else {}))
    data = await _json(resp, status)
    assert data["status"] == "error" and data["error"]["message"]
    if parameter:
        assert data["error"]["details"]["parameter"].startswith(parameter), data


async def test_community_is_its_own_rate_limit_group(api, community):
    resp = await api.get("/api/community/members", headers=api.auth_headers)
    assert resp.status == 200 and resp.headers.get("X-RateLimit-Limit") == "200"
    resp = await api.get("/api/community/members")
    assert resp.status == 401
