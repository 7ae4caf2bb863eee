"""Analyze: measure an audio file (placeholder until the analysis area is built)."""

from studio.ui.panels.base import PlaceholderPanel


class AnalyzePanel(PlaceholderPanel):
    title = "Analyze"
    icon = "mdi6.waveform"
    area = "analyze"
    description = "Measure any audio file: loudness, tempo, key, spectrum and tags."
    will_hold = (
        "Integrated loudness and true peak per ITU-R BS.1770",
        "Tempo, key and spectrum computed from the audio",
        "Genre and mood tags from the analysis model",
    )
