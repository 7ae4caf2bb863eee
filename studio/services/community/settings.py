"""The community area's state and configuration (the `community_state` row, id 1).

`CommunitySettings(ctx, clock=utcnow)`; public API:
- `initialize() -> {"message", "initialized_at", "already_initialized", "platforms_connected",
  "platforms", "automation_level", "estimated_daily_interactions", "reasons"}` (seed 000 POST
  /api/community/initialize). Marks the area initialised (the first time only) and reports:
  `platforms_connected` = enabled sources whose last check or poll succeeded (status "ok");
  `estimated_daily_interactions` = messages stored with a sent time in the last 7 days / 7 (one
  decimal), or null with the reason when there are none.
- `config() -> {"automation_level", "response_delay": {"min_seconds", "max_seconds"},
  "personalization": {"enabled", "use_member_history", "mention_preferences"},
  "content_promotion": {"enabled", "frequency", "max_per_day", "target_engagement"},
  "character_id", "automation_applies_to"}`: the stored values over `DEFAULTS`.
- `update_config(changes) -> {"config_updated", "effective_immediately", "estimated_daily_responses",
  "estimate_basis", "not_applied", "reasons", "config"}` (seed 000 PUT /api/community/config):
  validates every field (CommunityError naming it) and stores them together or not at all.

Rules:
- `automation_level` (0-100, 0 by default) is the share of incoming messages the studio may answer
  without a person's approval, on Discord and Telegram bots only (a YouTube reply is posted as the
  user, so it always waits for approval). The parts that send read it when they decide.
- `response_delay`: an automatic reply waits between min_seconds and max_seconds, at a point fixed
  by the message's id (live.py), so a restart does not change it (0 <= min <= max <= 86 400).
- `content_promotion` is stored as given, but nothing posts promotions on its own yet: the response
  says so under `not_applied`.
- `character_id`: the voice character drafts are written in (checked by the drafts part when used).
- `estimated_daily_responses` = the Discord and Telegram messages addressed to the user (mentions,
  replies, DMs; not their own) in the last 7 days / 7 x automation_level / 100, one decimal; 0 when
  automation is off; null with the reason when no such message arrived in 7 days.
"""

from __future__ import annotations

import copy
import math
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import func, select

from studio.db.models import CommunityMessage, CommunitySource, CommunityState
from studio.services.community.common import AUTOMATABLE_PLATFORMS, CommunityError
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

ESTIMATE_DAYS = 7
MAX_DELAY_S = 86_400
PROMOTION_FREQUENCIES = ("never", "daily", "weekly")
DEFAULTS: dict[str, Any] = {
    "automation_level": 0,
    "response_delay": {"min_seconds": 60, "max_seconds": 300},
    "personalization": {"enabled": True, "use_member_history": True, "mention_preferences": True},
    "content_promotion": {"enabled": False, "frequency": "never", "max_per_day": 0, "target_engagement": None},
    "character_id": None,
}
NOT_APPLIED_PROMOTION = ("stored, but the studio does not post promotions on its own yet: promote a track by "
                         "approving a drafted reply that recommends it")


def _number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CommunityError(f"{field} must be a number")
    if not low <= value <= high:
        raise CommunityError(f"{field} must be between {low:g} and {high:g} (got {value:g})")
    return int(value) if float(value).is_integer() else float(value)


