"""Trends at a year's size: database size, scan ingest time, `current` / `patterns` latency.

    .venv/bin/python benchmarks/trends.py [--days 365] [--home DIR] [--current-requests 200]
                                          [--patterns-requests 50] [--ingest-runs 5] [--profile N]

All chart data here is SYNTHETIC, generated for this benchmark only: 5 sources (deezer,
apple_music, lastfm, youtube, one feed) x 200 chart slots at 48 scans a day. Each slot holds one
song for 10-60 days, whose popularity rises then falls (its rank among the slot's chart follows
it); then a new song takes the slot. Slots 0-99 of deezer, apple_music and lastfm carry the same
songs (one item matched across three sources). YouTube keeps only its last 30 days, as the
scanner's 30-day rule would leave it. Counts (views, playcount, Deezer's rank figure) grow with
the song's popularity.

How the database is filled:
- items and all but the last scans are bulk-inserted (SQLAlchemy Core for items, sqlite3
  executemany for snapshots, in one transaction, snapshot indexes rebuilt after);
  `first_rise_at` is the scan after a song entered while rising, as the scanner's scoring sets it;
- items last seen within --score-days of the end are scored by the service's own
  `catalog.rescore` (day by day); older items get a copy of one such scores record (same shape and
  size) so reads parse realistic rows;
- the last scans go through the real path: `scanner.scan()` with fake fetchers
  (`sources.fetchers`) returning `ChartEntry` lists; one warm-up scan, then --ingest-runs timed.
Then `GET /api/trending/current` and `/api/trending/patterns` are timed through the full aiohttp
app (middlewares, auth with an API key, rate limits lifted) on a TestServer.
"""

from __future__ import annotations

import argparse
import gc
import asyncio
import cProfile
import io
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCAN_S = 1800  # 48 scans a day
SHARED_SOURCES = ("deezer", "apple_music", "lastfm")
SHARED_SLOTS = 100
YOUTUBE_DAYS = 30
FEED_URL = "https://feeds.example.invalid/benchmark.xml"
WORDS = ("midnight fire summer heart neon dream city lights ocean gold wild love night rain echo "
         "shadow river storm crystal velvet thunder moon sunset electric paradise broken silver "
         "highway dance forever young free ghost satellite rebel honey coastal faded stars").split()
TAGS = ("pop", "hip hop", "rock", "electronic", "lofi", "ambient", "jazz", "r&b", "dance", "indie",
        "cinematic", "trap", "house", "acoustic", "chill")
TARGETS_MS = {"current": 50.0, "patterns": 500.0}
TICK_S = 0.005  # the ticker beside a scan
LOOP_BLOCK_TARGET_MS = 20.0  # DESIGN.md: nothing blocks the loop for longer


def _summary(name: str, samples_ms: list[float], target_ms: float | None = None) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    line = (f"{name:<34} n={len(ordered):<5} p50={statistics.median(ordered):8.2f} ms  "
            f"p95={p95:8.2f} ms  max={ordered[-1]:8.2f} ms")
    if target_ms is not None:
        line += f"  target p95 <= {target_ms:g} ms: {'MET' if p95 <= target_ms else 'MISSED'}"
    return line


