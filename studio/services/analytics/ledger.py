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
from collections import Counter
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from studio.db.models import FACT_FIGURES, AnalyticsFact, AnalyticsImport
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
        self._frame_cache: tuple[int, "_Frame | None"] | None = None
        self._parts: dict[str, list] = {}  # import id -> its fact groups (see _frame)
        self._frame_lock = threading.Lock()
        self._parts_generation = 0
        self._built: tuple[tuple, "_Frame | None"] | None = None

    def invalidate(self) -> None:
        with self._lock:
            self.version += 1
            self._cache.clear()
            self._frame_cache = None

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

    # --- the frame: every fact group, loaded once per version ---------------------------------------
    def _frame(self) -> "_Frame | None":
        """The facts summed per (import, scope, item, days, platform, source, currency), as arrays.
        Each import's groups are read once (one SQL query per import, on its index) and kept until
        the import is deleted, so a change of links or a new import does not read every fact again."""
        with self._lock:
            if self._frame_cache is not None and self._frame_cache[0] == self.version:
                return self._frame_cache[1]
            version = self.version
        with self._frame_lock, self.ctx.db.session() as s:  # one reader of the parts at a time
            import_ids = list(s.scalars(select(AnalyticsImport.id).order_by(AnalyticsImport.created_at)))
            missing = [i for i in import_ids if i not in self._parts]
            columns = [getattr(AnalyticsFact, name) for name in FIGURES]
            keys = [AnalyticsFact.import_id, AnalyticsFact.scope, AnalyticsFact.item_id, AnalyticsFact.start_day,
                    AnalyticsFact.end_day, AnalyticsFact.platform, AnalyticsFact.source,
                    func.coalesce(AnalyticsFact.currency, "USD")]
            for import_id in missing:
                self._parts[import_id] = s.execute(
                    select(*keys, func.count(), func.count(AnalyticsFact.revenue), *[func.sum(c) for c in columns])
                    .where(AnalyticsFact.import_id == import_id, AnalyticsFact.start_day.is_not(None),
                           AnalyticsFact.end_day.is_not(None)).group_by(*keys)).all()
            for gone in set(self._parts) - set(import_ids):
                del self._parts[gone]
            # Links and origins do not change the frame: only a different set of imports does.
            key = (tuple(import_ids), self._parts_generation)
            if self._built is not None and self._built[0] == key:
                frame = self._built[1]
            else:
                rows = [row for import_id in import_ids for row in self._parts.get(import_id, ())]
                frame = _Frame.build(rows) if rows else None
                self._built = (key, frame)
        with self._lock:
            if self.version == version:
                self._frame_cache = (version, frame)
        return frame

    def forget_import(self, import_id: str) -> None:
        """An import's rows changed (replaced by a newer one, or deleted): read its groups again."""
        with self._frame_lock:
            self._parts.pop(import_id, None)
            self._parts_generation += 1

    # --- what there is ----------------------------------------------------------------------------
    def data_range(self) -> tuple[date | None, date | None]:
        frame = self._frame()
        if frame is None:
            return None, None
        return date.fromordinal(int(frame.start.min())), date.fromordinal(int(frame.end.max()))

    def currency(self) -> dict[str, Any]:
        frame = self._frame()
        counts: Counter = Counter()
        if frame is not None:
            rows = np.bincount(frame.currency, weights=frame.revenue_rows, minlength=len(frame.currencies))
            counts.update({frame.currencies[i]: int(n) for i, n in enumerate(rows) if n})
        main = counts.most_common(1)[0][0] if counts else None
        return {"currency": main, "other_currencies": {c: n for c, n in counts.items() if c != main}}

    def contributors(self, period: Period) -> list[dict[str, Any]]:
        """The imports whose rows fall in `period`: what a figure there comes from."""
        frame = self._frame()
        if frame is None:
            return []
        inside = (frame.start <= period.end_day.toordinal()) & (frame.end >= period.start_day.toordinal())
        rows = np.bincount(frame.imp[inside], weights=frame.rows[inside], minlength=len(frame.imports))
        wanted = {frame.imports[i]: int(n) for i, n in enumerate(rows) if n}
        if not wanted:
            return []

        def compute():
            with self.ctx.db.session() as s:
                return s.execute(select(AnalyticsImport.id, AnalyticsImport.source, AnalyticsImport.kind,
                                        AnalyticsImport.filename).where(AnalyticsImport.id.in_(list(wanted)))
                                 .order_by(AnalyticsImport.created_at)).all()
        return [{"import_id": i, "source": source, "kind": kind, "file": file, "rows": wanted[i]}
                for i, source, kind, file in self._cached(("contributors", tuple(sorted(wanted))), compute)]

    # --- figures ------------------------------------------------------------------------------------
    def totals(self, period: Period, *, value: str = "revenue", by: str | None = None) -> dict[str, float]:
        return {group: float(days.sum()) for group, days in self._arrays(period, value, by).items()}

    def series(self, period: Period, *, value: str = "revenue", by: str | None = None) -> dict[str, list[float]]:
        return {group: days.tolist() for group, days in self._arrays(period, value, by).items()}

    def _arrays(self, period: Period, value: str, by: str | None) -> dict[str, np.ndarray]:
        if value != "revenue" and value not in METRICS:
            raise AnalyticsError(f"unknown figure {value!r}; known: revenue, {', '.join(METRICS)}")
        if value in NOT_ADDITIVE:
            raise AnalyticsError(f"{value} is an average: it cannot be summed over days")
        if by not in GROUPINGS:
            raise AnalyticsError(f"cannot group by {by!r}; use origin, platform, source or item")
        key = ("series", period.start_day, period.end_day, value, by)
        return self._cached(key, lambda: self._series(period, value, by))

    def _series(self, period: Period, value: str, by: str | None) -> dict[str, list[float]]:
        frame = self._frame()
        if frame is None:
            return {}
        values = frame.values[value]
        use = ~np.isnan(values) & (frame.end >= frame.start)
        if value == "revenue":
            main = self.currency()["currency"] or "USD"
            use &= frame.currency == (frame.currencies.index(main) if main in frame.currencies else -1)
        base = min(int(frame.start.min()), period.start_day.toordinal())
        n_days = max(int(frame.end.max()), period.end_day.toordinal()) - base + 1
        start, end = frame.start - base, frame.end - base
        # Daily channel totals of each import (over all its days) shape the spreading of its other rows.
        daily_total = use & frame.total & (frame.start == frame.end)
        shaped_imports = np.unique(frame.imp[daily_total])
        shape_of = np.full(len(frame.imports), -1)
        shape_of[shaped_imports] = np.arange(len(shaped_imports))
        shapes = np.zeros((len(shaped_imports), n_days))
        np.add.at(shapes, (shape_of[frame.imp[daily_total]], start[daily_total]),
                  np.clip(values[daily_total], 0.0, None))
        # Only rows that touch the period count from here on (their days outside it are cut away).
        use &= (frame.start <= period.end_day.toordinal()) & (frame.end >= period.start_day.toordinal())
        codes, names = self._groups(frame, by)
        spread = _Spreader(start, end, values, shape_of[frame.imp], shapes, n_days)
        items = use & ~frame.total
        groups = spread.sum(codes, len(names), items)
        totals = use & frame.total
        with_totals = np.unique(frame.imp[totals])
        if len(with_totals):
            # What each import's channel total holds beyond its item rows goes to its total rows' group.
            total_days = spread.sum(frame.imp, len(frame.imports), totals)
            item_days = spread.sum(frame.imp, len(frame.imports), items & np.isin(frame.imp, with_totals))
            rest = np.clip(total_days - item_days, 0.0, None)
            for k in with_totals:
                first_row = int(np.flatnonzero(totals & (frame.imp == k))[0])
                group = codes[first_row] if by in (None, "platform", "source") else names.index(UNATTRIBUTED)
                groups[group] += rest[k]
        cut = slice(period.start_day.toordinal() - base, period.end_day.toordinal() - base + 1)
        touched = np.flatnonzero(np.bincount(codes[use], minlength=len(names)))
        out = {names[g]: groups[g][cut] for g in touched}
        for k in with_totals:  # a group that holds only a channel's rest
            first_row = int(np.flatnonzero(totals & (frame.imp == k))[0])
            group = codes[first_row] if by in (None, "platform", "source") else names.index(UNATTRIBUTED)
            out.setdefault(names[group], groups[group][cut])
        return out

    def _groups(self, frame: "_Frame", by: str | None) -> tuple[np.ndarray, list[str]]:
        """A group code per frame row and the groups' names (UNATTRIBUTED always among them)."""
        if by is None:
            return np.zeros(len(frame.imp), dtype=np.int64), ["all", UNATTRIBUTED]
        if by == "platform":
            return frame.platform, [*frame.platforms, UNATTRIBUTED]
        if by == "source":
            return frame.source, [*frame.sources, UNATTRIBUTED]
        # items: -1 (none) sorts first, so unique index 0 is "no item" whenever there is one
        items, inverse = np.unique(frame.item, return_inverse=True)
        if by == "item":
            names = [str(int(i)) if i >= 0 else UNATTRIBUTED for i in items]
            if UNATTRIBUTED not in names:
                names.append(UNATTRIBUTED)
            return inverse.astype(np.int64), names
        origins = self.linking.origins()
        names = list(dict.fromkeys([*(origins.get(int(i), UNATTRIBUTED) if i >= 0 else UNATTRIBUTED for i in items),
                                    UNATTRIBUTED]))
        of_item = np.array([names.index(origins.get(int(i), UNATTRIBUTED) if i >= 0 else UNATTRIBUTED)
                            for i in items], dtype=np.int64)
        return of_item[inverse], names


