"""Create: compose and render tracks (placeholder until the music area is built)."""

from studio.ui.panels.base import PlaceholderPanel


class CreatePanel(PlaceholderPanel):
    title = "Create"
    icon = "mdi6.music-note-plus"
    area = "create"
    description = "Compose and render full tracks from a prompt or a detailed spec, on the GPU when there is one."
    will_hold = (
        "A prompt, style presets, duration, key and tempo for a new track",
        "Generate, extend and batch jobs, with their progress in the Jobs dock",
        "The finished tracks, ready to play in the player bar and to export",
    )
