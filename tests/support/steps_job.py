"""The test-only job kind `test.steps`, shared by the service, HTTP and GUI tests.

A job runs `steps` steps (param, default 2) of `step_s` seconds (default 0.01), reporting
"step i/n" progress after each; `fail_at` fails that step. Given a `gate`, a job holds after its
first step until the gate is set, checking for cancellation meanwhile, so a test decides when it
finishes (the GUI tests use this to look at a running job).
"""

from __future__ import annotations

import threading
import time

from studio.jobs import JobContext, JobError, JobHandler

KIND = "test.steps"
HOLD_POLL_S = 0.01


class StepsJob:
    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate

    def run(self, job: JobContext) -> dict:
        steps = int(job.params.get("steps", 2))
        step_s = float(job.params.get("step_s", 0.01))
        fail_at = job.params.get("fail_at")
        for index in range(steps):
            if fail_at is not None and index == int(fail_at):
                raise JobError(f"step {index} failed on purpose", code="TEST_FAILURE")
            if index == 1 and self.gate is not None:
                while not self.gate.wait(HOLD_POLL_S):
                    job.check_cancelled()
            time.sleep(step_s)
            job.progress(100.0 * (index + 1) / steps, f"step {index + 1}/{steps}")
        return {"steps_done": steps, "attempt": job.attempt}

    def handler(self) -> JobHandler:
        return JobHandler(kind=KIND, run=self.run, id_prefix="test")


def steps_handler() -> JobHandler:
    """The kind without a gate: every job runs straight through."""
    return StepsJob().handler()
