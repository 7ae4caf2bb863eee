import asyncio

import aiohttp
from PySide6.QtCore import Qt

from studio.server.app import ApiServer
from studio.ui.widgets.jobs_dock import COL_PROGRESS, COL_STAGE, COL_STATUS, COL_TITLE
from tests.support.steps_job import KIND


def cell(window, job_id, column):
    model = window.jobs_dock.model
    row = model.row_of(job_id)
    return None if row is None else model.index(row, column).data()


def test_dock_lists_jobs_that_existed_before_the_window(services, qtbot, step_job):
    from studio.ui.app import create_main_window

    step_job.gate.set()
    job = services.context.jobs.submit(KIND, {}, title="Earlier")
    qtbot.waitUntil(lambda: services.context.jobs.get(job["id"])["status"] == "completed", timeout=5000)
    win = create_main_window(services)
    qtbot.addWidget(win)
    assert win.jobs_dock.model.row_of(job["id"]) is not None
    assert cell(win, job["id"], COL_STATUS) == "completed"
    assert cell(win, job["id"], COL_TITLE) == "Earlier"  # the title alone: the internal kind is for the tooltip
    tip = win.jobs_dock.model.data(win.jobs_dock.model.index(win.jobs_dock.model.row_of(job["id"]), COL_TITLE),
                                   Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith(KIND)
    win.close()


def test_dock_shows_progress_live_then_completion(window, services, qtbot, step_job):
    job = services.context.jobs.submit(KIND, {"steps": 2}, title="Steps")
    qtbot.waitUntil(lambda: cell(window, job["id"], COL_STATUS) is not None, timeout=2000)
    qtbot.waitUntil(lambda: cell(window, job["id"], COL_PROGRESS) == "50%", timeout=5000)
    assert cell(window, job["id"], COL_STATUS) == "processing"
    assert cell(window, job["id"], COL_STAGE) == "step 1/2"
    assert window.jobs_dock.model.active_count() == 1

    step_job.gate.set()
    qtbot.waitUntil(lambda: cell(window, job["id"], COL_STATUS) == "completed", timeout=5000)
    assert cell(window, job["id"], COL_PROGRESS) == "100%"
    assert window.jobs_dock.model.job(job["id"])["result"] == {"steps_done": 2, "attempt": 1}
    # the progress column is painted by the delegate without errors
    window.jobs_dock.view.viewport().grab()


def test_cancel_and_retry_from_the_dock(window, services, qtbot, step_job, message_boxes):
    dock = window.jobs_dock
    running = services.context.jobs.submit(KIND, {}, title="Long")
    waiting = services.context.jobs.submit(KIND, {}, title="Waiting")
    qtbot.waitUntil(lambda: cell(window, running["id"], COL_PROGRESS) == "50%", timeout=5000)
    assert cell(window, waiting["id"], COL_STATUS) == "queued"

    # a queued job is cancelled at once
    assert dock.select_job(waiting["id"])
    assert dock.cancel_button.isEnabled() and not dock.retry_button.isEnabled()
    qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell(window, waiting["id"], COL_STATUS) == "cancelled", timeout=3000)

    # a running one stops at its next cancellation point
    dock.select_job(running["id"])
    qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    assert not dock.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: cell(window, running["id"], COL_STATUS) == "cancelled", timeout=5000)
    assert services.context.jobs.get(running["id"])["status"] == "cancelled"
    assert dock.retry_button.isEnabled() and not dock.cancel_button.isEnabled()

    # retry makes a new job with the same params, which runs to the end
    step_job.gate.set()
    qtbot.mouseClick(dock.retry_button, Qt.MouseButton.LeftButton)
    retried = dock.selected_job()
    assert retried["id"] != running["id"] and retried["retry_of"] == running["id"]
    qtbot.waitUntil(lambda: cell(window, retried["id"], COL_STATUS) == "completed", timeout=5000)
    assert message_boxes == []

    # the job finished between selecting and clicking: a message, not a crash
    dock.select_job(retried["id"])
    dock.cancel_selected()
    assert message_boxes and message_boxes[-1][0] == "warning"
    assert message_boxes[-1][1] == "Cannot cancel"
    assert "already completed" in message_boxes[-1][2]


def test_retry_of_a_running_job_is_refused_with_a_message(window, services, qtbot, message_boxes):
    job = services.context.jobs.submit(KIND, {})
    qtbot.waitUntil(lambda: cell(window, job["id"], COL_STATUS) == "processing", timeout=5000)
    window.jobs_dock.select_job(job["id"])
    window.jobs_dock.retry_selected()
    assert message_boxes[-1][1] == "Cannot retry"
    assert "still processing" in message_boxes[-1][2]


def test_a_job_started_through_the_api_appears_live(window, services, qtbot, qt_loop):
    key, _ = services.auth.create_key("test", role="admin")

    async def start_backup_over_http():
        server = ApiServer(services)
        port = await server.start("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"http://127.0.0.1:{port}/api/system/backup",
                                        headers={"Authorization": f"Bearer {key}"}) as response:
                    return response.status, await response.json()
        finally:
            await server.stop()

    status, body = qt_loop.run_until_complete(asyncio.wait_for(start_backup_over_http(), 20))
    assert status in (200, 202), body
    backup_id = body["backup_id"]
    qtbot.waitUntil(lambda: cell(window, backup_id, COL_STATUS) == "completed", timeout=10000)
    assert cell(window, backup_id, COL_PROGRESS) == "100%"
