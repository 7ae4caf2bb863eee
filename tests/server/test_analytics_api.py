"""/api/analytics/..., /api/v1/analytics|costs|reports/...: a creator imports a YouTube Studio export and
a DistroKid statement, confirms the suggested links to library tracks, reads revenue by origin and
what performs, and exports a PDF whose numbers read back equal to the API's. Documented fields, null
with reasons where nothing is known, bad input -> 4xx naming what to fix. No network."""

from __future__ import annotations

import asyncio
import io
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import FormData

from studio.server.schemas.analytics import AnalyticsReportFileOut
from tests.connectors.test_analytics_files import FIXTURES, YOUTUBE_ZIP, youtube_zip
from tests.services.test_analytics_connected import CHANNEL, KEY, RIVAL, google, youtube  # noqa: F401 (fixtures)
from tests.services.test_analytics_ledger import add_track

MARCH = "period=31d&end=2026-03-31"


async def _json(resp, status=200):
    data = await resp.json()
    assert resp.status == status, data
    return data


async def upload(api, data: bytes, name: str, *, preview: bool = False, status: int = 200):
    form = FormData()
    form.add_field("file", data, filename=name)
    url = "/api/analytics/imports" + ("?preview=true" if preview else "")
    return await _json(await api.post(url, data=form, headers=api.auth_headers), status)


async def get(api, path: str, status: int = 200):
    return await _json(await api.get(path, headers=api.auth_headers), status)


async def wait_report(api, report_id: str) -> dict:
    for _ in range(400):
        report = await get(api, f"/api/v1/reports/{report_id}")
        if report["status"] != "processing":
            return report
        await asyncio.sleep(0.05)
    raise AssertionError("the report did not finish")


async def test_empty_studio_answers_null_with_reasons(api):
    dashboard = await get(api, "/api/analytics/dashboard?period=30d")
    assert dashboard["status"] == "success"
    assert dashboard["revenue_metrics"]["daily_revenue"] is None and dashboard["reasons"]
    revenue = await get(api, "/api/analytics/revenue?period=30d")
    assert revenue["total_revenue"] is None and revenue["projections"]["next_30d"] is None
    content = await get(api, "/api/analytics/content")
    assert content["top_performing"] == [] and content["reasons"]["top_performing"]
    overview = await get(api, "/api/v1/analytics/overview")
    assert overview["metrics"]["total_views"] is None and "status" not in overview
    costs = await get(api, "/api/v1/costs/summary?period=7d")
    assert costs["total_cost"] is None and costs["reasons"]["total_cost"]


