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


def test_sigterm_while_a_step_cannot_be_interrupted_exits_cleanly(tmp_path):
    """Issue #19: SIGTERM with a job inside a long step ended in an abort ("terminate called
    without an active exception"). Now it exits 0 within the stop timeout and says the job resumes."""
    home = tmp_path / "home"
    proc = StudioProcess(["-m", "tests.support.serve_with_test_jobs", "--submit", "2", "--step-s", "30"], home)
    try:
        job_id = proc.wait_for(r"JOB (\S+)").group(1)
        key = proc.wait_for(r"API key:\s+(\S+)").group(1)
        base = proc.base_url()
        deadline = time.monotonic() + 30
        while _job(base, key, job_id)["status"] != "processing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        code = proc.proc.wait(20)
        assert code == 0 and time.monotonic() - started < 15
        proc.wait_for(r"resumes at the next start", timeout_s=5)
        assert not any("terminate called" in line or "Traceback" in line for line in proc.lines)
    finally:
        proc.stop()
    with sqlite3.connect(home / "studio.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()[0] == "processing"