FIGURES = ("revenue", *FACT_FIGURES)


class _Frame:
    """The grouped facts as arrays (one entry per group of rows); days as date ordinals."""

    @classmethod
    def build(cls, rows: list) -> "_Frame":
        frame = cls()
        imports, platforms, sources, currencies = {}, {}, {}, {}

        def code(table: dict, key: str) -> int:
            return table.setdefault(key, len(table))
        frame.imp = np.array([code(imports, r[0]) for r in rows], dtype=np.int64)
        frame.total = np.array([r[1] == "total" for r in rows])
        frame.item = np.array([r[2] if r[2] is not None else -1 for r in rows], dtype=np.int64)
        ordinal = {}
        frame.start = np.array([ordinal.get(r[3]) or ordinal.setdefault(r[3], date.fromisoformat(r[3]).toordinal())
                                for r in rows], dtype=np.int64)
        frame.end = np.array([ordinal.get(r[4]) or ordinal.setdefault(r[4], date.fromisoformat(r[4]).toordinal())
                              for r in rows], dtype=np.int64)
        frame.platform = np.array([code(platforms, r[5]) for r in rows], dtype=np.int64)
        frame.source = np.array([code(sources, r[6]) for r in rows], dtype=np.int64)
        frame.currency = np.array([code(currencies, r[7]) for r in rows], dtype=np.int64)
        frame.rows = np.array([r[8] for r in rows], dtype=float)
        frame.revenue_rows = np.array([r[9] for r in rows], dtype=float)
        matrix = np.array([[np.nan if v is None else v for v in r[10:]] for r in rows], dtype=float)
        frame.values = {name: matrix[:, i] for i, name in enumerate(FIGURES)}
        frame.imports, frame.platforms = list(imports), list(platforms)
        frame.sources, frame.currencies = list(sources), list(currencies)
        return frame