async def test_import_link_and_read_what_performs_then_export_a_pdf(api, running_services):
    pypdf = pytest.importorskip("pypdf")
    add_track(running_services, "trk_night", "Night Drive")
    add_track(running_services, "trk_rain", "Rain On Glass")
    preview = await upload(api, youtube_zip(), YOUTUBE_ZIP, preview=True)
    assert preview["preview"]["format"] == "youtube_studio_zip" and preview["preview"]["rows"] == 33
    assert (await get(api, "/api/analytics/imports"))["imports"] == []  # a preview stores nothing
    first = (await upload(api, youtube_zip(), YOUTUBE_ZIP))["import"]
    assert first["rows"] == 33 and first["suggested"] == 2
    again = (await upload(api, youtube_zip(), YOUTUBE_ZIP))["import"]
    assert again["duplicate"] is True
    statement = (await upload(api, (FIXTURES / "distrokid_v1.tsv").read_bytes(), "distrokid_v1.tsv"))["import"]
    assert statement["rows"] == 4

    items = (await get(api, "/api/analytics/items?status=suggested"))["items"]
    assert {i["linked_title"] for i in items} == {"Night Drive", "Rain On Glass"}
    for item in items:
        confirmed = await _json(await api.post(f"/api/analytics/items/{item['id']}/confirm", json={},
                                               headers=api.auth_headers))
        assert confirmed["item"]["link_status"] == "confirmed"

    revenue = await get(api, f"/api/analytics/revenue?{MARCH}")
    youtube_days = sum(0.4 + d / 100 for d in range(1, 32))
    statement_total = 4.81 + 2.17 + 1.52 - 0.69
    assert revenue["total_revenue"] == pytest.approx(youtube_days + statement_total, abs=0.02)
    assert revenue["breakdown"]["music_generation"] > 0 and len(revenue["daily_data"]) == 31
    assert revenue["sources"]["revenue"]
    content = await get(api, f"/api/analytics/content?{MARCH}&sort=views")
    assert content["top_performing"][0]["title"] in ("Night Drive", "Night Drive (Official Audio)")
    assert content["top_performing"][0]["linked"] is True
    same = await get(api, f"/api/analytics/performance?{MARCH}&sort=views")
    assert same["top_performing"] == content["top_performing"]  # one implementation behind both paths
    engagement = await get(api, f"/api/analytics/engagement?{MARCH}")
    on_youtube = next(p for p in engagement["platform_engagement"] if p["platform"] == "youtube")
    assert on_youtube["views"] > 0 and engagement["engagement_overview"]["retention_rate"] is None
    overview = await get(api, f"/api/v1/analytics/overview?{MARCH}")
    assert overview["metrics"]["total_revenue"] == revenue["total_revenue"]
    weekly = await get(api, f"/api/analytics/trends?{MARCH}")
    assert len(weekly["weekly"]) == 5 and weekly["reasons"]["topics"]

    started = await _json(await api.post("/api/analytics/export", json={
        "report_type": "comprehensive", "period": "31d", "format": "pdf",
        "include_sections": ["revenue_analysis", "content_performance", "system_health", "growth_projections"]},
        headers=api.auth_headers), 202)
    assert started["status"] == "processing" and started["download_url"].endswith(".pdf")
    # the period is fixed when asked: today, so the March figures are outside a 31-day report of now;
    # the report of March is asked through v1 with its own end day below
    report = await wait_report(api, started["report_id"])
    assert report["status"] == "completed"
    resp = await api.get(started["download_url"], headers=api.auth_headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(await resp.read()))
    assert len(pdf.pages) >= 2

    march_report = running_services.analytics.reports.generate(period="31d", end_day="2026-03-31")
    done = await wait_report(api, march_report["report_id"])
    assert done["status"] == "completed"
    resp = await api.get(f"/api/v1/reports/{done['report_id']}/download", headers=api.auth_headers)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(await resp.read())).pages)
    assert f"{revenue['total_revenue']:,.2f}" in text  # the PDF's total is the API's total
    assert "Chart source" in text

    night = items[0]["id"]
    unlinked = await _json(await api.post(f"/api/analytics/items/{night}/unlink", headers=api.auth_headers))
    assert unlinked["item"]["link_status"] == "none" and unlinked["item"]["track_id"] is None
    rejected = await _json(await api.post(f"/api/analytics/items/{night}/reject", headers=api.auth_headers))
    assert rejected["item"]["link_status"] == "rejected"