def _object(value: Any, field: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CommunityError(f"{field} must be an object with: {', '.join(allowed)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise CommunityError(f"{field}.{unknown[0]} is not a setting; {field} has: {', '.join(allowed)}")
    return value


def validate(changes: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """`current` with `changes` applied, every value checked; CommunityError names the first bad one."""
    if not isinstance(changes, dict):
        raise CommunityError("the configuration must be a JSON object")
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise CommunityError(f"{unknown[0]} is not a community setting; they are: {', '.join(DEFAULTS)}")
    new = copy.deepcopy(current)
    if "automation_level" in changes:
        new["automation_level"] = _number(changes["automation_level"], "automation_level", 0, 100)
    if "response_delay" in changes:
        delay = {**new["response_delay"], **_object(changes["response_delay"], "response_delay",
                                                    ("min_seconds", "max_seconds"))}
        low = _number(delay["min_seconds"], "response_delay.min_seconds", 0, MAX_DELAY_S)
        high = _number(delay["max_seconds"], "response_delay.max_seconds", 0, MAX_DELAY_S)
        if high < low:
            raise CommunityError(f"response_delay.max_seconds ({high:g}) must not be below min_seconds ({low:g})")
        new["response_delay"] = {"min_seconds": low, "max_seconds": high}
    if "personalization" in changes:
        flags = _object(changes["personalization"], "personalization", tuple(DEFAULTS["personalization"]))
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise CommunityError(f"personalization.{key} must be true or false")
        new["personalization"] = {**new["personalization"], **flags}
    if "content_promotion" in changes:
        promo = _object(changes["content_promotion"], "content_promotion", tuple(DEFAULTS["content_promotion"]))
        merged = {**new["content_promotion"], **promo}
        if not isinstance(merged["enabled"], bool):
            raise CommunityError("content_promotion.enabled must be true or false")
        if merged["frequency"] not in PROMOTION_FREQUENCIES:
            raise CommunityError(f"content_promotion.frequency must be one of: {', '.join(PROMOTION_FREQUENCIES)}")
        merged["max_per_day"] = _number(merged["max_per_day"], "content_promotion.max_per_day", 0, 100)
        if not isinstance(merged["max_per_day"], int):
            raise CommunityError("content_promotion.max_per_day must be a whole number")
        if merged["target_engagement"] is not None:
            merged["target_engagement"] = _number(merged["target_engagement"], "content_promotion.target_engagement",
                                                  0, 10)
        if "enabled" not in promo and "frequency" in promo:
            merged["enabled"] = merged["frequency"] != "never"  # the seed's body sets a frequency only
        new["content_promotion"] = merged
    if "character_id" in changes:
        character = changes["character_id"]
        if character is not None and (not isinstance(character, str) or not 0 < len(character.strip()) <= 64):
            raise CommunityError("character_id must be a character id (1-64 characters) or null")
        new["character_id"] = character.strip() if character else None
    return new


class CommunitySettings:
    def __init__(self, ctx: "Context", *, clock: Callable[[], datetime] = utcnow) -> None:
        self._ctx = ctx
        self.clock = clock
        self._lock = threading.Lock()  # one writer of the state row in this process

    # --- the seed's two calls -------------------------------------------------------------------
    def initialize(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock, self._ctx.db.session() as session:
            state = self._state(session)
            already = state.initialized_at is not None
            if not already:
                state.initialized_at = now
                state.updated_at = now
            initialized_at = state.initialized_at
            config = self._public(state.config)
            s = CommunitySource
            connected = list(session.scalars(select(s.name).where(s.enabled == 1, s.status == "ok").order_by(s.name)))
            since = now - timedelta(days=ESTIMATE_DAYS)
            recent = session.scalar(select(func.count()).select_from(CommunityMessage)
                                    .where(CommunityMessage.sent_at >= since)) or 0
        reasons: dict[str, str] = {}
        if not connected:
            reasons["platforms_connected"] = ("no platform is connected: enable Discord, Telegram or YouTube and "
                                              "check its token under Community > Sources (or PUT "
                                              "/api/community/sources/{name}); imported files count as history only")
        interactions = round(recent / ESTIMATE_DAYS, 1) if recent else None
        if interactions is None:
            reasons["estimated_daily_interactions"] = (f"no message with a sent time in the last {ESTIMATE_DAYS} days "
                                                       "to base a daily figure on")
        return {"message": "Community management initialized" if not already else "Community management was "
                "already initialized", "initialized_at": iso(initialized_at), "already_initialized": already,
                "platforms_connected": len(connected), "platforms": connected,
                "automation_level": config["automation_level"],
                "automation_applies_to": list(AUTOMATABLE_PLATFORMS),
                "estimated_daily_interactions": interactions,
                "estimate_basis": f"messages sent in the last {ESTIMATE_DAYS} days / {ESTIMATE_DAYS}",
                "reasons": reasons}

    def config(self) -> dict[str, Any]:
        with self._ctx.db.session() as session:
            state = session.get(CommunityState, 1)
            return self._public(state.config if state else {})

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock, self._ctx.db.session() as session:
            state = self._state(session)
            current = self._public(state.config)
            new = validate(changes, {k: current[k] for k in DEFAULTS})
            # keep what other parts store in the same JSON (e.g. the daily count of automatic replies)
            state.config = {**(state.config or {}), **new}
            state.updated_at = self.clock()
        estimate = self.estimated_daily_responses(new["automation_level"])
        not_applied = {}
        if "content_promotion" in changes:
            not_applied["content_promotion"] = NOT_APPLIED_PROMOTION
        return {"config_updated": True, "effective_immediately": True,
                "estimated_daily_responses": estimate["value"], "estimate_basis": estimate["basis"],
                "not_applied": not_applied, "reasons": estimate["reasons"], "config": self._public(new)}

    def count_automation(self, *, day: str, seen: int = 0, auto: int = 0) -> dict[str, Any]:
        """Add to `day`'s automation counts ({"day", "seen", "auto"}: messages the automation looked at
        and answered) and return them; kept in the same row as the configuration, under the same lock."""
        with self._lock, self._ctx.db.session() as session:
            state = self._state(session)
            config = dict(state.config or {})
            counts = dict(config.get("auto_counts") or {})
            if counts.get("day") != day:
                counts = {"day": day, "seen": 0, "auto": 0}
            counts["seen"] = int(counts.get("seen") or 0) + seen
            counts["auto"] = int(counts.get("auto") or 0) + auto
            config["auto_counts"] = counts
            state.config = config  # a new dict: the JSON column sees the change
            return counts

    # --- figures --------------------------------------------------------------------------------
    def estimated_daily_responses(self, automation_level: float) -> dict[str, Any]:
        """{value, basis, reasons}: automatic replies a day at `automation_level`, from the last 7 days."""
        basis = (f"Discord and Telegram messages addressed to you in the last {ESTIMATE_DAYS} days / "
                 f"{ESTIMATE_DAYS} x automation_level {automation_level:g} / 100")
        if automation_level == 0:
            return {"value": 0, "basis": "automation_level is 0: every reply waits for a person's approval",
                    "reasons": {}}
        m = CommunityMessage
        since = self.clock() - timedelta(days=ESTIMATE_DAYS)
        with self._ctx.db.session() as session:
            addressed = session.scalar(select(func.count()).select_from(m).where(
                m.sent_at >= since, m.platform.in_(AUTOMATABLE_PLATFORMS), m.is_mention == 1, m.from_self == 0)) or 0
        if not addressed:
            return {"value": None, "basis": basis, "reasons": {"estimated_daily_responses": (
                f"no Discord or Telegram message addressed to you in the last {ESTIMATE_DAYS} days to base an "
                "estimate on (automation applies to those two bots only)")}}
        return {"value": round(addressed / ESTIMATE_DAYS * automation_level / 100.0, 1), "basis": basis,
                "reasons": {}}

    # --- the row --------------------------------------------------------------------------------
    @staticmethod
    def _public(stored: dict[str, Any] | None) -> dict[str, Any]:
        stored = stored or {}
        config = copy.deepcopy(DEFAULTS)
        for key, default in DEFAULTS.items():
            if key in stored:
                config[key] = {**default, **stored[key]} if isinstance(default, dict) else stored[key]
        config["automation_applies_to"] = list(AUTOMATABLE_PLATFORMS)
        return config

    @staticmethod
    def _state(session) -> CommunityState:
        state = session.get(CommunityState, 1)
        if state is None:
            state = CommunityState(id=1, config={}, updated_at=utcnow())
            session.add(state)
            session.flush()
        return state