class Model:
    """The synthetic charts: which song is in which slot at scan k, its rank and counts."""

    def __init__(self, sources: list[str], scans: int, slots: int, seed: int = 15) -> None:
        self.sources, self.scans, self.slots = sources, scans, slots
        rng = np.random.default_rng(seed)
        self.start = {s: (max(0, scans - YOUTUBE_DAYS * 48) if s == "youtube" else 0) for s in sources}
        # A slot group: one set of songs (the shared slots of three sources are one group).
        groups: dict[tuple[str, int], dict] = {}
        self.group_of: dict[str, list[tuple[str, int]]] = {}
        for source in sources:
            keys = []
            for j in range(slots):
                key = ("shared", j) if source in SHARED_SOURCES and j < SHARED_SLOTS else (source, j)
                if key not in groups:
                    life = int(rng.integers(10 * 48, 60 * 48))
                    groups[key] = {"life": life, "offset": int(rng.integers(0, life)),
                                   "start": self.start[source]}
                keys.append(key)
            self.group_of[source] = keys
        # Items: each generation of each group, numbered from `base`.
        self.items: list[dict] = []
        self.base: dict[tuple[str, int], int] = {}
        self.g0: dict[tuple[str, int], int] = {}
        for key, g in groups.items():
            life, off, start = g["life"], g["offset"], g["start"]
            first, last = (start + off) // life, (scans - 1 + off) // life
            self.base[key], self.g0[key] = len(self.items), first
            for gen in range(first, last + 1):
                k_in = max(start, gen * life - off)
                k_out = min(scans - 1, (gen + 1) * life - off - 1)
                idx = len(self.items)
                words = [WORDS[(idx * 7 + n * 13) % len(WORDS)] for n in range(1 + idx % 3)]
                self.items.append({
                    "key": key, "gen": gen, "first": k_in, "last": k_out,
                    "rises": (k_in == gen * life - off) and k_out > k_in,  # seen from its entry, so rising
                    "title": " ".join(w.capitalize() for w in words) + f" {idx}",
                    "artist": f"Artist {idx % 997}",
                    "tags": [TAGS[idx % len(TAGS)], TAGS[(idx // 3) % len(TAGS)]],
                    "bpm": float(70 + idx % 90), "duration_s": float(120 + idx % 150),
                    "isrc": f"BENCH{idx:07d}" if key[0] == "shared" else None,
                })
        self.life = {s: np.array([groups[k]["life"] for k in self.group_of[s]]) for s in sources}
        self.offset = {s: np.array([groups[k]["offset"] for k in self.group_of[s]]) for s in sources}
        self.base_arr = {s: np.array([self.base[k] for k in self.group_of[s]]) for s in sources}
        self.g0_arr = {s: np.array([self.g0[k] for k in self.group_of[s]]) for s in sources}
        self.bias = {s: rng.normal(0, 0.15, slots) for s in sources}
        self.seed = seed

    def block(self, source: str, k_from: int, k_to: int):
        """Scans k_from..k_to-1 of `source`: (ks, item index [K,slots], rank [K,slots], age, pop)."""
        ks = np.arange(max(k_from, self.start[source]), k_to)
        if len(ks) == 0:
            return ks, None, None, None, None
        life, off = self.life[source], self.offset[source]
        pos = ks[:, None] + off[None, :]
        gen, age = pos // life, pos % life
        frac = age / life
        noise = np.random.default_rng((self.seed, zlib.crc32(source.encode()), int(ks[0]))).normal(0, 0.03, frac.shape)
        pop = np.sin(np.pi * np.minimum(frac * 2.5, 1.0) / 2) * (1.0 - frac) ** 0.7 + self.bias[source] + noise
        order = np.argsort(-pop, axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(1, self.slots + 1)[None, :], axis=1)
        idx = self.base_arr[source][None, :] + gen - self.g0_arr[source][None, :]
        return ks, idx, rank, age, pop

    @staticmethod
    def metrics(source: str, age: int, pop: float) -> dict[str, float]:
        if source == "deezer":
            return {"deezer_rank": float(int(500_000 + 400_000 * pop))}
        if source == "lastfm":
            plays = int(50_000 * (age + 1) * (0.6 + pop))
            return {"playcount": float(plays), "listeners": float(plays // 7)}
        if source == "youtube":
            views = int(20_000 * (age + 1) * (0.6 + pop))
            return {"views": float(views), "likes": float(views // 30), "comments": float(views // 400)}
        return {}


def chart_of(source: str) -> str:
    return {"deezer": "deezer:chart:0", "apple_music": "apple_music:us:most-played", "lastfm": "lastfm:top",
            "youtube": "youtube:US:mostPopular"}.get(source, f"{source}:items")


def sid(source: str, idx: int) -> str:
    return f"{source[:8]}-{idx}"


def _metrics_json(source: str, age: int, pop: float) -> str:
    # What json.dumps writes for the scanner's {name: float} dict, without its per-row cost.
    m = Model.metrics(source, age, pop)
    return "{" + ", ".join(f'"{k}": {v!r}' for k, v in m.items()) + "}"


def build(args, services, model: Model, t0: datetime, history_scans: int) -> dict[str, float]:
    from sqlalchemy import insert

    from studio.db.models import TrendItem, TrendSnapshot
    from studio.services.trends.common import match_key

    db = services.context.db
    dialect = db.engine.dialect
    to_db_time = TrendSnapshot.__table__.c.scanned_at.type.bind_processor(dialect)
    times = [t0 + timedelta(seconds=SCAN_S * k) for k in range(model.scans)]
    figures: dict[str, float] = {}

    # Items (every one that appears in the bulk history; the rest are created by the real scans).
    started = time.perf_counter()
    item_ids = [f"trend_bench{n:08x}" for n in range(len(model.items))]
    rows = []
    for n, item in enumerate(model.items):
        if item["first"] >= history_scans:
            continue
        key = item["key"]
        sources = list(SHARED_SOURCES) if key[0] == "shared" else [key[0]]
        video = key[0] in ("youtube",) or key[0].startswith("feed:")
        last = min(item["last"], history_scans - 1)
        rows.append({
            "id": item_ids[n], "match_key": match_key(item["title"], item["artist"]), "isrc": item["isrc"],
            "title": item["title"], "artist": item["artist"], "first_seen_at": times[item["first"]],
            "last_seen_at": times[last], "published_at": times[item["first"]] - timedelta(hours=3) if video else None,
            "duration_s": item["duration_s"], "bpm": item["bpm"] if key[0] == "shared" else None,
            "tags": item["tags"], "preview_url": None, "url": f"https://example.invalid/{item_ids[n]}",
            "youtube_only": 1 if key[0] == "youtube" else 0, "sources": sources, "viral_score": None,
            "scores": {}, "scored_at": None,
            "first_rise_at": times[item["first"] + 1] if item["rises"] and item["first"] + 1 <= last else None,
        })
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(TrendItem.__table__), rows[start:start + 2000])
    figures["items_s"] = time.perf_counter() - started

    # Snapshots: raw sqlite3, one transaction, indexes dropped during the load and rebuilt after.
    started = time.perf_counter()
    path = db.sqlite_path
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='trend_snapshots' "
                          "AND sql IS NOT NULL").fetchall()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    sql = ("INSERT INTO trend_snapshots (item_id, source, chart, source_item_id, scanned_at, rank, chart_size, "
           "metrics, imported_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)")
    db_times = [to_db_time(t) for t in times]
    total = 0
    step = 48 * 5
    for k_from in range(0, history_scans, step):
        k_to = min(history_scans, k_from + step)
        for source in model.sources:
            ks, idx, rank, age, pop = model.block(source, k_from, k_to)
            if idx is None:
                continue
            chart = chart_of(source)
            feed = source.startswith("feed:")
            size = None if feed else model.slots
            idx_l, rank_l, age_l, pop_l = idx.tolist(), rank.tolist(), age.tolist(), pop.tolist()
            batch = []
            for r, k in enumerate(ks.tolist()):
                when = db_times[k]
                for i, rk, ag, po in zip(idx_l[r], rank_l[r], age_l[r], pop_l[r]):
                    batch.append((item_ids[i], source, chart, sid(source, i), when, None if feed else rk, size,
                                  _metrics_json(source, ag, po)))
            con.executemany(sql, batch)
            total += len(batch)
        if args.verbose:
            print(f"  ... {k_to}/{history_scans} scans, {total:,} snapshots, {time.perf_counter() - started:.0f} s",
                  flush=True)
    con.execute("COMMIT")
    figures["snapshots_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for _, ddl in indexes:
        con.execute(ddl)
    con.execute("ANALYZE")
    con.close()
    figures["indexes_s"] = time.perf_counter() - started
    figures["snapshots"] = total

    # Scores: the service's own rescore for recent items, day by day (its window is 72 h per item).
    started = time.perf_counter()
    catalog = services.trends.catalog
    end = history_scans - 1
    recent_from = max(0, end - args.score_days * 48)
    by_day: dict[int, list[str]] = {}
    old: list[str] = []
    for n, item in enumerate(model.items):
        if item["first"] >= history_scans:
            continue
        last = min(item["last"], end)
        (by_day.setdefault(last // 48, []) if last >= recent_from else old).append(item_ids[n])
    sample_id = None
    for day, ids in sorted(by_day.items()):
        catalog.rescore(ids, now=times[min(end, day * 48 + 47)])
        sample_id = ids[-1]
    if old and sample_id is not None:
        from sqlalchemy import update

        with db.session() as s:
            sample = s.get(TrendItem, sample_id)
            scores, viral = sample.scores, sample.viral_score
        with db.engine.begin() as conn:
            for start in range(0, len(old), 2000):
                conn.execute(update(TrendItem.__table__).where(TrendItem.__table__.c.id.in_(old[start:start + 2000]))
                             .values(scores=scores, viral_score=viral, scored_at=times[end]))
    figures["scoring_s"] = time.perf_counter() - started
    figures["scored_items"] = sum(len(v) for v in by_day.values())
    figures["copied_scores"] = len(old)
    return figures


def fetchers_for(model: Model, state: dict, t0: datetime):
    from studio.connectors.charts import ChartEntry

    def make(source: str):
        async def fetch(config: dict) -> list[ChartEntry]:
            k = state["k"]
            _, idx, rank, age, pop = model.block(source, k, k + 1)
            feed = source.startswith("feed:")
            video = source == "youtube" or feed
            out = []
            for i, rk, ag, po in zip(idx[0].tolist(), rank[0].tolist(), age[0].tolist(), pop[0].tolist()):
                item = model.items[i]
                shared = item["key"][0] == "shared"
                published = t0 + timedelta(seconds=SCAN_S * item["first"]) - timedelta(hours=3) if video else None
                out.append(ChartEntry(
                    source="feed" if feed else source, chart=chart_of(source), item_id=sid(source, i),
                    title=item["title"], artist=item["artist"], rank=None if feed else rk,
                    url=f"https://example.invalid/{i}", published_at=published, duration_s=item["duration_s"],
                    isrc=item["isrc"] if source == "deezer" else None,
                    bpm=item["bpm"] if source == "deezer" and shared else None, tags=tuple(item["tags"]),
                    metrics=Model.metrics(source, ag, po)))
            return out
        return fetch

    return {name: make(name) for name in model.sources}


async def scan_with_ticker(scanner) -> tuple[dict, float]:
    """One scan, with a task beside it that sleeps TICK_S at a time: the longest gap between its
    wake-ups (less the tick) is the longest the scan kept the loop from running anything else."""
    done = asyncio.Event()
    longest = 0.0

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            longest = max(longest, now - last - TICK_S)
            last = now

    ticker = asyncio.ensure_future(tick())
    await asyncio.sleep(0)  # let the ticker take its first time
    try:
        summary = await scanner.scan()
    finally:
        done.set()
        await ticker
    return summary, longest


def profiled(trends) -> cProfile.Profile:
    """Profile the scan's storing and scoring steps in whichever thread they run (a cProfile
    profiler only sees the thread that enabled it)."""
    profiler = cProfile.Profile()

    def wrap(owner, name: str) -> None:
        inner = getattr(owner, name)

        def call(*a, **kw):
            profiler.enable()
            try:
                return inner(*a, **kw)
            finally:
                profiler.disable()
        setattr(owner, name, call)

    wrap(trends.scanner, "ingest")
    wrap(trends.catalog, "rescore")
    return profiler


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print("profile of the timed scans' ingest + rescore (all runs, by own time):")
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


async def measure_api(services, args) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from studio.server.app import build_app

    key, _ = services.auth.create_key("benchmark", role="admin")
    headers = {"Authorization": f"Bearer {key}"}
    client = TestClient(TestServer(build_app(services)))
    await client.start_server()
    try:
        for name, path, n in (("current", "/api/trending/current", args.current_requests),
                              ("patterns", "/api/trending/patterns", args.patterns_requests)):
            response = await client.get(path, headers=headers)  # warm-up (key check, caches)
            assert response.status == 200, await response.text()
            body = await response.json()
            samples = []
            for _ in range(n):
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                await response.read()
                samples.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    raise SystemExit(f"{path}: HTTP {response.status}")
            print(_summary(f"GET {path}", samples, TARGETS_MS[name]))
            data = body.get("data", body)
            if name == "current":
                print(f"    total_trends={data.get('total_trends')} filtered={data.get('filtered_trends')} "
                      f"returned={len(data.get('trends') or [])}")
            else:
                print(f"    rising_items={data.get('rising_items')} (timeframe 30d)")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--items", type=int, default=200, help="chart slots per source")
    parser.add_argument("--home", type=Path, default=None, help="data dir (default: a temporary one)")
    parser.add_argument("--ingest-runs", type=int, default=5)
    parser.add_argument("--current-requests", type=int, default=200)
    parser.add_argument("--patterns-requests", type=int, default=50)
    parser.add_argument("--score-days", type=int, default=30,
                        help="items last seen within this many days are scored by the service")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the timed scans' ingest and rescore and print the top N functions")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.home is None:
        with tempfile.TemporaryDirectory(prefix="trends-bench-") as home:
            run(args, Path(home))
    else:
        run(args, args.home)


def run(args, home: Path) -> None:
    os.environ.pop("STUDIO_DATABASE_URL", None)
    os.environ["STUDIO_HOME"] = str(home)
    from studio.app import build_services, shutdown
    from studio.config import RateLimit, Settings, _default_rate_limits
    from studio.services.trends.sources import feed_name

    # Lift the rate limits: this measures latency, not the limiter.
    limits = {**_default_rate_limits(), "/api/trending/": RateLimit(requests=100_000_000, window_s=3600)}
    settings = Settings(home=home, port=0, rate_limits=limits)
    services = build_services(settings)
    try:
        trends = services.trends
        for name in ("deezer", "apple_music", "lastfm", "youtube"):
            trends.sources.configure(name, enabled=True)
        trends.sources.add_feed(FEED_URL)
        sources = ["deezer", "apple_music", "lastfm", "youtube", feed_name(FEED_URL)]
        live = 1 + args.ingest_runs
        scans = args.days * 48
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        t_last = now - timedelta(minutes=now.minute % 30)
        t0 = t_last - timedelta(seconds=SCAN_S * (scans - 1))
        print(f"SYNTHETIC data (generated for this benchmark only): {len(sources)} sources x {args.items} items, "
              f"48 scans/day, {args.days} days ({scans:,} scans; youtube keeps its last {YOUTUBE_DAYS} days)")
        started = time.perf_counter()
        model = Model(sources, scans, args.items)
        print(f"model: {len(model.items):,} songs in {time.perf_counter() - started:.1f} s")
        figures = build(args, services, model, t0, scans - live)
        gc.freeze()  # as studio.app.start_background does once the studio has started
        print(f"bulk load: items {figures['items_s']:.1f} s, {figures['snapshots']:,} snapshots "
              f"{figures['snapshots_s']:.1f} s, indexes {figures['indexes_s']:.1f} s, scoring "
              f"{figures['scored_items']:,} items by catalog.rescore + {figures['copied_scores']:,} copied "
              f"{figures['scoring_s']:.1f} s")

        # The last scans through the real path.
        state = {"k": scans - live}
        trends.sources.fetchers.update(fetchers_for(model, state, t0))
        trends.scanner.clock = lambda: t0 + timedelta(seconds=SCAN_S * state["k"])
        samples, gaps = [], []
        profiler = profiled(trends) if args.profile else None
        loop = asyncio.new_event_loop()
        try:
            for run_no in range(live):
                started = time.perf_counter()
                summary, gap_s = loop.run_until_complete(scan_with_ticker(trends.scanner))
                elapsed = time.perf_counter() - started
                if run_no:  # the first is a warm-up
                    samples.append(elapsed * 1000)
                    gaps.append(gap_s * 1000)
                if summary["errors"]:
                    raise SystemExit(f"scan errors: {summary['errors']}")
                state["k"] += 1
            print(_summary(f"scan ingest ({summary['items']} entries)", samples))
            print(_summary("loop blocked during a scan (max)", gaps, LOOP_BLOCK_TARGET_MS)
                  + f"\n    the longest gap between {TICK_S * 1000:g} ms ticks of a task running beside the scan,"
                  " less the tick")
            if profiler is not None:
                print_profile(profiler, args.profile)
            print(f"    per scan: new_items={summary['new_items']} retention={summary['retention']}")

            path = services.context.db.sqlite_path
            with services.context.db.engine.connect() as conn:  # fold the WAL in: the size a restart sees
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            from sqlalchemy import func, select

            from studio.db.models import TrendItem, TrendSnapshot, TrendSource

            with services.context.db.session() as s:
                counts = {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                          for m in (TrendSource, TrendItem, TrendSnapshot)}
            print(f"database: {size / 1e6:,.1f} MB on disk ({path.name} + WAL); rows: "
                  + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
            loop.run_until_complete(measure_api(services, args))
        finally:
            loop.close()
    finally:
        shutdown(services)


if __name__ == "__main__":
    main()
