"""`studio serve` with the test job kind registered: used by the crash-recovery test.

    python -m tests.support.serve_with_test_jobs [--submit STEPS]
"""

from __future__ import annotations

import argparse
import asyncio

from studio.app import build_services, exit_now, serve_forever, setup_logging
from studio.config import Settings
from tests.support.steps_job import KIND, steps_handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submit", type=int, help="submit a job of this many steps at start")
    parser.add_argument("--step-s", type=float, default=0.1, help="seconds each step takes (not interruptible)")
    args = parser.parse_args()
    settings = Settings(port=0)
    setup_logging(settings)
    services = build_services(settings)
    services.context.jobs.register(steps_handler())
    if args.submit:
        job = services.context.jobs.submit(KIND, {"steps": args.submit, "step_s": args.step_s}, title="crash test")
        print(f"JOB {job['id']}", flush=True)
    if not asyncio.run(serve_forever(services, "127.0.0.1", 0, allow_remote=False)):
        exit_now(0)


if __name__ == "__main__":
    main()
