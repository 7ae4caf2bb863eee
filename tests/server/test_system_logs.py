"""Issue #19: the studio's log as JSON lines, read back newest first by GET /api/system/logs and
GET /api/logs (one implementation), admin keys only."""

from __future__ import annotations

import builtins
import json
import logging
import sys
from datetime import datetime, timedelta, timezone

import pytest

from studio.services.system import logs as logs_module
from studio.services.system.logs import JsonLinesFormatter, LogQueryError, service_name
from studio.timeutil import iso

T0 = datetime(2024, 1, 15, 14, 0, 0, tzinfo=timezone.utc)


def _record(name: str, level: int, message: str, at_minute: int, **extra) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, message, None, None)
    record.created = (T0 + timedelta(minutes=at_minute)).timestamp()
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def _write(path, records) -> None:
    formatter = JsonLinesFormatter()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(formatter.format(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def log_files(settings):
    """studio.log.2 (oldest) .. studio.log (newest): minutes 0-9, 10-19, 20-29; every 5th an error,
    every 3rd from the music service."""
    logs_dir = settings.logs_dir
    for index, suffix in enumerate((".2", ".1", "")):
        records = []
        for minute in range(index * 10, index * 10 + 10):
            name = "studio.services.music.generation" if minute % 3 == 0 else "studio.server.middleware"
            level = logging.ERROR if minute % 5 == 0 else (logging.WARNING if minute % 2 else logging.INFO)
            records.append(_record(name, level, f"entry {minute}", minute, minute=minute))
        _write(logs_dir / f"studio.log{suffix}", records)
    return logs_dir


def test_service_names_are_short():
    assert service_name("studio.services.music.generation") == "music"
    assert service_name("studio.services.webhooks") == "webhooks"
    assert service_name("studio.connectors.deezer") == "deezer"
    assert service_name("studio.server.middleware") == "api"
    assert service_name("studio.jobs") == "jobs"
    assert service_name("studio") == "studio"
    assert service_name("aiohttp.access") == "aiohttp"


def test_a_line_is_one_json_object_with_the_extras_as_details():
    formatter = JsonLinesFormatter()
    record = _record("studio.services.voices.speech", logging.WARNING, "slow %s", 5, endpoint="/api/x",
                     path=object())
    record.args = ("synthesis",)
    entry = json.loads(formatter.format(record))
    assert entry["timestamp"] == "2024-01-15T14:05:00.000Z"
    assert entry["level"] == "warning" and entry["service"] == "voices" and entry["message"] == "slow synthesis"
    assert entry["details"]["endpoint"] == "/api/x" and isinstance(entry["details"]["path"], str)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failing = _record("studio.jobs", logging.ERROR, "job failed", 6)
        failing.exc_info = sys.exc_info()
    line = formatter.format(failing)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["details"]["exception"]


def test_newest_first_across_rotated_files_with_filters_and_pages(services, log_files):
    reader = services.system.logs
    page = reader.entries(limit=100)
    minutes = [e["details"]["minute"] for e in page["logs"]]
    assert minutes == list(range(29, -1, -1)) and page["has_more"] is False

    errors = reader.entries(level="error")["logs"]
    assert [e["details"]["minute"] for e in errors] == [25, 20, 15, 10, 5, 0]
    warnings = reader.entries(level="WARNING")["logs"]  # warning and above
    assert {e["level"] for e in warnings} == {"warning", "error"}
    assert len(warnings) == len([m for m in range(30) if m % 5 == 0 or m % 2])

    music = reader.entries(service="music", level="error")["logs"]
    assert [e["details"]["minute"] for e in music] == [15, 0] and all(e["service"] == "music" for e in music)
    assert reader.entries(service="all", limit=3)["logs"][0]["details"]["minute"] == 29

    first = reader.entries(limit=4, offset=0)
    second = reader.entries(limit=4, offset=4)
    assert [e["details"]["minute"] for e in first["logs"]] == [29, 28, 27, 26] and first["has_more"]
    assert [e["details"]["minute"] for e in second["logs"]] == [25, 24, 23, 22]
    last = reader.entries(limit=4, offset=28)
    assert [e["details"]["minute"] for e in last["logs"]] == [1, 0] and last["has_more"] is False

    window = reader.entries(since="2024-01-15T14:08:00Z", until="2024-01-15T14:12:00+00:00")["logs"]
    assert [e["details"]["minute"] for e in window] == [12, 11, 10, 9, 8]


def test_bad_filters_say_what_to_fix(services, log_files):
    reader = services.system.logs
    with pytest.raises(LogQueryError) as caught:
        reader.entries(level="loud")
    assert caught.value.parameter == "level" and "debug, info, warning, error, critical" in caught.value.message
    with pytest.raises(LogQueryError, match="ISO-8601"):
        reader.entries(since="yesterday")
    with pytest.raises(LogQueryError, match="later than until"):
        reader.entries(since="2024-01-16T00:00:00Z", until="2024-01-15T00:00:00Z")
    with pytest.raises(LogQueryError):
        reader.entries(service="../etc")


def test_the_newest_entries_are_read_from_the_end_not_the_whole_file(services, settings, monkeypatch):
    formatter = JsonLinesFormatter()
    path = settings.logs_dir / "studio.log"
    with open(path, "w", encoding="utf-8") as fh:
        for minute in range(20000):  # ~4 MB
            fh.write(formatter.format(_record("studio.services.music.library", logging.INFO, "x" * 100, minute,
                                              minute=minute)) + "\n")
    size = path.stat().st_size
    read = []
    real_open = builtins.open

    class Counting:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def seek(self, *args):
            return self.handle.seek(*args)

        def read(self, n=-1):
            data = self.handle.read(n)
            read.append(len(data))
            return data

    monkeypatch.setattr(logs_module, "open", lambda p, mode="r", *a, **k: Counting(real_open(p, mode, *a, **k)),
                        raising=False)
    page = services.system.logs.entries(limit=100)
    assert [e["details"]["minute"] for e in page["logs"]][:3] == [19999, 19998, 19997]
    assert sum(read) < size / 10


def test_lines_split_across_blocks_and_the_older_plain_format(services, settings, monkeypatch):
    monkeypatch.setattr(logs_module, "BLOCK_BYTES", 37)  # every line spans several blocks
    local = datetime(2024, 1, 15, 9, 30, 0).astimezone()  # asctime was local time
    plain = (f"{local:%Y-%m-%d %H:%M:%S},250 ERROR studio.services.trends.scanner: scan failed\n"
             "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: nope\n"
             f"{local:%Y-%m-%d %H:%M:%S},500 INFO studio.app: started\n")
    (settings.logs_dir / "studio.log.1").write_text(plain, encoding="utf-8")
    _write(settings.logs_dir / "studio.log", [_record("studio.services.music.generation", logging.INFO, "é ünïcode", 1)])
    entries = services.system.logs.entries()["logs"]
    assert [e["message"] for e in entries] == ["é ünïcode", "started", "scan failed"]
    failed = entries[2]
    assert failed["service"] == "trends" and failed["level"] == "error"
    assert "ValueError: nope" in failed["details"]["exception"]
    assert failed["timestamp"] == iso(local.replace(microsecond=250000), "milliseconds")


async def test_both_paths_serve_the_log_to_admin_keys_only(api, running_services, log_files, aiohttp_client):
    from studio.server.app import build_app

    for path in ("/api/system/logs", "/api/logs"):
        resp = await api.get(path, params={"service": "all", "level": "error", "limit": "100"},
                             headers=api.auth_headers)
        body = await resp.json()
        assert resp.status == 200 and body["status"] == "success", body
        first = body["logs"][0]
        assert set(first) >= {"timestamp", "service", "level", "message", "details"}
        assert [e["details"]["minute"] for e in body["logs"]] == [25, 20, 15, 10, 5, 0]
        page = await (await api.get(path, params={"limit": "2", "offset": "2"}, headers=api.auth_headers)).json()
        assert [e["details"]["minute"] for e in page["logs"]] == [27, 26] and page["has_more"] is True

    resp = await api.get("/api/logs", params={"level": "verbose"}, headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 400 and body["status"] == "error" and body["error"]["code"] == "INVALID_REQUEST"
    assert "warning" in body["error"]["message"] and body["error"]["details"]["allowed"][-1] == "all"
    resp = await api.get("/api/system/logs", params={"since": "last tuesday"}, headers=api.auth_headers)
    assert resp.status == 400 and (await resp.json())["error"]["details"]["parameter"] == "since"
    resp = await api.get("/api/logs", params={"limit": "0"}, headers=api.auth_headers)
    assert resp.status == 422 and (await resp.json())["error"]["details"]["parameter"] == "limit"

    key, _ = running_services.auth.create_key("viewer", role="user")
    user = await aiohttp_client(build_app(running_services))
    for path in ("/api/system/logs", "/api/logs"):
        resp = await user.get(path, headers={"Authorization": f"Bearer {key}"})
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "FORBIDDEN"


async def test_no_log_yet_is_an_empty_page(api):
    body = await (await api.get("/api/system/logs", headers=api.auth_headers)).json()
    assert body["status"] == "success" and body["logs"] == [] and body["has_more"] is False
