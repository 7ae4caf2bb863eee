"""Analytics at scale: import a 200 000-row DistroKid statement and a year of YouTube daily data,
log 1 000 000 API requests, then time the dashboard, revenue and content queries.

    .venv/bin/python benchmarks/analytics.py [--rows 200000] [--requests 1000000] [--repeat 20] [--home DIR]

All data here is SYNTHETIC, generated for this benchmark only:
- a DistroKid TSV statement (the newer header) with --rows rows: 400 songs × 12 sale months × stores
  and countries, earnings drawn at random, one row in 200 a refund;
- a YouTube Studio "Totals.csv" of 365 days (views, watch time, revenue) and a "Table data.csv" of
  200 videos, zipped the way YouTube Studio names its exports;
- --requests API requests through `system.record_requests` (batches of 5 000, as the server's
  request-log writer hands them over), spread over the last 30 days and 40 routes.
Both files go through the real import path (`analytics.imports.import_file`: parse, items, links,
facts), timed as rows/s. The first dashboard after the imports reads every fact once (each
import's groups are then kept); each query is then called --repeat times "cold" (the ledger
invalidated before each call, as a link confirmed or a trend answered does: every series computed
again) and "warm" (cached, as a second panel refresh within 30 s); p50/p95 printed.
Targets (issue #17): import >= 50 000 rows/s; each query p95 <= 200 ms with 1 000 000 request-log rows.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"import_rows_per_s": 50_000.0, "query_p95_ms": 200.0}
STORES = ("Spotify", "Apple Music", "YouTube (Ads)", "Amazon Music", "Deezer", "TikTok", "Tidal")
COUNTRIES = ("US", "GB", "DE", "FR", "BR", "JP", "OU", "CA", "AU", "MX")


def distrokid_statement(rows: int, end: date, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    header = ("Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\t"
              "Country of Sale\tSongwriter Royalties Withheld (USD)\tEarnings (USD)\tDate Inserted\tSource Type\t"
              "Recoup (USD)")
    months = [(end.replace(day=1) - timedelta(days=31 * i)).strftime("%Y-%m") for i in range(12)]
    lines = [header]
    for i in range(rows):
        song = i % 400
        month = months[(i // 400) % 12]
        quantity = rng.randint(1, 5000)
        earnings = round(quantity * rng.uniform(0.002, 0.005), 4)
        if i % 200 == 199:
            quantity, earnings = -quantity, -earnings
        lines.append(f"{end.isoformat()}\t{month}\t{STORES[i % len(STORES)]}\tNova Lane\tSong {song:03d}\t"
                     f"QZABC26{song:05d}\t8597000{song:05d}\t{quantity}\t100\tSong\t{COUNTRIES[i % len(COUNTRIES)]}\t0\t"
                     f"{earnings}\t{end.isoformat()}\tStreaming\t0")
    return ("\n".join(lines) + "\n").encode()


def youtube_year(end: date, videos: int = 200, seed: int = 5) -> tuple[bytes, str]:
    rng = random.Random(seed)
    start = end - timedelta(days=364)
    totals = ["Date,Views,Watch time (hours),Your estimated revenue (USD)"]
    for d in range(365):
        day = start + timedelta(days=d)
        views = int(2000 + 10 * d + rng.gauss(0, 200))
        totals.append(f"{day.isoformat()},{views},{views / 30:.1f},{views * 0.0021:.2f}")
    table = ["Content,Video title,Video publish time,Duration,Views,Watch time (hours),Likes,Comments added,"
             "Your estimated revenue (USD)", "Total,,,,0,0,0,0,0"]
    for v in range(videos):
        views = rng.randint(100, 20000)
        table.append(f"vid{v:08d},Song {v % 400:03d} (Official Audio),{(start + timedelta(days=v)).isoformat()},"
                     f"{rng.randint(60, 300)},{views},{views / 40:.1f},{views // 25},{views // 200},{views * 0.0015:.2f}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Totals.csv", "\ufeff" + "\r\n".join(totals))
        archive.writestr("Table data.csv", "\ufeff" + "\r\n".join(table))
    return buffer.getvalue(), f"Content {start.isoformat()}_{end.isoformat()} Nova Lane.zip"


def log_requests(services, n: int, seed: int = 11) -> float:
    rng = random.Random(seed)
    routes = [f"/api/route{i:02d}" for i in range(40)]
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    batch: list[dict] = []
    for i in range(n):
        route = routes[i % 40]
        batch.append({"at": now - timedelta(seconds=rng.uniform(0, 30 * 86400)), "request_id": f"r{i}",
                      "method": "GET", "path": route, "route": route,
                      "status": 500 if i % 997 == 0 else (404 if i % 101 == 0 else 200),
                      "latency_ms": rng.lognormvariate(3.0, 0.8)})
        if len(batch) == 5000:
            services.system.record_requests(batch)
            batch = []
    if batch:
        services.system.record_requests(batch)
    return time.perf_counter() - started


def timed(fn, repeat: int, *, cold) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        cold()
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000.0)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="studio-bench-analytics-"))
    os.environ["STUDIO_HOME"] = str(home)
    from studio.app import build_services, shutdown
    from studio.config import Settings
    from studio.db.models import Track

    services = build_services(Settings(home=home))
    analytics = services.analytics
    end = date.today() - timedelta(days=1)
    with services.context.db.session() as s:  # some library tracks for the matcher to suggest
        for i in range(0, 400, 4):
            s.add(Track(id=f"trk_{i:04d}", generation_id=f"gen_{i:04d}", title=f"Song {i:03d}", style="lofi",
                        genre="Lo-Fi", mood="calm", tempo_bpm=80.0, key="C major", duration_s=90.0, seed=i))
    figures: dict[str, float] = {}
    try:
        statement = distrokid_statement(args.rows, end)
        t = time.perf_counter()
        result = asyncio.run(analytics.imports.import_file(statement, "distrokid-statement.tsv"))
        seconds = time.perf_counter() - t
        figures["import_rows_per_s"] = result["rows"] / seconds
        print(f"DistroKid statement: {result['rows']} rows ({len(statement) / 1e6:.1f} MB) in {seconds:.2f} s = "
              f"{figures['import_rows_per_s']:,.0f} rows/s; {result['items']} items, {result['suggested']} "
              f"suggested links")
        data, name = youtube_year(end)
        t = time.perf_counter()
        result = asyncio.run(analytics.imports.import_file(data, name))
        print(f"YouTube Studio year: {result['rows']} rows in {time.perf_counter() - t:.2f} s")
        seconds = log_requests(services, args.requests)
        print(f"request log: {args.requests:,} requests recorded in {seconds:.1f} s "
              f"({args.requests / seconds:,.0f}/s, daily rollups written beside them)")
        t = time.perf_counter()
        analytics.dashboard.dashboard(analytics.period("30d"))
        print(f"first dashboard after the imports (reads every fact once): {(time.perf_counter() - t) * 1000:.0f} ms")
        period = analytics.period("30d")
        year = analytics.period("1y")
        cold = analytics.ledger.invalidate
        queries = {
            "dashboard 30d": lambda: analytics.dashboard.dashboard(period),
            "revenue 1y": lambda: analytics.revenue.revenue(year),
            "content 1y": lambda: analytics.content.content(year),
            "api-usage 30d": lambda: analytics.usage.api_usage(period),
            "engagement 30d": lambda: analytics.engagement.engagement(period),
        }
        worst = 0.0
        for label, fn in queries.items():
            p50, p95 = timed(fn, args.repeat, cold=cold)
            warm50, warm95 = timed(fn, args.repeat, cold=lambda: None)
            worst = max(worst, p95)
            print(f"{label:16s} cold p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   warm p50 {warm50:6.1f} ms  p95 {warm95:6.1f} ms")
        figures["query_p95_ms"] = worst
    finally:
        shutdown(services)
    print()
    ok_import = figures["import_rows_per_s"] >= TARGETS["import_rows_per_s"]
    ok_query = figures["query_p95_ms"] <= TARGETS["query_p95_ms"]
    print(f"target import >= {TARGETS['import_rows_per_s']:,.0f} rows/s: {figures['import_rows_per_s']:,.0f} "
          f"{'OK' if ok_import else 'MISSED'}")
    print(f"target query p95 <= {TARGETS['query_p95_ms']:.0f} ms: worst {figures['query_p95_ms']:.1f} ms "
          f"{'OK' if ok_query else 'MISSED'}")


if __name__ == "__main__":
    main()
