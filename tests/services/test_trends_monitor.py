"""The trend monitor on a fake clock: intervals by hour of day, priority platforms first, the
schedule re-planning a running monitor, auto-answer limits, and a restart resuming mid-schedule."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from studio.services.trends.monitor import (
    DEFAULT_INTERVALS,
    ScheduleError,
    TrendMonitor,
    estimated_daily_scans,
    format_duration,
    period_for,
)

UTC = timezone.utc


async def settle(turns: int = 60) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


class FakeClock:
    """`clock()` returns `now`; `sleep(s)` waits until `advance` moves `now` past its end."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.requested: list[float] = []
        self._sleepers: list[tuple[datetime, asyncio.Future]] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + timedelta(seconds=seconds), future))
        await future

    async def advance(self, **delta) -> None:
        self.now += timedelta(**delta)
        for due, future in list(self._sleepers):
            if future.done():
                self._sleepers.remove((due, future))
            elif due <= self.now:
                future.set_result(None)
                self._sleepers.remove((due, future))
        await settle()


class FakeSources:
    def __init__(self, enabled: dict[str, bool], items: int = 10) -> None:
        self.enabled = enabled
        self.items = items

    def list_sources(self) -> list[dict]:
        return [{"name": name, "enabled": on, "items_last_scan": self.items} for name, on in self.enabled.items()]


class FakeScanner:
    """Records each scan call; publishes the trends queued in `announce` as `trend_detected`."""

    def __init__(self, events) -> None:
        self.events = events
        self.calls: list[list[str]] = []
        self.announce: list[dict] = []

    async def scan(self, names=None) -> dict:
        self.calls.append(list(names or []))
        for trend in self.announce:
            self.events.publish("trend_detected", trend)
        self.announce = []
        return {"scanned": list(names or []), "errors": {}, "new_items": 1, "scan_time": "x"}


class FakeAnswers:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.made: list[dict] = []

    def answer(self, trend_id, *, strategy="fast_follower", auto=False, **_kw) -> dict:
        self.made.append({"trend_id": trend_id, "auto": auto, "at": self.clock()})
        return {"hijack_id": f"hijack_{len(self.made)}"}

    def answered_trend_ids(self) -> set[str]:
        return {m["trend_id"] for m in self.made}

    def count_between(self, start, end, *, auto=False) -> int:
        end = end or self.clock()
        return sum(1 for m in self.made if start <= m["at"] <= end and (m["auto"] or not auto))


@pytest.fixture
def parts(services):
    clock = FakeClock(datetime(2024, 1, 15, 13, 0, tzinfo=UTC))  # a Monday, peak hours
    sources = FakeSources({"deezer": True, "apple_music": True, "lastfm": False})
    scanner = FakeScanner(services.context.events)
    answers = FakeAnswers(clock)
    made: list[TrendMonitor] = []

    def build() -> TrendMonitor:
        monitor = TrendMonitor(services.context, sources=sources, scanner=scanner, answers=answers, clock=clock,
                               sleep=clock.sleep, local_tz=UTC)
        made.append(monitor)
        return monitor

    yield clock, sources, scanner, answers, build
    for monitor in made:
        monitor.close()


def test_periods_and_daily_scans():
    assert [period_for(h) for h in (0, 6, 7, 11, 12, 15, 16, 18, 19, 22, 23)] == [
        "overnight", "overnight", "normal_hours", "normal_hours", "peak_hours", "peak_hours", "normal_hours",
        "normal_hours", "peak_hours", "peak_hours", "normal_hours"]
    # 8 peak hours x 4 + 9 normal hours x 2 + 7 overnight hours x 1
    assert estimated_daily_scans(DEFAULT_INTERVALS) == 57
    assert estimated_daily_scans({"peak_hours": 30, "normal_hours": 30, "overnight": 30}) == 48
    assert format_duration(6 * 3600 + 23 * 60 + 59) == "6 hours 23 minutes"
    assert format_duration(30) == "0 minutes"


async def test_start_scans_at_once_priority_first_then_by_period(parts):
    clock, _sources, scanner, _answers, build = parts
    monitor = build()
    scheduled = monitor.schedule({"priority_platforms": ["apple_music"]})
    assert scheduled["next_scan"] is None and "next_scan" in scheduled["reasons"]
    started = monitor.start()
    assert started["monitoring_platforms"] == 2 and started["platforms"] == ["deezer", "apple_music"]
    assert started["scan_interval"] == 15 and started["next_scan"] == "2024-01-15T13:00:00Z"
    await settle()
    assert scanner.calls == [["apple_music"], ["deezer"]]  # priority platforms in their own, first, call
    state = monitor.state()
    assert state["next_scan"] == "2024-01-15T13:15:00Z"
    assert clock.requested[-1] == 900
    await clock.advance(minutes=14)
    assert len(scanner.calls) == 2
    await clock.advance(minutes=1)
    assert len(scanner.calls) == 4
    assert monitor.state()["stats"]["scans_done"] == 2
    assert monitor.state()["stats"]["trends_processed"] == 40  # 2 scans x 2 sources x items_last_scan
    # after a long pause (a sleeping laptop) one scan catches up; 16:15 is a normal hour: 30 minutes
    await clock.advance(hours=3)
    assert len(scanner.calls) == 6
    assert monitor.state()["next_scan"] == "2024-01-15T16:45:00Z"
    assert monitor.start()["already_running"] is True


