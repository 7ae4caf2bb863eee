"""Voices: characters' voices, synthesis and cloning (placeholder until the voice area is built)."""

from studio.ui.panels.base import PlaceholderPanel


class VoicesPanel(PlaceholderPanel):
    title = "Voices"
    icon = "mdi6.account-voice"
    area = "voices"
    description = "Voices for your characters: speech and singing synthesis and voice clones."
    will_hold = (
        "Characters and the voice each one uses",
        "Text-to-speech previews with the built-in neural English voice",
        "Voice clones made from your own recordings",
    )
