"""A test-only job kind: `steps` steps of `step_s` seconds, reporting progress after each."""

from __future__ import annotations

import time

from studio.jobs import JobContext, JobError, JobHandler

KIND = "test.steps"


def run_steps(job: JobContext) -> dict:
    steps = int(job.params.get("steps", 3))
    step_s = float(job.params.get("step_s", 0.01))
    fail_at = job.params.get("fail_at")
    for index in range(steps):
        if fail_at is not None and index == int(fail_at):
            raise JobError(f"step {index} failed on purpose", code="TEST_FAILURE")
        time.sleep(step_s)
        job.progress(100.0 * (index + 1) / steps, f"step {index + 1}/{steps}")
    return {"steps_done": steps, "attempt": job.attempt}


def steps_handler() -> JobHandler:
    return JobHandler(kind=KIND, run=run_steps, id_prefix="test")
