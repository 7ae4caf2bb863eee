"""Business rules, one module or package per area (music, voices, analysis, system, ...).

`Services` is what the GUI, the API server and the CLI are handed: every service, built and
wired by the composition root (`studio.app.build_services`). Callers above this layer reach the
studio only through it; they never open a database session, drive the job queue or touch the
engine themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.config import Settings
    from studio.context import Context
    from studio.events import EventBus
    from studio.services.analysis import AnalysisService
    from studio.services.analytics import AnalyticsService
    from studio.services.community import CommunityService
    from studio.services.system.auth import AuthService, FirstRunCredentials
    from studio.services.music import MusicService
    from studio.services.system import SystemService
    from studio.services.trends import TrendsService
    from studio.services.voices import VoicesService
    from studio.services.webhooks import WebhookService


@dataclass
class Services:
    context: "Context"
    auth: "AuthService"
    system: "SystemService"
    music: "MusicService"
    analysis: "AnalysisService"
    voices: "VoicesService"
    webhooks: "WebhookService"
    trends: "TrendsService"
    community: "CommunityService"
    analytics: "AnalyticsService"
    # Shown once by the entry point that created them (first start), then dropped.
    first_run: "FirstRunCredentials | None" = None

    # Read-only views of the infrastructure that callers above the services may use.
    @property
    def settings(self) -> "Settings":
        return self.context.settings

    @property
    def events(self) -> "EventBus":
        return self.context.events

    @property
    def server_running(self) -> bool:
        return self.context.server_running

    @property
    def api_url(self) -> str | None:
        return self.context.api_url

    @property
    def api_base_url(self) -> str:
        return self.context.api_base_url

    def device_label(self) -> str:
        return self.context.device_label()

    @property
    def device(self) -> Any:
        return self.context.device
