"""Community at scale: import 100 000 messages, then time the analytics and inbox queries.

    .venv/bin/python benchmarks/community.py [--messages 100000] [--members 5000] [--requests 100] [--home DIR]

All messages here are SYNTHETIC, generated for this benchmark only: a DiscordChatExporter JSON
file with --messages messages by --members authors over 90 days (comment-like texts built from a
word list, some with reactions, one in five a reply to an earlier message). It goes through the
real path a user's import takes: `community.imports.import_file` (parse, sentiment, members,
dedupe), timed as messages/s. Then:
- sentiment throughput on its own (`community.sentiment.score`, one core);
- `GET /api/community/analytics` and `GET /api/community/messages` (the inbox's first page, and a
  filtered page: needs reply + negative) through the full aiohttp app (middlewares, auth with an API
  key, rate limits lifted) on a TestServer, and the inbox query called directly.
Targets (issue #16): import >= 5 000 messages/s including sentiment; inbox page <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("this beat slaps fire track love the mix vocals drop bass lofi chill synth vibe melody "
         "hard mid muddy loud quiet can you make more please when album release spotify link "
         "coding study night rain piano drums kick snare goes crazy sick underrated repeat").split()
TARGETS = {"import_msgs_per_s": 5000.0, "inbox_ms": 50.0}


def synthetic_export(n: int, members: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    span_s = 90 * 86400
    messages = []
    for i in range(n):
        author = rng.randrange(members)
        at = start + timedelta(seconds=span_s * i / n)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        message = {
            "id": str(10**17 + i), "type": "Default", "timestamp": at.isoformat(),
            "content": text,
            "author": {"id": str(10**15 + author), "name": f"user{author}", "nickname": f"User {author}",
                       "isBot": False},
            "reactions": [{"emoji": {"name": "🔥"}, "count": rng.randint(1, 9)}] if rng.random() < 0.3 else [],
            "mentions": [],
        }
        if i and rng.random() < 0.2:
            message["type"] = "Reply"
            message["reference"] = {"messageId": str(10**17 + rng.randrange(i)), "channelId": "900"}
        messages.append(message)
    export = {"guild": {"id": "800", "name": "Bench guild"},
              "channel": {"id": "900", "type": "GuildTextChat", "name": "general"},
              "messages": messages, "messageCount": n}
    return json.dumps(export).encode()


def summary(label: str, samples_ms: list[float], target_ms: float | None = None) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    line = f"{label}: median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(ordered)})"
    if target_ms is not None:
        line += f"  [target p95 <= {target_ms:.0f} ms: {'met' if p95 <= target_ms else 'NOT met'}]"
    return line


async def measure_api(services, requests: int) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from studio.server.app import build_app

    key, _ = services.auth.create_key("benchmark", role="admin")
    headers = {"Authorization": f"Bearer {key}"}
    client = TestClient(TestServer(build_app(services)))
    await client.start_server()
    try:
        for label, path, target in (
            ("GET /api/community/analytics", "/api/community/analytics", None),
            ("GET /api/community/messages (first page)", "/api/community/messages?limit=50", TARGETS["inbox_ms"]),
            ("GET /api/community/messages (needs reply, negative)",
             "/api/community/messages?limit=50&needs_reply=true&sentiment=negative", TARGETS["inbox_ms"]),
            ("GET /api/community/messages (search)", "/api/community/messages?limit=50&search=album", TARGETS["inbox_ms"]),
        ):
            response = await client.get(path, headers=headers)
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}: {await response.text()}")
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                await response.read()
                samples.append((time.perf_counter() - started) * 1000)
            print(summary(label, samples, target))
    finally:
        await client.close()


def run(args, home: Path) -> None:
    os.environ.pop("STUDIO_DATABASE_URL", None)
    os.environ["STUDIO_HOME"] = str(home)
    from studio.app import build_services, shutdown
    from studio.config import RateLimit, Settings, _default_rate_limits

    limits = {**_default_rate_limits(), "/api/community/": RateLimit(requests=100_000_000, window_s=3600)}
    services = build_services(Settings(home=home, port=0, rate_limits=limits))
    try:
        community = services.community
        data = synthetic_export(args.messages, args.members)
        print(f"synthetic DiscordChatExporter file: {args.messages} messages, {args.members} authors, "
              f"{len(data) / 1e6:.1f} MB")

        from studio.connectors.community_files import parse_messages_file

        started = time.perf_counter()
        parsed = parse_messages_file(data, "bench_export.json")
        print(f"parse only: {len(parsed.messages):,} messages in {time.perf_counter() - started:.2f} s")

        texts = [m["content"] for m in json.loads(data)["messages"][:20000]]
        started = time.perf_counter()
        for text in texts:
            community.sentiment.score(text)
        elapsed = time.perf_counter() - started
        print(f"sentiment: {len(texts) / elapsed:,.0f} messages/s (one core)")

        started = time.perf_counter()
        result = asyncio.run(community.imports.import_file(data, "bench_export.json"))
        elapsed = time.perf_counter() - started
        rate = result["imported"] / elapsed
        print(f"import: {result['imported']} messages in {elapsed:.2f} s = {rate:,.0f} messages/s "
              f"(parse + sentiment + members + store) [target >= {TARGETS['import_msgs_per_s']:,.0f}: "
              f"{'met' if rate >= TARGETS['import_msgs_per_s'] else 'NOT met'}]")
        started = time.perf_counter()
        again = asyncio.run(community.imports.import_file(data, "bench_export.json"))
        print(f"re-import of the same file: {again['imported']} new, {again['duplicates']} duplicates "
              f"in {time.perf_counter() - started:.2f} s")

        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            community.inbox.messages(limit=50)
            samples.append((time.perf_counter() - started) * 1000)
        print(summary("inbox.messages (service call, first page)", samples, TARGETS["inbox_ms"]))
        asyncio.run(measure_api(services, args.requests))
    finally:
        shutdown(services)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    if args.home is None:
        with tempfile.TemporaryDirectory(prefix="community-bench-") as home:
            run(args, Path(home))
    else:
        run(args, args.home)


if __name__ == "__main__":
    main()
