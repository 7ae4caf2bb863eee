"""The 30-day revenue projection: a documented model fitted on the daily series.

Model: ordinary least squares on the last days of the daily series (at most MAX_FIT_DAYS) with an
intercept, a linear trend and day-of-week effects (six dummies: weekly patterns are strong on
streaming and YouTube). The forecast is the sum of the fitted model over the next `horizon_days`
days, floored at 0 (revenue is not negative over a month).

Interval: an 80 % prediction interval for that sum, from the residual variance s² of the fit:
Var(sum) = s² · (h + 1ᵀ X_f (XᵀX)⁻¹ X_fᵀ 1) for the h future rows X_f (the noise of each future day
plus the uncertainty of the coefficients), half-width = t(0.9, n − p) · √Var (Student's t).

Confidence (0-100, seed 000's `confidence`): 100 × (1 − half-width / forecast), clipped to 0..100:
how tight the interval is around the forecast. Null when the forecast is 0.

Fewer than `min_days` days with data (the first day with a figure to the last day of the series)
gives all-null figures and the reason.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

MAX_FIT_DAYS = 180
LEVEL = 0.8


def project(daily: list[float], *, horizon_days: int = 30, min_days: int = 28,
            first_weekday: int = 0) -> dict[str, Any]:
    """`daily`: the figures per day, oldest first; `first_weekday`: weekday of daily[0] (Monday 0)."""
    values = np.asarray(daily, dtype=float)
    nonzero = np.flatnonzero(values)
    start = int(nonzero[0]) if nonzero.size else len(values)
    days = len(values) - start
    base = {"next_30d": None, "interval": None, "confidence": None, "horizon_days": horizon_days,
            "model": "least squares: linear trend + day-of-week effects, 80 % prediction interval",
            "days_used": 0, "reason": None}
    if days < min_days:
        return {**base, "reason": f"needs at least {min_days} days of daily figures; there are {days}"}
    start = max(start, len(values) - MAX_FIT_DAYS)
    y = values[start:]
    n = len(y)
    weekdays = (first_weekday + start + np.arange(n + horizon_days)) % 7
    t = np.arange(n + horizon_days, dtype=float)
    design = np.column_stack([np.ones(n + horizon_days), t] + [(weekdays == d).astype(float) for d in range(1, 7)])
    x, x_future = design[:n], design[n:]
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residuals = y - x @ coef
    p = np.linalg.matrix_rank(x)
    dof = max(n - p, 1)
    s2 = float(residuals @ residuals) / dof
    forecast = float(np.sum(x_future @ coef))
    ones = np.ones(horizon_days)
    xtx_inv = np.linalg.pinv(x.T @ x)
    variance = s2 * (horizon_days + float(ones @ x_future @ xtx_inv @ x_future.T @ ones))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, dof)) * math.sqrt(max(variance, 0.0))
    point = max(forecast, 0.0)
    confidence = None
    if point > 0:
        confidence = round(float(min(100.0, max(0.0, 100.0 * (1.0 - half / point)))), 1)
    return {**base, "next_30d": round(point, 2), "days_used": n, "confidence": confidence,
            "interval": {"low": round(max(forecast - half, 0.0), 2), "high": round(max(forecast + half, 0.0), 2),
                         "level": LEVEL}}
