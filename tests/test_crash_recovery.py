"""Kill the studio (SIGKILL) in the middle of a job; the next start re-queues it and it completes."""

import signal
import sqlite3
import time

import httpx
import pytest

from tests.support.processes import StudioProcess

pytestmark = pytest.mark.slow


def _job(base: str, key: str, job_id: str) -> dict:
    return httpx.get(f"{base}/api/jobs/{job_id}", headers={"X-API-Key": key}, timeout=10).json()["job"]


def test_sigkill_mid_job_then_restart_completes_it(tmp_path):
    home = tmp_path / "home"
    first = StudioProcess(["-m", "tests.support.serve_with_test_jobs", "--submit", "40"], home)
    try:
        job_id = first.wait_for(r"JOB (\S+)").group(1)
        key = first.wait_for(r"API key:\s+(\S+)").group(1)
        base = first.base_url()
        deadline = time.monotonic() + 30
        while True:
            job = _job(base, key, job_id)
            if job["status"] == "processing" and job["progress"] >= 10:
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.stop()

    with sqlite3.connect(home / "studio.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status, progress = db.execute("SELECT status, progress FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert status == "processing" and 10 <= progress < 100

    second = StudioProcess(["-m", "tests.support.serve_with_test_jobs"], home)
    try:
        base = second.base_url()
        deadline = time.monotonic() + 60
        while (job := _job(base, key, job_id))["status"] not in ("completed", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "completed"
        assert job["attempts"] == 2 and job["result"]["attempt"] == 2
    finally:
        second.stop()