async def test_v1_costs_reports_and_limits(api, running_services):
    available = await get(api, "/api/v1/reports/available")
    assert {t["id"] for t in available["report_types"]} >= {"comprehensive", "revenue"} and "pdf" in available["formats"]
    seen = []
    running_services.context.events.subscribe(lambda name, data: seen.append(name))
    limits = await _json(await api.put("/api/v1/costs/limits", json={"daily_compute_s": 600, "alert_at_pct": 50},
                                       headers=api.auth_headers))
    assert limits["daily_compute_s"] == 600 and limits["alerts"] == []  # nothing computed yet
    prices = await _json(await api.put("/api/v1/costs/prices", json={"compute_per_hour": 0.9, "currency": "EUR"},
                                       headers=api.auth_headers))
    assert prices["cost_per_compute_hour"] == 0.9
    history = await get(api, "/api/v1/costs/history?period=7d")
    assert "reasons" in history or history
    optimization = await get(api, "/api/v1/costs/optimization")
    assert isinstance(optimization, dict)
    csv_report = await _json(await api.post("/api/v1/reports/generate", json={"report_type": "system", "format": "csv"},
                                            headers=api.auth_headers), 202)
    done = await wait_report(api, csv_report["report_id"])
    resp = await api.get(f"/api/v1/reports/{done['report_id']}/download", headers=api.auth_headers)
    assert resp.status == 200 and (await resp.text()).lstrip("\ufeff").startswith("section,figure,value,source")
    listed = (await get(api, "/api/analytics/reports"))["reports"]
    assert listed[0]["report_id"] == done["report_id"]
    # a JSON report holds each section as the API answers it (its documented model)
    json_report = await _json(await api.post("/api/v1/reports/generate", json={"format": "json"},
                                             headers=api.auth_headers), 202)
    done = await wait_report(api, json_report["report_id"])
    resp = await api.get(f"/api/v1/reports/{done['report_id']}/download", headers=api.auth_headers)
    assert resp.status == 200 and resp.content_type == "application/json"
    document = AnalyticsReportFileOut.model_validate(await resp.json())
    assert document.sections.costs is not None and document.sections.revenue_analysis is not None


async def test_null_cost_limits_clear_them_and_the_alert_share_falls_back_to_its_default(api):
    # found by Schemathesis (issue #19): `"alert_at_pct": null` was stored and then answered 500
    body = {name: None for name in ("daily_compute_s", "monthly_compute_s", "daily_cost", "monthly_cost",
                                    "daily_quota_units", "alert_at_pct")}
    limits = await _json(await api.put("/api/v1/costs/limits", json=body, headers=api.auth_headers))
    assert limits["alert_at_pct"] == 80.0 and limits["daily_cost"] is None and limits["alerts"] == []
    assert (await get(api, "/api/v1/costs/limits"))["alert_at_pct"] == 80.0


async def test_bad_input_says_what_to_fix(api):
    assert (await get(api, "/api/analytics/revenue?period=fortnight", 422))["error"]
    assert (await get(api, "/api/analytics/revenue?breakdown=hourly", 422))["error"]
    assert (await get(api, "/api/analytics/content?limit=0", 422))["error"]
    bad = await upload(api, b"name,colour\nx,y\n", "mystery.csv", status=422)
    assert "mystery.csv" in bad["error"]["message"]
    cut = await upload(api, (FIXTURES / "distrokid_truncated.tsv").read_bytes(), "statement.tsv", status=422)
    assert "line 4" in cut["error"]["message"]
    assert (await _json(await api.post("/api/analytics/items/999/confirm", json={}, headers=api.auth_headers), 404))
    assert (await _json(await api.post("/api/analytics/items/abc/reject", headers=api.auth_headers), 404))
    assert (await get(api, "/api/v1/reports/report_0000000000000000", 404))
    assert (await _json(await api.post("/api/analytics/export", json={"format": "docx"}, headers=api.auth_headers),
                        422))
    assert (await _json(await api.put("/api/v1/costs/limits", json={"daily_compute_s": -1},
                                      headers=api.auth_headers), 422))
    assert (await _json(await api.post("/api/analytics/competitors", json={"channel_id": "someone"},
                                       headers=api.auth_headers), 422))
    status = (await get(api, "/api/analytics/youtube"))["youtube"]
    assert status["api_key_set"] is False and status["instructions"]
    no_key = await _json(await api.post("/api/analytics/youtube/refresh", json={}, headers=api.auth_headers), 422)
    assert "API key" in no_key["error"]["message"]
    unauthenticated = await api.get("/api/analytics/dashboard")
    assert unauthenticated.status == 401


