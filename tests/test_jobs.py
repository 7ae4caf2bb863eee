import asyncio

import pytest

from studio.jobs import JobStateError, UnknownJob
from tests.support.steps_job import KIND


async def test_job_runs_to_completion_with_progress_events(running_ctx):
    events = []
    running_ctx.events.subscribe(lambda name, data: events.append((name, data["status"], data["progress"], data["stage"])))
    job = running_ctx.jobs.submit(KIND, {"steps": 4}, title="four steps")
    assert job["status"] == "queued" and job["id"].startswith("test_")
    done = await running_ctx.jobs.wait(job["id"], timeout_s=10)
    assert done["status"] == "completed"
    assert done["progress"] == 100.0
    assert done["result"] == {"steps_done": 4, "attempt": 1}
    assert done["started_at"] and done["finished_at"]
    names = [e[0] for e in events]
    assert names[0] == "job_queued" and names[-1] == "job_completed"
    progress = [e[2] for e in events if e[0] == "job_progress"]
    assert progress == sorted(progress) and 100.0 in progress
    assert any(e[3] == "step 2/4" for e in events)


async def test_failure_is_recorded_with_message(running_ctx):
    job = running_ctx.jobs.submit(KIND, {"steps": 3, "fail_at": 1})
    done = await running_ctx.jobs.wait(job["id"], timeout_s=10)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "TEST_FAILURE"
    assert "step 1 failed" in done["error"]["message"]


async def test_cancel_running_and_queued_jobs(running_ctx):
    slow = running_ctx.jobs.submit(KIND, {"steps": 200, "step_s": 0.02})
    waiting = running_ctx.jobs.submit(KIND, {"steps": 1})
    assert running_ctx.jobs.queue_position(waiting["id"]) >= 1
    for _ in range(200):
        if running_ctx.jobs.get(slow["id"])["status"] == "processing":
            break
        await asyncio.sleep(0.01)
    assert running_ctx.jobs.cancel(waiting["id"])["status"] == "cancelled"
    running_ctx.jobs.cancel(slow["id"])
    done = await running_ctx.jobs.wait(slow["id"], timeout_s=10)
    assert done["status"] == "cancelled"
    assert done["progress"] < 100
    with pytest.raises(JobStateError, match="already cancelled"):
        running_ctx.jobs.cancel(slow["id"])
    assert (await running_ctx.jobs.wait(waiting["id"]))["status"] == "cancelled"


async def test_retry_creates_a_new_job_with_same_params(running_ctx):
    job = running_ctx.jobs.submit(KIND, {"steps": 2, "fail_at": 1})
    await running_ctx.jobs.wait(job["id"])
    again = running_ctx.jobs.retry(job["id"])
    assert again["id"] != job["id"] and again["retry_of"] == job["id"]
    assert again["params"] == job["params"] and again["kind"] == KIND
    with pytest.raises(UnknownJob):
        running_ctx.jobs.retry("test_0000000000000000")


async def test_max_concurrent_runs_jobs_in_parallel(running_ctx):
    running_ctx.jobs.set_max_concurrent(2)
    a = running_ctx.jobs.submit(KIND, {"steps": 20, "step_s": 0.02})
    b = running_ctx.jobs.submit(KIND, {"steps": 20, "step_s": 0.02})
    seen_both = False
    for _ in range(300):
        statuses = {running_ctx.jobs.get(a["id"])["status"], running_ctx.jobs.get(b["id"])["status"]}
        if statuses == {"processing"}:
            seen_both = True
            break
        await asyncio.sleep(0.005)
    assert seen_both
    await running_ctx.jobs.wait(a["id"])
    await running_ctx.jobs.wait(b["id"])


async def test_restart_requeues_interrupted_jobs(ctx):
    job = ctx.jobs.submit(KIND, {"steps": 2})
    # Simulate a crash mid-job: the row says processing, no worker runs it.
    from studio.db.models import Job

    with ctx.db.session() as s:
        row = s.get(Job, job["id"])
        row.status, row.progress, row.attempts = "processing", 40.0, 1
    ctx.jobs.start(asyncio.get_running_loop())
    try:
        done = await ctx.jobs.wait(job["id"], timeout_s=10)
    finally:
        ctx.jobs.stop()
    assert done["status"] == "completed" and done["attempts"] == 2
