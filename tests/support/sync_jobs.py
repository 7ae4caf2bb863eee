"""A job queue that runs its work in the caller's thread (the way Picard's tests replace its thread
pool): no worker threads, no event loop. Jobs wait until `run_pending()` (on demand) or run as soon
as they are submitted (`inline=True`). Everything else (job rows, events, handlers' `complete`,
cancellation, retries) is the real `JobQueue`'s, so services behave as they do in the app."""

from __future__ import annotations

import queue
from typing import Any

from studio.jobs import JobQueue


class SyncJobQueue(JobQueue):
    def __init__(self, db, events, *, inline: bool = False, max_concurrent: int = 1) -> None:
        super().__init__(db, events, max_concurrent=max_concurrent)
        self.inline = inline
        self._running = True  # the real worker body skips jobs while the queue is stopped
        self._in_run = False

    def start(self, loop=None) -> None:  # no workers to start: work runs in run_pending()
        self._running = True

    def stop(self, timeout_s: float = 5.0) -> None:
        self._running = False

    def submit(self, kind: str, params: dict[str, Any], **kwargs) -> dict[str, Any]:
        data = super().submit(kind, params, **kwargs)
        if self.inline:
            self.run_pending()
        return data

    def enqueue_existing(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        super().enqueue_existing(job_id, kind, params)
        if self.inline:
            self.run_pending()

    @property
    def pending(self) -> int:
        """Jobs handed to the (absent) workers and not run yet."""
        return self._work.qsize()

    def run_pending(self, *, limit: int | None = None) -> int:
        """Run waiting jobs one after another in this thread, in order, including those that
        finishing jobs release (batch slots, playlist mixes); at most `limit`. Returns how many ran."""
        if self._in_run:  # released from inside a running job: the outer loop takes it
            return 0
        ran = 0
        while limit is None or ran < limit:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._run_item(item)
                ran += 1
        return ran

    def _run_item(self, item) -> None:
        # The real worker body on a queue holding just this item and the stop sentinel.
        waiting, self._work = self._work, queue.Queue()
        self._work.put(item)
        self._work.put(None)
        self._in_run = True
        try:
            self._worker()
        finally:
            self._in_run = False
            while not self._work.empty():  # enqueued while it ran: back in line after the others
                released = self._work.get_nowait()
                if released is not None:
                    waiting.put(released)
            self._work = waiting

    # Worker -> loop hops happen in place: there is one thread.
    def _call_on_loop(self, fn, *args) -> None:
        fn(*args)