async def test_overnight_interval_and_stop_stats(parts):
    clock, _sources, scanner, _answers, build = parts
    clock.now = datetime(2024, 1, 16, 2, 0, tzinfo=UTC)
    monitor = build()
    monitor.start()
    await settle()
    assert monitor.state()["next_scan"] == "2024-01-16T03:00:00Z"
    await clock.advance(minutes=60)
    await clock.advance(minutes=23)
    stopped = monitor.stop()
    assert stopped["final_stats"]["uptime"] == "1 hour 23 minutes"
    assert stopped["final_stats"]["scans_done"] == 2
    assert stopped["final_stats"]["trends_processed"] == 40
    assert stopped["final_stats"]["hijacks_generated"] == 0
    assert not monitor.task_running and monitor.state()["running"] is False
    calls = len(scanner.calls)
    await clock.advance(hours=2)
    assert len(scanner.calls) == calls  # no scans after stop
    assert monitor.stop()["was_running"] is False


async def test_schedule_replans_a_running_monitor(parts):
    clock, _sources, scanner, _answers, build = parts
    monitor = build()
    monitor.start()
    await settle()
    assert monitor.state()["next_scan"] == "2024-01-15T13:15:00Z"
    result = monitor.schedule({"intervals": {"peak_hours": 5}})
    await settle()
    assert result["next_scan"] == "2024-01-15T13:05:00Z"
    assert result["estimated_daily_scans"] == 8 * 12 + 9 * 2 + 7
    assert result["schedule_id"] == "schedule_1"
    calls = len(scanner.calls)
    await clock.advance(minutes=5)
    assert len(scanner.calls) == calls + 1  # no priority platforms: one scanner call per scan
    with pytest.raises(ScheduleError):
        monitor.schedule({"priority_platforms": ["tiktok"]})
    with pytest.raises(ScheduleError):
        monitor.schedule({"intervals": {"peak_hours": 0}})
    assert monitor.schedule({"schedule_type": "default"})["intervals"] == DEFAULT_INTERVALS


async def test_restart_resumes_mid_schedule(parts):
    clock, _sources, scanner, _answers, build = parts
    first = build()
    first.start()
    await settle()
    assert len(scanner.calls) == 1
    first.close()  # the app shuts down; the row still says running
    await clock.advance(minutes=5)
    second = build()
    assert second.resume() is True
    await settle()
    assert clock.requested[-1] == 600  # the 10 minutes left of the stored schedule
    assert len(scanner.calls) == 1
    await clock.advance(minutes=10)
    assert len(scanner.calls) == 2
    stats = second.state()["stats"]
    assert stats["scans_done"] == 2 and stats["started_at"] == "2024-01-15T13:00:00Z"
    assert second.resume() is False  # already running
    second.stop()
    third = build()
    assert third.resume() is False  # stopped stays stopped


async def test_auto_answer_is_off_by_default_and_limited(parts):
    clock, _sources, scanner, answers, build = parts
    monitor = build()
    scanner.announce = [{"id": "trend_a", "viral_score": 95.0}]
    monitor.start()
    await settle()
    assert answers.made == []  # off by default
    monitor.schedule({"auto_hijack": {"enabled": True, "min_viral_score": 85, "max_daily_hijacks": 2}})
    scanner.announce = [{"id": "trend_b", "viral_score": 90.0}, {"id": "trend_c", "viral_score": 60.0},
                        {"id": "trend_d", "viral_score": 99.0}]
    await clock.advance(minutes=15)
    assert [m["trend_id"] for m in answers.made] == ["trend_d", "trend_b"]  # best first, trend_c below 85
    scanner.announce = [{"id": "trend_e", "viral_score": 97.0}]
    await clock.advance(minutes=15)
    assert len(answers.made) == 2  # the day's limit is reached
    assert monitor.state()["stats"]["auto_answers"] == 2
    # the next local day has room again
    await clock.advance(hours=11)
    scanner.announce = [{"id": "trend_f", "viral_score": 97.0}]
    await clock.advance(hours=1)
    assert answers.made[-1]["trend_id"] == "trend_f"
    assert monitor.stop()["final_stats"]["hijacks_generated"] == 3


async def test_monitor_drives_the_real_scanner(services):
    """The wired monitor with the trends service's own parts; the source reads a fake fetcher."""
    from studio.connectors.charts import ChartEntry

    trends = services.trends
    clock = FakeClock(datetime(2024, 1, 15, 13, 0, tzinfo=UTC))

    async def deezer_chart(*_args, **_kw):
        return [ChartEntry(source="deezer", chart="deezer:chart:0", item_id=str(n), title=f"Song {n}",
                           artist=f"Artist {n}", rank=n) for n in (1, 2, 3)]

    trends.sources.fetchers["deezer"] = deezer_chart
    trends.sources.configure("deezer", enabled=True)
    monitor = TrendMonitor(services.context, sources=trends.sources, scanner=trends.scanner, answers=trends.answers,
                           clock=clock, sleep=clock.sleep, local_tz=UTC)
    try:
        assert monitor.start()["monitoring_platforms"] == 1
        # the scan stores and scores in a worker thread: wait for it in real time, not loop turns
        for _ in range(1000):
            if monitor.state()["stats"]["scans_done"]:
                break
            await asyncio.sleep(0.01)
        assert monitor.state()["stats"]["trends_processed"] == 3
        assert trends.catalog.current()["total_trends"] == 3
        assert monitor.stop()["final_stats"]["scans_done"] == 1
    finally:
        monitor.close()
