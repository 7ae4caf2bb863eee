"""The one place figures are read out of the imported and connected rows (`analytics_facts`).

A fact holds figures (revenue, views, streams, ...) for one item (or the whole channel, scope
"total") over the days `start_day`..`end_day`. Every figure per day, per period or per item comes
from `Ledger.series`, with one documented rule for spreading and one for channel totals:

- **Spreading.** A figure over several days (a statement's sale month, a YouTube table row over
  the export's window) is spread over its days following the channel's daily totals from the same
  import when that import has them (YouTube's `Totals.csv`), else evenly. A period counts the
  days that fall in it. So 31.00 earned in March counts 1.00 a day, and a 30-day period that holds
  half of March counts 15.50 of it.
- **Totals.** When an import carries the channel's own total for a day, that total is the day's
  figure for that import: what its item rows do not account for is `unattributed` (a YouTube
  export lists the top videos; the channel earned more). When the item rows add up to more than
  the total (different rounding or a partial total), the item rows count and nothing is added.
- **Money** is summed in one currency: the one most rows use (`currency()`); rows in other
  currencies are left out of sums and counted in `other_currencies` so the caller can say so.
- Only `confirmed` links attribute a figure to an origin (see linking.py); the rest is
  `unattributed`.

Public API (built by the entry object as `Ledger(ctx, linking=...)`):
- `data_range() -> (first_day: date | None, last_day: date | None)`: the days any fact covers.
- `series(period, *, value="revenue", by=None) -> dict[str, list[float]]`: one list per group with
  a value per day of `period.day_list()`. `value` is "revenue" or a metric name (views, likes,
  comments, shares, watch_time_h, streams, listeners, saves, followers, subscribers, impressions,
  units). `by`: None (one group "all"), "origin", "platform", "source" or "item" (item ids as text;
  "unattributed" for channel totals not in an item row).
- `totals(period, *, value="revenue", by=None) -> dict[str, float]`: the same summed over the period.
- `currency() -> {"currency": str | None, "other_currencies": {code: rows}}`.
- `contributors(period) -> [{"import_id","source","kind","file","rows"}]`: what the period's figures come from.
- `version`: grows on every change (import, link); results are cached per version (and for
  _CACHE_TTL_S at most, as origins also follow trend answers and community replies).
- `invalidate()`: called by the parts that change facts or links.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import and_, func, select

from studio.db.models import AnalyticsFact, AnalyticsImport
from studio.services.analytics.common import UNATTRIBUTED, AnalyticsError, Period

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.linking import Linking

METRICS = ("views", "likes", "comments", "shares", "watch_time_h", "avg_view_duration_s", "streams", "listeners",
           "saves", "followers", "subscribers", "impressions", "ctr_pct", "units")
GROUPINGS = (None, "origin", "platform", "source", "item")
# Averages and rates cannot be spread or summed; they are read per row by the callers that need them.
NOT_ADDITIVE = ("avg_view_duration_s", "ctr_pct")
_CACHE_ENTRIES = 64
# Origins also move when a trend answer or a community reply is made; cached figures live this long.
_CACHE_TTL_S = 30.0


class Ledger:
    def __init__(self, ctx: "Context", *, linking: "Linking") -> None:
        self.ctx = ctx
        self.linking = linking
        self.version = 0
        self._lock = threading.Lock()
        self._cache: dict[tuple, Any] = {}

    def invalidate(self) -> None:
        with self._lock:
            self.version += 1
            self._cache.clear()

    def _cached(self, key: tuple, compute):
        with self._lock:
            version = self.version
            hit = self._cache.get((version, *key))
        if hit is not None and time.monotonic() - hit[1] < _CACHE_TTL_S:
            return hit[0]
        value = compute()
        with self._lock:
            if self.version == version:
                if len(self._cache) >= _CACHE_ENTRIES:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[(version, *key)] = (value, time.monotonic())
        return value

    # --- what there is ----------------------------------------------------------------------------
    def data_range(self) -> tuple[date | None, date | None]:
        def compute():
            with self.ctx.db.session() as s:
                first, last = s.execute(select(func.min(AnalyticsFact.start_day), func.max(AnalyticsFact.end_day))).one()
            return (date.fromisoformat(first) if first else None, date.fromisoformat(last) if last else None)
        return self._cached(("range",), compute)

    def currency(self) -> dict[str, Any]:
        def compute():
            with self.ctx.db.session() as s:
                rows = s.execute(select(AnalyticsFact.currency, func.count()).where(AnalyticsFact.revenue.is_not(None))
                                 .group_by(AnalyticsFact.currency)).all()
            counts = Counter({(c or "USD"): n for c, n in rows})
            main = counts.most_common(1)[0][0] if counts else None
            return {"currency": main, "other_currencies": {c: n for c, n in counts.items() if c != main}}
        return self._cached(("currency",), compute)

    def contributors(self, period: Period) -> list[dict[str, Any]]:
        """The imports whose rows fall in `period`: what a figure there comes from."""
        def compute():
            start, end = period.start_day.isoformat(), period.end_day.isoformat()
            with self.ctx.db.session() as s:
                rows = s.execute(select(AnalyticsImport.id, AnalyticsImport.source, AnalyticsImport.kind,
                                        AnalyticsImport.filename, func.count(AnalyticsFact.id))
                                 .join(AnalyticsFact, AnalyticsFact.import_id == AnalyticsImport.id)
                                 .where(AnalyticsFact.start_day <= end, AnalyticsFact.end_day >= start)
                                 .group_by(AnalyticsImport.id).order_by(AnalyticsImport.created_at)).all()
            return [{"import_id": i, "source": source, "kind": kind, "file": file, "rows": n}
                    for i, source, kind, file, n in rows]
        return self._cached(("contributors", period.start_day, period.end_day), compute)

    # --- figures ------------------------------------------------------------------------------------
    def totals(self, period: Period, *, value: str = "revenue", by: str | None = None) -> dict[str, float]:
        return {group: float(sum(days)) for group, days in self.series(period, value=value, by=by).items()}

    def series(self, period: Period, *, value: str = "revenue", by: str | None = None) -> dict[str, list[float]]:
        if value != "revenue" and value not in METRICS:
            raise AnalyticsError(f"unknown figure {value!r}; known: revenue, {', '.join(METRICS)}")
        if value in NOT_ADDITIVE:
            raise AnalyticsError(f"{value} is an average: it cannot be summed over days")
        if by not in GROUPINGS:
            raise AnalyticsError(f"cannot group by {by!r}; use origin, platform, source or item")
        key = ("series", period.start_day, period.end_day, value, by)
        return self._cached(key, lambda: self._series(period, value, by))

    def _value_column(self, value: str):
        if value == "revenue":
            return AnalyticsFact.revenue
        return AnalyticsFact.metrics[value].as_float()

    def _series(self, period: Period, value: str, by: str | None) -> dict[str, list[float]]:
        column = self._value_column(value)
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        keys = [AnalyticsFact.import_id, AnalyticsFact.scope, AnalyticsFact.item_id, AnalyticsFact.start_day,
                AnalyticsFact.end_day]
        if by == "platform":
            keys.append(AnalyticsFact.platform)
        if by == "source":
            keys.append(AnalyticsFact.source)
        conditions = [AnalyticsFact.start_day.is_not(None), AnalyticsFact.start_day <= end,
                      AnalyticsFact.end_day >= start, column.is_not(None)]
        main_currency = None
        if value == "revenue":
            main_currency = self.currency()["currency"]
            conditions.append(func.coalesce(AnalyticsFact.currency, "USD") == (main_currency or "USD"))
        with self.ctx.db.session() as s:
            rows = s.execute(select(*keys, func.sum(column)).where(and_(*conditions)).group_by(*keys)).all()
            # Daily channel totals of the imports in play, over all their days: they shape the spreading.
            import_ids = {r[0] for r in rows if r[1] == "total"}
            shape_rows = s.execute(select(AnalyticsFact.import_id, AnalyticsFact.start_day, func.sum(column)).where(
                AnalyticsFact.import_id.in_(import_ids), AnalyticsFact.scope == "total",
                AnalyticsFact.start_day == AnalyticsFact.end_day, column.is_not(None))
                .group_by(AnalyticsFact.import_id, AnalyticsFact.start_day)).all() if import_ids else []

        first = min([period.start_day] + [date.fromisoformat(r[3]) for r in rows])
        last = max([period.end_day] + [date.fromisoformat(r[4]) for r in rows])
        n_days = (last - first).days + 1
        cut = slice((period.start_day - first).days, (period.end_day - first).days + 1)

        def index(day: str) -> int:
            return (date.fromisoformat(day) - first).days

        shapes: dict[str, np.ndarray] = {}
        for import_id, day, amount in shape_rows:
            i = index(day)
            if 0 <= i < n_days:
                shapes.setdefault(import_id, np.zeros(n_days))[i] += max(float(amount or 0.0), 0.0)

        origins = self.linking.origins() if by == "origin" else {}
        groups: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_days + 1))
        item_days: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_days))  # per import with totals
        total_days: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_days))
        total_group: dict[str, str] = {}
        for row in rows:
            import_id, scope, item_id, start_day, end_day = row[:5]
            amount = float(row[-1] or 0.0)
            s_i, e_i = index(start_day), index(end_day)
            if e_i < s_i:
                continue
            if by is None:
                group = "all"
            elif by == "origin":
                group = origins.get(item_id, UNATTRIBUTED) if item_id is not None else UNATTRIBUTED
            elif by == "item":
                group = str(item_id) if item_id is not None else UNATTRIBUTED
            else:
                group = str(row[5])
            spread = _spread(amount, s_i, e_i, shapes.get(import_id))
            if scope == "total":
                total_days[import_id][s_i:e_i + 1] += spread
                total_group.setdefault(import_id, group if by in ("platform", "source", None) else UNATTRIBUTED)
                continue
            target = groups[group]
            target[s_i:e_i + 1] += spread
            if import_id in import_ids:
                item_days[import_id][s_i:e_i + 1] += spread
        # What each import's channel total holds beyond its item rows.
        for import_id, totals in total_days.items():
            rest = np.clip(totals - item_days[import_id], 0.0, None)
            groups[total_group[import_id]][:n_days] += rest
        return {group: [float(v) for v in days[:n_days][cut]] for group, days in groups.items()}


def _spread(amount: float, s_i: int, e_i: int, shape: np.ndarray | None) -> np.ndarray:
    """`amount` over the days s_i..e_i: following `shape` (the channel's daily totals) where it has
    any weight in that span, else evenly."""
    n = e_i - s_i + 1
    if n == 1:
        return np.array([amount])
    if shape is not None:
        weights = shape[s_i:e_i + 1]
        total = float(weights.sum())
        if total > 0:
            return amount * weights / total
    return np.full(n, amount / n)


def day_range(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
