"""Latency of the local API and of the job queue, against a real `studio serve` process.

    .venv/bin/python benchmarks/api.py [--requests 500]

Prints p50/p95/max latency for sequential and concurrent authenticated requests (auth, rate
limiting, request log and error middlewares included).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.processes import StudioProcess  # noqa: E402


def _summary(name: str, samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (f"{name:<34} n={len(ordered):<5} p50={statistics.median(ordered):6.2f} ms  "
            f"p95={p95:6.2f} ms  max={ordered[-1]:6.2f} ms")


async def _concurrent(base: str, key: str, total: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as client:
        async def one() -> None:
            async with semaphore:
                started = time.perf_counter()
                response = await client.get("/api/health")
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        return latencies, time.perf_counter() - started


def _load(base: str, key: str, seconds: int) -> None:
    """Authenticated GET /api/status under load with wrk (when installed: Debian `wrk`), at 1, 16
    and 64 connections; issue #19's bar is >= 2 000 req/s at 64 with p99 <= 50 ms."""
    if not shutil.which("wrk") or seconds <= 0:
        print("load: wrk not installed (apt install wrk); skipped")
        return
    for connections in (1, 16, 64):
        out = subprocess.run(["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections), "-d", f"{seconds}s",
                              "--latency", "-H", f"X-API-Key: {key}", f"{base}/api/status"],
                             capture_output=True, text=True, check=True).stdout
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
        p99 = re.search(r"99%\s+(\S+)", out).group(1)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        print(f"wrk GET /api/status  {connections:>2} connections: {float(rate):8.0f} req/s  p99={p99}"
              + (f"  NON-2xx={errors.group(1)}" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--load-s", type=int, default=10, help="seconds of wrk load per connection count (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        # Lift the rate limits: this measures latency, not the limiter.
        limits = '{"default": {"requests": 100000000, "window_s": 3600}}'
        proc = StudioProcess(["-m", "tests.support.serve_with_test_jobs"], Path(home), env={"STUDIO_RATE_LIMITS": limits})
        try:
            base = proc.base_url()
            key = proc.wait_for(r"API key:\s+(\S+)").group(1)
            with httpx.Client(base_url=base, headers={"X-API-Key": key}) as client:
                client.get("/api/status").raise_for_status()
                for path in ("/api/health", "/api/status", "/api/jobs?limit=20"):
                    samples = []
                    for _ in range(args.requests):
                        started = time.perf_counter()
                        client.get(path).raise_for_status()
                        samples.append((time.perf_counter() - started) * 1000)
                    print(_summary(f"sequential GET {path}", samples))
            latencies, wall = asyncio.run(_concurrent(base, key, args.requests, 20))
            print(_summary("20 concurrent GET /api/health", latencies) + f"  throughput={len(latencies) / wall:.0f} req/s")
            _load(base, key, args.load_s)
        finally:
            proc.stop()


if __name__ == "__main__":
    main()
