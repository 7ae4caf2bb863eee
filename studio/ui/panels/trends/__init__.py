"""The Trends panel: what is rising in music on the sources the user enabled, and a way to answer it
with a track of their own.

- panel.py: `TrendsPanel`, which talks to `services.trends` and composes the parts below
- trend_table.py: the current trends table, its platform filter and its empty state
- trend_detail.py: the selected trend (why this score, history chart, suggested response, answer
  buttons and where the answer track is)
- sources_box.py: the sources table, the user's own keys and feed URLs
- monitor_box.py: monitoring start/stop, scan intervals, automatic answers
- patterns_box.py: the hours × weekdays heatmap and the pattern figures, with their filters
- import_dialog.py: the preview of a chart file's rows before they are imported
- charts.py: the pyqtgraph history chart and heatmap
- common.py: the texts the parts share (platform names, ages, numbers, growth)

The parts only show and say what the user asked for (signals); the panel calls the service.
"""
