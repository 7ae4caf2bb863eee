"""Analytics: how releases and the local API perform (placeholder until the analytics area is built)."""

from studio.ui.panels.base import PlaceholderPanel


class AnalyticsPanel(PlaceholderPanel):
    title = "Analytics"
    icon = "mdi6.chart-bar"
    key = "analytics"
    area = "analytics"
    description = "How your releases and the local API perform, from measured data only."
    will_hold = (
        "Plays and engagement read from the platforms you connect",
        "Usage of the local API, from its request log",
        "Comparisons between your tracks",
    )
