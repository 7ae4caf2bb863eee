"""Credits: a local compute budget. `Settings.daily_credits` per UTC day (0 = unlimited); each
generation costs `CREDITS_PER_MINUTE` per minute of requested audio. Failed and cancelled
generations give their credits back (they are not counted)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import Job
from studio.jobs import CANCELLED, FAILED
from studio.services.music.common import GENERATE_KIND, InsufficientCredits
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.config import Settings
    from studio.db import Database

CREDITS_PER_MINUTE = 10.0


def credits_for(duration_s: float) -> float:
    return round(CREDITS_PER_MINUTE * duration_s / 60.0, 2)


def day_start(now: datetime) -> datetime:
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


class MusicCredits:
    def __init__(self, db: "Database", settings: "Settings") -> None:
        self.db = db
        self.settings = settings
        # Held while a cost is checked and its job written, so two requests cannot overspend.
        self.lock = threading.Lock()

    def used_since(self, since: datetime) -> float:
        """Credits of generations since `since` that did not fail or get cancelled."""
        with self.db.session() as s:
            rows = s.execute(select(Job.params, Job.status).where(Job.kind == GENERATE_KIND, Job.created_at >= since)).all()
        return round(sum(float((p or {}).get("credits", 0.0)) for p, status in rows if status not in (FAILED, CANCELLED)), 2)

    def balance(self) -> float | None:
        """Credits left today; None when the allowance is unlimited."""
        allowance = self.settings.daily_credits
        if not allowance:
            return None
        return max(0.0, round(allowance - self.used_since(day_start(utcnow())), 2))

    def check(self, cost: float) -> None:
        """InsufficientCredits when `cost` is more than today's balance."""
        balance = self.balance()
        if balance is not None and cost > balance + 1e-9:
            raise InsufficientCredits(cost, balance)

    def summary(self) -> dict[str, Any]:
        """Balance, today's use and the allowance (seed 000 `GET /api/music/credits`)."""
        now = utcnow()
        allowance = self.settings.daily_credits
        used = self.used_since(day_start(now))
        balance = self.balance()
        return {
            # numbers or null, never text: with no allowance set there is no balance to count down
            "credits": balance,
            "credits_used_today": used,
            "daily_allowance": allowance or None,
            "unlimited": balance is None,
            "credits_per_minute": CREDITS_PER_MINUTE,
            "subscription_type": "local",
            "renewal_date": iso(day_start(now) + timedelta(days=1)),
        }
