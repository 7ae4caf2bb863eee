"""The connected YouTube channel against a fake Google speaking the Data API v3 and Analytics API v2
wire formats: lifetime counts with an API key, daily figures and revenue with a sign-in (and the
channel that is not monetised), quota units counted, followed channels, keys kept out of errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from studio.connectors.google_oauth import Token
from studio.db.models import ConnectorUsage
from studio.services.analytics.common import AnalyticsError, Period
from studio.services.analytics.connected import API_KEY_SECRET, OAUTH_CLIENT_SECRET, OAUTH_TOKEN_SECRET
from tests.services.test_community_sources import FakeSecrets

KEY = "AIzaSyD-fake-0123456789abcdefghijklmnopq"
TOKEN = "ya29.a0AfB_fake-analytics-token-0123"
CHANNEL = "UCx9Q2nZ_NovaLaneMusic0a"
RIVAL = "UCrival_Channel_00000001"
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def _error(status: int, reason: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message,
                                        "errors": [{"domain": "global", "reason": reason, "message": message}]}},
                             status=status)


class FakeGoogleApis:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.monetised = True
        self.key_valid = True

    async def handle(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        self.requests.append({"path": request.path, "query": dict(request.query), "key": request.headers.get(
            "X-Goog-Api-Key"), "auth": auth})
        if request.path.startswith("/v2/"):
            return self.reports(request)
        if auth is None and (request.headers.get("X-Goog-Api-Key") != KEY or not self.key_valid):
            return _error(400, "keyInvalid", f"API key not valid. Please pass a valid API key. ({KEY})")
        if request.path.endswith("/channels"):
            if request.query.get("part") == "snippet,statistics":
                return web.json_response({"kind": "youtube#channelListResponse", "items": [
                    {"kind": "youtube#channel", "id": RIVAL, "snippet": {"title": "Rival Beats"},
                     "statistics": {"viewCount": "1500000", "subscriberCount": "12000", "hiddenSubscriberCount": False,
                                    "videoCount": "210"}}]})
            assert request.query.get("mine") == "true" or request.query.get("id") == CHANNEL
            return web.json_response({"kind": "youtube#channelListResponse", "items": [
                {"kind": "youtube#channel", "id": CHANNEL, "snippet": {"title": "Nova Lane"},
                 "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + CHANNEL[2:]}}}]})
        if request.path.endswith("/playlistItems"):
            if request.query.get("pageToken") != "P2":
                return web.json_response({"kind": "youtube#playlistItemListResponse", "nextPageToken": "P2", "items": [
                    {"kind": "youtube#playlistItem", "contentDetails": {"videoId": "vidNight001",
                                                                        "videoPublishedAt": "2026-03-03T18:00:00Z"}}]})
            return web.json_response({"kind": "youtube#playlistItemListResponse", "items": [
                {"kind": "youtube#playlistItem", "contentDetails": {"videoId": "vidRain0002",
                                                                    "videoPublishedAt": "2026-03-21T09:30:00Z"}}]})
        if request.path.endswith("/videos"):
            ids = request.query["id"].split(",")
            stats = {"vidNight001": ("Night Drive", "2026-03-03T18:00:00Z", "PT3M32S",
                                     {"viewCount": "2900", "likeCount": "150", "commentCount": "12"}),
                     "vidRain0002": ("Rain On Glass", "2026-03-21T09:30:00Z", "PT1M35S",
                                     {"viewCount": "1100", "commentCount": "4"})}  # likes hidden
            return web.json_response({"kind": "youtube#videoListResponse", "items": [
                {"kind": "youtube#video", "id": i, "snippet": {"title": stats[i][0], "publishedAt": stats[i][1]},
                 "contentDetails": {"duration": stats[i][2]}, "statistics": stats[i][3]} for i in ids if i in stats]})
        return _error(404, "notFound", "no such path")

    def reports(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "authError", "Invalid Credentials")
        query = request.query
        metrics = query["metrics"].split(",")
        if "estimatedRevenue" in metrics and not self.monetised:
            return _error(403, "forbidden", "The caller does not have permission")
        dimension = query["dimensions"]
        headers = [{"name": dimension, "columnType": "DIMENSION", "dataType": "STRING"}] + [
            {"name": m, "columnType": "METRIC", "dataType": "FLOAT" if m == "estimatedRevenue" else "INTEGER"}
            for m in metrics]
        rows = []
        if dimension == "day":
            day = date.fromisoformat(query["startDate"])
            while day <= date.fromisoformat(query["endDate"]):
                values = {"views": 100, "estimatedMinutesWatched": 600, "averageViewDuration": 95, "likes": 5,
                          "comments": 1, "shares": 1, "subscribersGained": 2, "estimatedRevenue": 1.25}
                rows.append([day.isoformat()] + [values[m] for m in metrics])
                day += timedelta(days=1)
        else:
            for video, views in (("vidNight001", 2000), ("vidRain0002", 800)):
                values = {"views": views, "estimatedMinutesWatched": views * 3, "averageViewDuration": 120,
                          "likes": views // 20, "comments": 3, "shares": 2, "subscribersGained": 4,
                          "estimatedRevenue": views / 1000}
                rows.append([video] + [values[m] for m in metrics])
        return web.json_response({"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows})


@pytest.fixture
async def google(aiohttp_server):
    fake = FakeGoogleApis()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = await aiohttp_server(app)
    fake.url = f"http://127.0.0.1:{server.port}"
    return fake


@pytest.fixture
def youtube(services, google):
    settings = services.context.settings
    settings.youtube_url = google.url + "/youtube/v3"
    settings.youtube_analytics_url = google.url + "/v2"
    connected = services.analytics.youtube
    connected._secrets = FakeSecrets()
    connected.clock = lambda: NOW
    return connected


def march(services) -> Period:
    return Period(date(2026, 3, 1), date(2026, 3, 30), "30d")


async def test_an_api_key_reads_lifetime_counts_and_counts_units(services, youtube, google):
    with pytest.raises(AnalyticsError, match="API key or sign in"):
        await youtube.refresh()
    youtube.set_api_key(KEY)
    with pytest.raises(AnalyticsError, match="channel id"):
        await youtube.refresh()
    with pytest.raises(AnalyticsError, match="UC"):
        youtube.configure("my channel")
    youtube.configure(CHANNEL)
    result = await youtube.refresh()
    assert result["videos"] == 2 and result["revenue_available"] is None
    assert all(r["key"] == KEY and r["auth"] is None for r in google.requests)
    ledger = services.analytics.ledger
    assert ledger.totals(Period(date(2026, 3, 1), date(2026, 3, 31), "m"), value="views")["all"] == pytest.approx(4000)
    with services.context.db.session() as s:
        units = s.scalar(select(ConnectorUsage.units).where(ConnectorUsage.connector == "youtube"))
    assert units == 4  # channels + 2 playlist pages + videos
    status = youtube.status()
    assert status["videos"] == 2 and status["stale"] is False and KEY not in str(status)
    # a refresh replaces the lifetime counts instead of adding them
    await youtube.refresh()
    assert ledger.totals(Period(date(2026, 3, 1), date(2026, 3, 31), "m"), value="views")["all"] == pytest.approx(4000)


async def test_a_refused_key_is_reported_without_the_key(youtube, google):
    youtube.set_api_key(KEY)
    youtube.configure(CHANNEL)
    google.key_valid = False
    with pytest.raises(AnalyticsError) as caught:
        await youtube.refresh()
    assert "not valid" in str(caught.value) and KEY not in str(caught.value)
    assert KEY not in (youtube.status()["error"] or "") and youtube.status()["error"]


def sign_in(youtube) -> None:
    youtube.set_oauth_client("123-fake.apps.googleusercontent.com", "GOCSPX-fake-secret")
    youtube.secrets.set(OAUTH_TOKEN_SECRET, Token(access_token=TOKEN, refresh_token="1//refresh",
                                                  expires_at=NOW + timedelta(hours=1), scope="x").to_json())


async def test_signed_in_reads_daily_figures_and_revenue(services, youtube, google):
    sign_in(youtube)
    result = await youtube.refresh(days=30)
    assert result["revenue_available"] is True and result["note"] is None
    reports = [r for r in google.requests if r["path"] == "/v2/reports"]
    assert {r["query"]["dimensions"] for r in reports} == {"day", "video"}
    assert reports[0]["query"]["ids"] == "channel==MINE" and reports[0]["query"]["endDate"] == "2026-03-30"
    period = march(services)
    revenue = services.analytics.revenue.revenue(period)
    assert revenue["total_revenue"] == pytest.approx(30 * 1.25)
    assert services.analytics.ledger.totals(period, value="views")["all"] == pytest.approx(3000)
    content = services.analytics.content.content(period, sort="views")["top_performing"]
    assert content[0]["title"] == "Night Drive" and content[0]["views"] == 2000


async def test_a_channel_without_revenue_keeps_its_views_and_says_why(services, youtube, google):
    sign_in(youtube)
    google.monetised = False
    result = await youtube.refresh(days=30)
    assert result["revenue_available"] is False and "Partner Program" in result["note"]
    assert services.analytics.revenue.revenue(march(services))["total_revenue"] is None
    assert services.analytics.ledger.totals(march(services), value="views")["all"] == pytest.approx(3000)


async def test_followed_channels_show_their_public_figures(youtube, google):
    youtube.set_api_key(KEY)
    assert youtube.competitors()["reasons"]["competitors"]
    with pytest.raises(AnalyticsError, match="UC"):
        youtube.follow("rival")
    youtube.follow(RIVAL)
    first = await youtube.refresh_competitors()
    rival = first["competitors"][0]
    assert (rival["title"], rival["subscribers"], rival["views"]) == ("Rival Beats", 12000, 1500000)
    assert rival["subscribers_change"] is None  # one reading: no change yet
    second = await youtube.refresh_competitors()
    assert second["competitors"][0]["subscribers_change"] == 0 and second["competitors"][0]["readings"] == 2
    youtube.unfollow(RIVAL)
    assert youtube.competitors()["competitors"] == []
    assert API_KEY_SECRET and OAUTH_CLIENT_SECRET  # the names the keyring holds them under
