"""Analytics area: the creator's real numbers (imported statements and exports, connected YouTube
stats, the studio's own records) linked to what the studio made, the figures computed from them,
costs and limits, and reports.

`AnalyticsService(ctx)` is the area's entry object (what `services.analytics` is); callers go
through its parts, one module each:

- linking.py (`linking`): items (content as platforms know it), their links to library tracks and
  voice content, and the origin of each (what made it).
- ledger.py (`ledger`): the one reader of imported/connected figures: per day, per period, per group.
- imports.py (`imports`): YouTube Studio, Spotify for Artists, DistroKid and TuneCore files.
- connected.py (`youtube`): the creator's own channel through the YouTube Data and Analytics APIs.
- revenue.py (`revenue`): revenue per day, source and origin, with projections (projection.py).
- content.py (`content`): content performance, insights, library metrics, voice characters' figures.
- engagement.py (`engagement`): engagement per platform and the community's audience.
- usage.py (`usage`): API usage and system health from the request log and the API's runs.
- costs.py (`costs`): measured compute, quota units, money where the user set prices, limits and alerts.
- dashboard.py (`dashboard`): the dashboard that brings the above together.
- reports.py (`reports`): PDF/CSV/JSON reports made by a job.
- common.py: periods, origins, errors.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from studio.services.analytics.common import Period, parse_period
from studio.services.analytics.connected import ConnectedYouTube
from studio.services.analytics.content import ContentPerformance
from studio.services.analytics.costs import Costs
from studio.services.analytics.dashboard import Dashboard
from studio.services.analytics.engagement import Engagement
from studio.services.analytics.imports import AnalyticsImports
from studio.services.analytics.ledger import Ledger
from studio.services.analytics.linking import Linking
from studio.services.analytics.reports import Reports
from studio.services.analytics.revenue import Revenue
from studio.services.analytics.usage import ApiUsage

if TYPE_CHECKING:
    from studio.context import Context
    from studio.jobs import JobHandler


class AnalyticsService:
    def __init__(self, ctx: "Context") -> None:
        self.linking = Linking(ctx)
        self.ledger = Ledger(ctx, linking=self.linking)
        self.linking.ledger = self.ledger
        self.imports = AnalyticsImports(ctx, linking=self.linking, ledger=self.ledger)
        self.youtube = ConnectedYouTube(ctx, imports=self.imports)
        self.revenue = Revenue(ctx, ledger=self.ledger, linking=self.linking)
        self.content = ContentPerformance(ctx, ledger=self.ledger, linking=self.linking)
        self.engagement = Engagement(ctx, ledger=self.ledger)
        self.usage = ApiUsage(ctx)
        self.costs = Costs(ctx, usage=self.usage)
        self.dashboard = Dashboard(ctx, revenue=self.revenue, content=self.content, usage=self.usage,
                                   engagement=self.engagement, ledger=self.ledger)
        self.reports = Reports(ctx, dashboard=self.dashboard, revenue=self.revenue, content=self.content,
                               usage=self.usage, costs=self.costs, engagement=self.engagement)

    def period(self, text: str | None, *, end_day: str | None = None) -> Period:
        """A period asked for as "7d", "30d", "12w", "1y" or "all" (from the first day with data)."""
        return parse_period(text, end_day=end_day, first_day=self.ledger.data_range()[0])

    def job_handlers(self) -> list["JobHandler"]:
        return self.reports.job_handlers()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """At start-up: watch the cost limits."""
        self.costs.start(loop)

    def close(self) -> None:
        self.costs.close()
