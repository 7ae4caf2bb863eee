"""The window's panels, in sidebar order.

An area adds its panel by writing `studio/ui/panels/<area>/` (a `Panel` subclass declaring
`title`, `icon` and `area`) and putting its class in PANELS.
"""

from studio.ui.panels.analysis import AnalyzePanel
from studio.ui.panels.analytics.panel import AnalyticsPanel
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.community.panel import CommunityPanel
from studio.ui.panels.music.create import CreatePanel
from studio.ui.panels.music.library import LibraryPanel
from studio.ui.panels.system.api import ApiPanel
from studio.ui.panels.system.status import SystemPanel
from studio.ui.panels.trends.panel import TrendsPanel
from studio.ui.panels.voices import VoicesPanel

PANELS: list[type[Panel]] = [
    CreatePanel,
    LibraryPanel,
    VoicesPanel,
    TrendsPanel,
    CommunityPanel,
    AnalyticsPanel,
    AnalyzePanel,
    SystemPanel,
    ApiPanel,
]

__all__ = ["PANELS", "Panel", "PanelHost"]
