"""The daily ledger of what each outside platform's quota was spent on (`connector_usage`).

Every part that calls a platform with a quota adds to it in the same transaction as its own count
(`add_usage(session, "youtube", units=50, day=quota_day(now))`), so API-usage analytics and the
cost limits see one figure per connector and day, kept after the day's own counter resets.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from studio.db.models import ConnectorUsage


def add_usage(session: Session, connector: str, *, day: str, units: int = 0, requests: int = 0) -> None:
    """Add `units` (and `requests`) to `connector`'s row for `day` (YYYY-MM-DD as the platform counts it)."""
    if units <= 0 and requests <= 0:
        return
    row = session.get(ConnectorUsage, (day, connector))
    if row is None:
        row = ConnectorUsage(day=day, connector=connector, units=0, requests=0)
        session.add(row)
    row.units = int(row.units or 0) + max(0, int(units))
    row.requests = int(row.requests or 0) + max(0, int(requests))
