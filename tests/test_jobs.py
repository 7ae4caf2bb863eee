import asyncio

import pytest

from studio.jobs import JobStateError, UnknownJob
from tests.support.steps_job import KIND


async def test_job_runs_to_completion_with_progress_events(running_services):
    events = []
    running_services.events.subscribe(lambda name, data: events.append((name, data["status"], data["progress"], data["stage"])))
    job = running_services.context.jobs.submit(KIND, {"steps": 4}, title="four steps")
    assert job["status"] == "queued" and job["id"].startswith("test_")
    done = await running_services.context.jobs.wait(job["id"], timeout_s=10)
    assert done["status"] == "completed"
    assert done["progress"] == 100.0
    assert done["result"] == {"steps_done": 4, "attempt": 1}
    assert done["started_at"] and done["finished_at"]
    names = [e[0] for e in events]
    assert names[0] == "job_queued" and names[-1] == "job_completed"
    progress = [e[2] for e in events if e[0] == "job_progress"]
    assert progress == sorted(progress) and 100.0 in progress
    assert any(e[3] == "step 2/4" for e in events)


async def test_failure_is_recorded_with_message(running_services):
    job = running_services.context.jobs.submit(KIND, {"steps": 3, "fail_at": 1})
    done = await running_services.context.jobs.wait(job["id"], timeout_s=10)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "TEST_FAILURE"
    assert "step 1 failed" in done["error"]["message"]


async def test_cancel_running_and_queued_jobs(running_services):
    slow = running_services.context.jobs.submit(KIND, {"steps": 200, "step_s": 0.02})
    waiting = running_services.context.jobs.submit(KIND, {"steps": 1})
    assert running_services.context.jobs.queue_position(waiting["id"]) >= 1
    for _ in range(200):
        if running_services.context.jobs.get(slow["id"])["status"] == "processing":
            break
        await asyncio.sleep(0.01)
    assert running_services.context.jobs.cancel(waiting["id"])["status"] == "cancelled"
    running_services.context.jobs.cancel(slow["id"])
    done = await running_services.context.jobs.wait(slow["id"], timeout_s=10)
    assert done["status"] == "cancelled"
    assert done["progress"] < 100
    with pytest.raises(JobStateError, match="already cancelled"):
        running_services.context.jobs.cancel(slow["id"])
    assert (await running_services.context.jobs.wait(waiting["id"]))["status"] == "cancelled"


async def test_retry_creates_a_new_job_with_same_params(running_services):
    job = running_services.context.jobs.submit(KIND, {"steps": 2, "fail_at": 1})
    await running_services.context.jobs.wait(job["id"])
    again = running_services.context.jobs.retry(job["id"])
    assert again["id"] != job["id"] and again["retry_of"] == job["id"]
    assert again["params"] == job["params"] and again["kind"] == KIND
    with pytest.raises(UnknownJob):
        running_services.context.jobs.retry("test_0000000000000000")


async def test_max_concurrent_runs_jobs_in_parallel(running_services):
    running_services.context.jobs.set_max_concurrent(2)
    a = running_services.context.jobs.submit(KIND, {"steps": 20, "step_s": 0.02})
    b = running_services.context.jobs.submit(KIND, {"steps": 20, "step_s": 0.02})
    seen_both = False
    for _ in range(300):
        statuses = {running_services.context.jobs.get(a["id"])["status"], running_services.context.jobs.get(b["id"])["status"]}
        if statuses == {"processing"}:
            seen_both = True
            break
        await asyncio.sleep(0.005)
    assert seen_both
    await running_services.context.jobs.wait(a["id"])
    await running_services.context.jobs.wait(b["id"])


async def test_restart_requeues_interrupted_jobs(services):
    job = services.context.jobs.submit(KIND, {"steps": 2})
    # Simulate a crash mid-job: the row says processing, no worker runs it.
    from studio.db.models import Job

    with services.context.db.session() as s:
        row = s.get(Job, job["id"])
        row.status, row.progress, row.attempts = "processing", 40.0, 1
    services.context.jobs.start(asyncio.get_running_loop())
    try:
        done = await services.context.jobs.wait(job["id"], timeout_s=10)
    finally:
        services.context.jobs.stop()
    assert done["status"] == "completed" and done["attempts"] == 2


async def test_counts_follow_every_status_change_and_rows_written_behind_the_queue(running_services, monkeypatch):
    """counts() is cached for GET /api/status; a job event forgets it at once, and a row written
    without an event (maintenance) shows once the short TTL has passed."""
    import studio.jobs as jobs_module
    from studio.db.models import Job

    jobs = running_services.context.jobs
    before = jobs.counts()
    job = jobs.submit(KIND, {"steps": 1, "step_s": 0.0})
    assert jobs.counts()["queued"] + jobs.counts()["processing"] + jobs.counts()["completed"] == \
        before["queued"] + before["processing"] + before["completed"] + 1
    finished = await jobs.wait(job["id"], timeout_s=10)
    assert finished["status"] == "completed"
    assert jobs.counts()["completed"] == before["completed"] + 1

    with running_services.context.db.session() as s:  # behind the queue's back: no event
        s.get(Job, job["id"]).status = "failed"
    monkeypatch.setattr(jobs_module, "COUNTS_TTL_S", 0.0)
    assert jobs.counts()["completed"] == before["completed"]
    assert jobs.counts()["failed"] == before["failed"] + 1
