"""What the analytics parts compute from stored rows: revenue by origin with projections only once 28
days exist, content performance with sample sizes, API usage and uptime from the studio's own
records, costs with and without prices and the limit alerts, and a PDF report whose numbers read back
equal to the database's."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from studio.db.models import AnalyticsFact, ApiRun, Job, RequestRollup
from studio.services.analytics.common import AnalyticsError, Period
from tests.services.test_analytics_ledger import add_track, parsed, row

UTC = timezone.utc


def days(n: int, end: date) -> Period:
    return Period(end - timedelta(days=n - 1), end, f"{n}d")


def daily_rows(first: date, n: int, amount) -> list:
    return [row(i + 2, scope="total", start=(first + timedelta(days=i)).isoformat(),
                end=(first + timedelta(days=i)).isoformat(), revenue=amount(i), platform="youtube", views=100.0 + i)
            for i in range(n)]


def test_projection_needs_28_days_and_then_follows_the_trend(services):
    revenue = services.analytics.revenue
    end = date(2026, 3, 20)
    services.analytics.imports.store(parsed(daily_rows(end - timedelta(days=19), 20, lambda i: 10.0),
                                            source="youtube_studio"), filename="a.zip", sha256="a")
    short = revenue.revenue(days(30, end))
    assert short["projections"]["next_30d"] is None and "28 days" in short["projections"]["reason"]
    assert short["total_revenue"] == pytest.approx(200.0)
    assert short["breakdown"]["unattributed"] == pytest.approx(200.0)

    services.analytics.imports.store(parsed(daily_rows(date(2026, 1, 1), 78, lambda i: 5.0 + i * 0.5),
                                            source="youtube_studio"), filename="b.zip", sha256="b")
    full = revenue.revenue(days(30, date(2026, 3, 19)))
    projection = full["projections"]
    assert projection["next_30d"] is not None
    low, high = projection["interval"]["low"], projection["interval"]["high"]
    # a straight line rising by 0.5 a day: the next 30 days sum to about 30 × the next day's value
    expected = sum(5.0 + i * 0.5 for i in range(78, 108))
    assert low <= projection["next_30d"] <= high
    assert projection["next_30d"] == pytest.approx(expected, rel=0.05)
    assert 0 <= projection["confidence"] <= 100
    assert full["growth_rate"] is not None and full["growth_rate"] > 0


def test_no_revenue_reads_null_with_a_reason(services):
    figures = services.analytics.revenue.revenue(days(30, date(2026, 3, 31)))
    assert figures["total_revenue"] is None and figures["breakdown"] is None
    assert figures["reasons"]["total_revenue"]
    assert figures["projections"]["next_30d"] is None
    dashboard = services.analytics.dashboard.dashboard(days(30, date(2026, 3, 31)))
    assert dashboard["revenue_metrics"]["daily_revenue"] is None
    assert dashboard["system_health"]["uptime"] is None and dashboard["system_health"]["reasons"]["uptime"]


def test_content_ranks_linked_items_with_engagement_and_insights(services):
    analytics = services.analytics
    add_track(services, "t1", "Night Drive")
    rows = [row(2, start="2026-03-01", end="2026-03-31", title="Night Drive", video="v1", platform="youtube",
                revenue=12.0, views=1000.0, likes=40.0, comments=10.0),
            row(3, start="2026-03-01", end="2026-03-31", title="Other Song", video="v2", platform="youtube",
                revenue=3.0, views=5000.0, likes=10.0)]
    analytics.imports.store(parsed(rows, source="youtube_studio"), filename="y.zip", sha256="y")
    _n, suggested = analytics.linking.items(status="suggested")
    for item in suggested:
        analytics.linking.confirm(item["id"])
    content = analytics.content.content(days(31, date(2026, 3, 31)))
    top = content["top_performing"]
    assert [e["title"] for e in top][:2] == ["Night Drive", "Other Song"]  # by revenue
    night = top[0]
    assert night["linked"] is True and night["type"] == "music_generation"
    assert night["views"] == 1000 and night["engagement"] == pytest.approx(5.0)
    assert night["revenue"] == pytest.approx(12.0)
    by_views = analytics.content.content(days(31, date(2026, 3, 31)), sort="views")["top_performing"]
    assert by_views[0]["title"] == "Other Song"
    insights = content["performance_insights"]
    # one linked track is too few to say which genre works: empty, with the sample size and why
    assert insights["best_genres"] == [] and insights["details"]["best_genres"]["sample_size"] == 1
    with pytest.raises(AnalyticsError, match="sort"):
        analytics.content.content(days(31, date(2026, 3, 31)), sort="colour")


def test_api_usage_and_uptime_come_from_the_request_rollups_and_runs(services):
    usage = services.analytics.usage
    day = "2026-03-10"
    with services.context.db.session() as s:
        s.add(RequestRollup(day=day, route="GET /api/status", requests=90, client_errors=5, server_errors=1,
                            latency_ms_sum=900.0, latency_buckets=[90]))
        s.add(RequestRollup(day=day, route="POST /api/music/generate", requests=10, client_errors=0,
                            server_errors=0, latency_ms_sum=2000.0, latency_buckets=[0, 0, 0, 10]))
        start = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
        s.add(ApiRun(started_at=start, last_seen_at=start + timedelta(hours=12),
                     stopped_at=start + timedelta(hours=12)))
    period = Period(date(2026, 3, 10), date(2026, 3, 10), "1d")
    figures = usage.api_usage(period)
    assert figures["total_requests"] == 100 and figures["successful_requests"] == 94
    assert figures["error_rate"] == pytest.approx(6.0)
    status = next(e for e in figures["endpoint_usage"] if e["endpoint"] == "/api/status" and e["method"] == "GET")
    assert status["requests"] == 90 and status["avg_response_time"] == pytest.approx(10.0)
    health = usage.system_health(period)
    assert health["uptime_pct"] == pytest.approx(50.0, abs=0.1)  # up 12 of 24 hours
    assert health["response_time_avg"] == pytest.approx(29.0)
    assert health["error_rate"] == pytest.approx(1.0)


def finished_job(services, job_id: str, kind: str, seconds: float, when: datetime, status: str = "completed"):
    with services.context.db.session() as s:
        s.add(Job(id=job_id, kind=kind, params={}, status=status, progress=100.0, attempts=1,
                  started_at=when - timedelta(seconds=seconds), finished_at=when))


def test_costs_are_money_only_with_prices_and_limits_alert_once(services):
    costs = services.analytics.costs
    now = datetime.now(UTC)
    finished_job(services, "gen_1", "music.generate", 1800.0, now)
    finished_job(services, "gen_2", "music.generate", 1800.0, now)
    period = days(1, now.date())
    summary = costs.summary(period)
    assert summary["total_compute_seconds"] == pytest.approx(3600.0)
    assert summary["total_cost"] is None and summary["reasons"]["total_cost"]
    costs.set_prices({"electricity_per_kwh": 0.30, "device_watts": 200})
    summary = costs.summary(period)
    assert summary["total_cost"] == pytest.approx(0.06)  # 1 h × 0.2 kW × 0.30
    with pytest.raises(AnalyticsError):
        costs.set_prices({"device_watts": -5})

    seen: list[dict] = []
    services.context.events.subscribe(lambda name, data: seen.append(data) if name == "system_alert" else None)
    costs.set_limits({"daily_compute_s": 4000})
    fired = costs.check_limits()
    assert [a["severity"] for a in fired] == ["warning"]  # 3600 of 4000 s = 90 % ≥ 80 %
    assert costs.check_limits() == []  # once per limit and day
    costs.set_limits({"daily_compute_s": 3000})
    assert [a["severity"] for a in costs.check_limits()] == ["critical"]


def test_pdf_report_reads_back_the_database_figures(services):
    pypdf = pytest.importorskip("pypdf")
    analytics = services.analytics
    end = date(2026, 3, 31)
    analytics.imports.store(parsed(daily_rows(date(2026, 3, 1), 31, lambda i: 2.0 + (i % 3)),
                                   source="youtube_studio"), filename="y.zip", sha256="y")
    period = days(31, end)
    data = analytics.reports.collect(period, ["revenue_analysis", "content_performance", "system_health"])
    from studio.services.analytics.reports import _pdf

    body = _pdf({"report_id": "report_test", "report_type": "comprehensive", "period": "31d",
                 "start": period.start_day.isoformat(), "end": end.isoformat(), "generated_at": "now"}, data)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)
    with services.context.db.session() as s:
        in_db = s.scalar(select(func.sum(AnalyticsFact.revenue)))
    match = re.search(r"Total revenue \(USD\)\s*([\d,]+\.\d\d)", text)
    assert match, text[:500]
    assert float(match.group(1).replace(",", "")) == pytest.approx(in_db, abs=0.01)
    assert "Chart source" in text and "System health" in text


async def test_a_report_job_writes_a_file_and_says_where(running_services):
    reports = running_services.analytics.reports
    started = reports.generate(report_type="system", period="7d", format="csv")
    assert started["status"] in ("processing", "completed") and started["download_url"].endswith(".csv")
    for _ in range(200):
        if reports.get(started["report_id"])["status"] != "processing":
            break
        await asyncio.sleep(0.05)
    assert reports.get(started["report_id"])["status"] == "completed"
    path, name, content_type = reports.file(started["report_id"])
    assert content_type == "text/csv" and name.endswith(".csv")
    assert path.read_text("utf-8-sig").startswith("section,figure,value,source")
    with pytest.raises(AnalyticsError, match="format"):
        reports.generate(format="docx")


def test_voice_characters_figures_come_from_their_linked_content(services):
    from studio.db.models import VoiceContent

    services.voices.characters.initialize()
    today = date.today()
    with services.context.db.session() as s:
        s.add(VoiceContent(id="content_1", character_id="luna_lofi", kind="synthesis", title="Luna Says Goodnight",
                           text="Good night.", status="completed", duration_s=4.0))
    before = services.voices.content.character_analytics("luna_lofi")
    assert before["total_views"] is None and before["reasons"]["total_views"]
    start = (today - timedelta(days=9)).isoformat()
    services.analytics.imports.store(parsed([row(2, start=start, end=today.isoformat(), title="Luna Says Goodnight",
                                                 video="vid_luna", platform="youtube", views=500.0, likes=25.0,
                                                 revenue=2.0)], source="youtube_studio"), filename="y.zip", sha256="y")
    _n, [item] = services.analytics.linking.items(status="suggested")
    assert item["content_id"] == "content_1"
    services.analytics.linking.confirm(item["id"])
    after = services.voices.content.character_analytics("luna_lofi")
    assert after["total_views"] == 500 and after["revenue_generated"] == pytest.approx(2.0)
    assert after["average_engagement"] == pytest.approx(5.0)
    dashboard = services.voices.content.dashboard()
    assert dashboard["summary"]["monthly_revenue"] == pytest.approx(2.0)
    assert dashboard["top_performers"][0]["character"] == "luna_lofi"
    fields = services.voices.content.revenue_fields()["luna_lofi"]
    assert fields["revenue_multiplier"] == pytest.approx(1.0) and fields["monthly_potential"] == pytest.approx(2.0)


async def test_a_statement_bad_deep_inside_stores_nothing(services):
    """Rows are stored while the file is read; a bad row past the first chunks still leaves nothing."""
    from sqlalchemy import func, select

    from studio.db.models import AnalyticsFact, AnalyticsImport
    from studio.services.analytics.common import AnalyticsError

    header = ("Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\t"
              "Country of Sale\tSongwriter Royalties Withheld\tEarnings (USD)")
    lines = [header] + [f"2026-04-05\t2026-03\tSpotify\tMe\tSong {i % 50}\tQZABC26{i % 50:05d}\t1\t10\t100\tSong\tUS\t0\t0.04"
                        for i in range(12_000)]
    lines[11_000] = lines[11_000].replace("\t0.04", "\tforty")
    with pytest.raises(AnalyticsError, match=r"line 11001.*Earnings"):
        await services.analytics.imports.import_file("\n".join(lines).encode(), "statement.tsv")
    with services.context.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AnalyticsFact)) == 0
        assert s.scalar(select(func.count()).select_from(AnalyticsImport)) == 0
    lines[11_000] = lines[11_000].replace("\tforty", "\t0.04")
    result = await services.analytics.imports.import_file("\n".join(lines).encode(), "statement.tsv")
    assert result["rows"] == 12_000 and result["items"] == 50
    with services.context.db.session() as s:
        imported = s.scalars(select(AnalyticsImport)).one()
        assert (imported.rows, imported.window_start, imported.window_end) == (12_000, "2026-03-01", "2026-03-31")


async def test_a_large_statement_is_stored_as_a_row_by_row_insert_would(services, monkeypatch):
    """Large chunks go through a temp table copied beside the reading, with the columns a chunk holds
    one text in written into the statement: the facts are those of a plain insert binding every value."""
    from sqlalchemy import select

    from studio.db.models import AnalyticsFact
    from studio.services.analytics import imports as imports_module

    header = ("Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\t"
              "Country of Sale\tSongwriter Royalties Withheld\tEarnings (USD)")
    countries = ("US", "OU", "", "DE")
    lines = [header] + [f"2026-04-05\t2026-0{1 + i % 3}\t{'Spotify' if i % 5 else ''}\tMe\tSong {i % 40}\t"
                        f"QZABC26{i % 40:05d}\t1\t{'' if i % 7 == 0 else i % 90 - 3}\t100\tSong\t"
                        f"{countries[i % 4]}\t0\t{0.04 * (i % 11) - 0.1:.4f}" for i in range(7_500)]
    data = "\n".join(lines).encode()
    columns = [c for c in AnalyticsFact.__table__.columns if c.name not in ("id", "import_id")]

    def facts() -> list:
        with services.context.db.session() as s:
            return s.execute(select(*columns).order_by(AnalyticsFact.id)).all()

    staged = await services.analytics.imports.import_file(data, "Nova's statement.tsv")
    assert staged["rows"] == 7_500
    staged_facts = facts()
    services.analytics.imports.delete(staged["import_id"])
    monkeypatch.setattr(imports_module, "_STAGE_MIN_ROWS", 10**9)
    monkeypatch.setattr(imports_module, "_sqlite_literal", lambda value: None)
    direct = await services.analytics.imports.import_file(data, "Nova's statement.tsv")
    assert direct["rows"] == 7_500
    assert facts() == staged_facts
    assert {f.file for f in staged_facts} == {"Nova's statement.tsv"} and {f.currency for f in staged_facts} == {"USD"}
