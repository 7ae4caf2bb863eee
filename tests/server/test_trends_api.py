"""/api/trending/...: monitoring, schedule, answering a trend with a real (tiny, draft) generation
linked to the trend, performance with null counts and reasons, validation and 404s.

Trends are seeded through the import path (a hand-made chart list): no network anywhere."""

from __future__ import annotations

import pytest
from aiohttp import FormData

CHART = ("title,artist,platform,rank\n"
         "Midnight Study Session,Lofi Cat,spotify,1\n"
         "Neon Drive,Synth Rider,spotify,2\n")


async def _json(resp, status=200):
    data = await resp.json()
    assert resp.status == status, data
    return data


async def _import(api) -> list[dict]:
    form = FormData()
    form.add_field("file", CHART.encode(), filename="my_chart.csv", content_type="text/csv")
    data = await _json(await api.post("/api/trending/import", data=form, headers=api.auth_headers))
    assert data["imported"] == 2
    current = await _json(await api.get("/api/trending/current?platform=all&limit=20", headers=api.auth_headers))
    assert current["status"] == "success" and current["filtered_trends"] == 2
    return current["trends"]


async def test_monitoring_start_schedule_stop(api, running_services):
    h = api.auth_headers
    state = await _json(await api.get("/api/trending/schedule", headers=h))
    assert state["running"] is False and state["auto_hijack"]["enabled"] is False
    assert state["intervals"] == {"peak_hours": 15, "normal_hours": 30, "overnight": 60}

    started = await _json(await api.post("/api/trending/start", headers=h))
    assert started["status"] == "success" and started["message"] == "Live trending monitoring started"
    assert started["monitoring_platforms"] == 0 and "monitoring_platforms" in started["reasons"]
    assert started["scan_interval"] in (15, 30, 60) and started["next_scan"].endswith("Z")

    sources = await _json(await api.get("/api/trending/sources", headers=h))
    names = [s["name"] for s in sources["sources"]]
    assert "deezer" in names
    scheduled = await _json(await api.post("/api/trending/schedule", headers=h, json={
        "schedule_type": "custom", "intervals": {"peak_hours": 30, "normal_hours": 30, "overnight": 30},
        "priority_platforms": ["deezer"], "auto_hijack": {"enabled": True, "min_viral_score": 85, "max_daily_hijacks": 5}}))
    assert scheduled["estimated_daily_scans"] == 48 and scheduled["schedule_id"] == "schedule_1"
    assert scheduled["next_scan"].endswith("Z") and scheduled["priority_platforms"] == ["deezer"]

    bad = await _json(await api.post("/api/trending/schedule", headers=h, json={"priority_platforms": ["tiktok"]}), 422)
    assert bad["error"]["details"]["parameter"] == "priority_platforms"
    bad = await _json(await api.post("/api/trending/schedule", headers=h, json={"intervals": {"peak_hours": 0}}), 422)
    assert bad["status"] == "error" and bad["error"]["code"] == "VALIDATION_ERROR"

    stopped = await _json(await api.post("/api/trending/stop", headers=h))
    assert stopped["message"] == "Trending monitoring stopped"
    stats = stopped["final_stats"]
    assert stats["uptime"].endswith("minutes") and stats["hijacks_generated"] == 0
    assert isinstance(stats["trends_processed"], int)
    # the row keeps the schedule
    state = await _json(await api.get("/api/trending/schedule", headers=h))
    assert state["running"] is False and state["auto_hijack"]["enabled"] is True