class _Spreader:
    """Sums rows spread over their days into one daily array per key, with difference arrays: a
    row of an import with daily totals follows their shape over its days, any other row is even."""

    def __init__(self, start, end, values, shape_index, shapes, n_days) -> None:
        self.start, self.end, self.values = start, end, values
        self.shape_index, self.shapes, self.n_days = shape_index, shapes, n_days
        cumulative = np.zeros((len(shapes), n_days + 1))
        if len(shapes):
            cumulative[:, 1:] = np.cumsum(shapes, axis=1)
        self.cumulative = cumulative

    def sum(self, keys: np.ndarray, n_keys: int, mask: np.ndarray) -> np.ndarray:
        out = np.zeros((n_keys, self.n_days + 1))
        rows = np.flatnonzero(mask)
        if not len(rows):
            return out[:, :self.n_days]
        s, e, v, k = self.start[rows], self.end[rows], np.nan_to_num(self.values[rows]), keys[rows]
        shape = self.shape_index[rows]
        weight = np.zeros(len(rows))
        has = shape >= 0
        weight[has] = self.cumulative[shape[has], e[has] + 1] - self.cumulative[shape[has], s[has]]
        shaped = weight > 0
        even = ~shaped
        per_day = v[even] / (e[even] - s[even] + 1)
        np.add.at(out, (k[even], s[even]), per_day)
        np.add.at(out, (k[even], e[even] + 1), -per_day)
        out = np.cumsum(out, axis=1)[:, :self.n_days]
        if shaped.any():
            n_shapes = len(self.shapes)
            pair = k[shaped] * n_shapes + shape[shaped]
            unique, inverse = np.unique(pair, return_inverse=True)
            rate = v[shaped] / weight[shaped]
            diff = np.zeros((len(unique), self.n_days + 1))
            np.add.at(diff, (inverse, s[shaped]), rate)
            np.add.at(diff, (inverse, e[shaped] + 1), -rate)
            np.add.at(out, unique // n_shapes, np.cumsum(diff, axis=1)[:, :self.n_days] * self.shapes[unique % n_shapes])
        return out


def day_range(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
