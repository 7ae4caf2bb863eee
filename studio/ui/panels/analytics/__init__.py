"""The Analytics panel (panel.py) and its parts, each only showing and signalling:

- overview.py: figure cards and daily charts; the steps to export each service's file when empty.
- charts.py: the daily charts (pyqtgraph).
- tables.py: content ranked (sortable, searchable) with insights; links to confirm.
- sources.py: imported files, the connected YouTube channel, followed channels.
- costs.py: compute, prices, limits, the local API's use per endpoint.
- dialogs.py: the import preview and the report export choice.
"""

from studio.ui.panels.analytics.panel import AnalyticsPanel

__all__ = ["AnalyticsPanel"]
