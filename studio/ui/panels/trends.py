"""Trends: what is rising on connected platforms (placeholder until the trends area is built)."""

from studio.ui.panels.base import PlaceholderPanel


class TrendsPanel(PlaceholderPanel):
    title = "Trends"
    icon = "mdi6.trending-up"
    key = "trends"
    area = "trends"
    description = "What is rising in music, read from the platforms and feeds you connect."
    will_hold = (
        "Trends from the sources you connect in Settings (RSS/Atom feeds, Reddit, Last.fm, YouTube)",
        "Import from files when no source is connected",
        "Alerts when something you follow moves",
    )