async def test_answer_a_trend_with_a_track(api, running_services):
    h = api.auth_headers
    trends = await _import(api)
    trend = next(t for t in trends if t["title"] == "Midnight Study Session")

    resp = await api.post(f"/api/trending/hijack/{trend['id']}", headers=h, json={
        "response_strategy": "fast_follower", "schedule_upload": True,
        "customizations": {"style_variation": "add_trap_elements", "duration": 4, "target_audience": "study_community",
                           "audio_quality": "draft"}})
    answer = await _json(resp)
    assert answer["status"] == "processing" and answer["hijack_id"].startswith("hijack_")
    assert answer["trend_id"] == trend["id"] and answer["generation_id"].startswith("gen_")
    assert answer["generation_steps"][0] == "deriving_spec_from_trend"
    assert "mastering" in answer["generation_steps"] and "creating_video_content" not in answer["generation_steps"]
    assert answer["schedule_upload"]["requested"] is True and answer["schedule_upload"]["available"] is False
    assert answer["estimated_completion"].endswith("Z") and answer["estimate_basis"]
    assert answer["resolved_spec"]["duration_s"] == 4

    job = running_services.system.get_job(answer["generation_id"])
    assert job["params"]["trend_id"] == trend["id"] and job["params"]["source"] == "trends"
    assert job["params"]["hijack_id"] == answer["hijack_id"]
    assert "add trap elements, for study community" in job["params"]["prompt"]

    perf = await _json(await api.get(f"/api/trending/hijacks/{answer['hijack_id']}/performance", headers=h))
    assert perf["original_trend"]["title"] == "Midnight Study Session"
    assert perf["our_response"]["current_views"] is None and "our_response.current_views" in perf["reasons"]

    job = await running_services.context.jobs.wait(answer["generation_id"], timeout_s=180)
    assert job["status"] == "completed", job
    perf = await _json(await api.get(f"/api/trending/hijacks/{answer['hijack_id']}/performance", headers=h))
    ours = perf["our_response"]
    assert ours["track_id"].startswith("trk_") and ours["title"] == "Answer to Midnight Study Session"
    assert perf["success_metrics"]["hijack_speed_s"] >= 0
    assert perf["success_metrics"]["hijack_speed"].endswith(("minute", "minutes"))
    assert perf["success_metrics"]["roi_percentage"] is None and perf["our_response"]["revenue_generated"] is None

    # the Library's track carries the link to the trend
    track = running_services.music.library.track_row(ours["track_id"])
    assert trend["id"] in track["description"]
    assert running_services.trends.answers.link_for_track(track)["trend_id"] == trend["id"]

    detail = await _json(await api.get(f"/api/trending/trends/{trend['id']}", headers=h))
    assert detail["trend"]["id"] == trend["id"] and detail["answers"][0]["hijack_id"] == answer["hijack_id"]
    analytics = await _json(await api.get("/api/trending/analytics?period=7d", headers=h))
    assert analytics["period"] == "7d" and analytics["hijacks_attempted"] == 1


async def test_not_found_and_validation(api, running_services):
    h = api.auth_headers
    resp = await api.post("/api/trending/hijack/trend_ffff", headers=h, json={})
    assert (await _json(resp, 404))["error"]["code"] == "NOT_FOUND"
    resp = await api.get("/api/trending/hijacks/hijack_ffff/performance", headers=h)
    assert (await _json(resp, 404))["status"] == "error"
    resp = await api.get("/api/trending/trends/trend_ffff", headers=h)
    await _json(resp, 404)
    resp = await api.post("/api/trending/hijack/trend_x", headers=h, json={"response_strategy": "steal"})
    assert (await _json(resp, 422))["error"]["details"]["parameter"] == "response_strategy"
    resp = await api.get("/api/trending/analytics?period=forever", headers=h)
    await _json(resp, 422)
    for path in ("/api/trending/analytics?period=99999999999d", "/api/trending/patterns?timeframe=3000y"):
        await _json(await api.get(path, headers=h), 422)  # before the year 1: refused, not a datetime overflow
    resp = await api.put("/api/trending/sources/nope", headers=h, json={"enabled": True})
    await _json(resp, 404)
    resp = await api.post("/api/trending/scan", headers=h, json={"sources": ["nope"]})
    await _json(resp, 404)
    resp = await api.post("/api/trending/import", headers=h, json={})
    await _json(resp, 400)
    platforms = await _json(await api.get("/api/trending/platforms", headers=h))
    assert all("status" in p and "error_rate" in p for p in platforms["platforms"])
    patterns = await _json(await api.get("/api/trending/patterns?genre=lofi&timeframe=30d", headers=h))
    assert patterns["genre"] == "lofi" and patterns["analysis_period"] == "30d" and "patterns" in patterns


async def test_keys_are_write_only_and_documented(api, running_services):
    h = api.auth_headers
    resp = await api.put("/api/trending/sources/lastfm", headers=h, json={"key": "secret-lastfm-key-123"})
    data = await _json(resp)
    assert "secret-lastfm-key-123" not in str(data) and data["source"]["has_key"] is True
    listing = await api.get("/api/trending/sources", headers=h)
    assert "secret-lastfm-key-123" not in await listing.text()
    feed = (await _json(await api.post("/api/trending/sources/feeds", headers=h,
                                       json={"url": "https://example.com/charts.xml"}), 201))["source"]
    assert feed["name"].startswith("feed:") and feed["enabled"] and feed["config"] == {"url": "https://example.com/charts.xml"}
    spec = await _json(await api.get("/openapi.json", headers=h))
    paths = spec["paths"]
    for path in ("/api/trending/start", "/api/trending/current", "/api/trending/hijack/{trend_id}",
                 "/api/trending/analytics", "/api/trending/platforms", "/api/trending/patterns",
                 "/api/trending/schedule", "/api/trending/hijacks/{hijack_id}/performance", "/api/trending/stop"):
        assert path in paths, path


@pytest.mark.parametrize("path", ["/api/trending/current"])
async def test_trending_is_its_own_rate_limit_group(api, running_services, path):
    resp = await api.get(path, headers=api.auth_headers)
    assert resp.status == 200
    assert resp.headers.get("X-RateLimit-Limit") == "100"
