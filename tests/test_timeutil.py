import re
from datetime import datetime, timedelta, timezone

from studio.timeutil import iso, now_iso, utcnow

SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # the seeds' shape: 2024-01-12T17:55:00Z


def test_iso_writes_the_documented_shape_in_utc():
    local = datetime(2024, 1, 12, 19, 55, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert iso(local) == "2024-01-12T17:55:00Z"
    assert iso(local, "milliseconds") == "2024-01-12T17:55:00.123Z"
    assert iso(None) is None


def test_now_is_aware_utc_and_formats_alike():
    assert utcnow().tzinfo is timezone.utc
    assert SECONDS.match(now_iso())
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", now_iso("milliseconds"))