async def test_no_analytics_route_answers_500_to_junk(api):
    from studio.server.routes.analytics import routes

    junk_queries = ["", "?period=0d", "?period=-3d&end=2026-02-30", "?limit=abc&sort=%00", "?platform=" + "x" * 300,
                    "?status=nope&offset=-1", "?preview=maybe", "?end=9999-12-31&period=all"]
    junk_bodies = [None, b"", b"[]", b"{", b'{"period": 5}', b'{"include_sections": ["x"]}',
                   b'{"daily_quota_units": {"youtube": -1}}', b'{"channel_id": null, "api_key": ""}',
                   b'{"days": 0}', b'{"track_id": "' + b"t" * 100 + b'"}']
    for spec in routes.specs:
        if spec.path.endswith("/sign-in"):
            continue  # starts a real browser flow
        path = (spec.path.replace("{item_id}", "12345").replace("{import_id}", "imp_nothing")
                .replace("{report_id}", "report_zzz").replace("{file}", "../../etc/passwd")
                .replace("{channel_id}", "UCnot"))
        for query in junk_queries:
            for body in (junk_bodies if spec.method in ("POST", "PUT") else [None]):
                resp = await api.request(spec.method, path + query, data=body, headers={
                    **api.auth_headers, "Content-Type": "application/json"})
                assert resp.status < 500, (spec.method, path + query, body, await resp.text())


async def test_connected_channel_followed_channels_and_sign_in(api, youtube, google):  # noqa: F811 (fixtures)
    # the fake Google of tests/services/test_analytics_connected.py answers the Data API and the sign-in
    async def call(method: str, path: str, status: int = 200, **kw):
        return await _json(await api.request(method, path, headers=api.auth_headers, **kw), status)

    status = (await call("PUT", "/api/analytics/youtube", json={"channel_id": CHANNEL, "api_key": KEY}))["youtube"]
    assert status["api_key_set"] is True and status["channel_id"] == CHANNEL and KEY not in str(status)
    refresh = (await call("POST", "/api/analytics/youtube/refresh", json={"days": 30}))["refresh"]
    assert refresh["videos"] == 2 and refresh["revenue_available"] is None
    followed = await call("POST", "/api/analytics/competitors", json={"channel_id": RIVAL})
    assert followed["competitors"][0]["readings"] == 0
    rival = (await call("POST", "/api/analytics/competitors/refresh"))["competitors"][0]
    assert (rival["title"], rival["subscribers"]) == ("Rival Beats", 12000)
    assert (await get(api, "/api/v1/analytics/competitors"))["competitors"][0]["channel_id"] == RIVAL
    assert (await call("DELETE", f"/api/analytics/competitors/{RIVAL}"))["competitors"] == []
    await call("DELETE", f"/api/analytics/competitors/{RIVAL}", 422)  # not followed any more
    connected = (await get(api, "/api/analytics/imports"))["imports"][0]
    assert connected["kind"] == "connected" and connected["source"] == "youtube_data"
    assert (await call("DELETE", f"/api/analytics/imports/{connected['id']}"))["deleted"] == refresh["rows"]

    await call("POST", "/api/analytics/youtube/sign-in", 422)  # no OAuth client yet
    await call("PUT", "/api/analytics/youtube", json={"client_id": "123-fake.apps.googleusercontent.com",
                                                     "client_secret": "GOCSPX-fake-secret"})
    waiting = await call("POST", "/api/analytics/youtube/sign-in", 202)
    assert waiting["status"] == "waiting"
    query = parse_qs(urlsplit(waiting["authorization_url"]).query)
    async with aiohttp.ClientSession() as browser:  # the person declines in the browser: the sign-in ends
        resp = await browser.get(query["redirect_uri"][0], params={"state": query["state"][0],
                                                                   "error": "access_denied"})
        assert resp.status == 200
    from studio.server.routes.analytics import _sign_ins
    for _ in range(100):
        if not _sign_ins:
            break
        await asyncio.sleep(0.05)
    assert not _sign_ins
    signed_out = (await call("POST", "/api/analytics/youtube/sign-out"))["youtube"]
    assert signed_out["signed_in"] is False and signed_out["has_oauth_client"] is True
