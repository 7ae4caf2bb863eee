"""Library: every track made or imported (placeholder until the library is built)."""

from studio.ui.panels.base import PlaceholderPanel


class LibraryPanel(PlaceholderPanel):
    title = "Library"
    icon = "mdi6.bookshelf"
    area = "library"
    description = "Every track you generate or import, with its files and metadata."
    will_hold = (
        "A searchable list of your tracks, filtered by genre, mood and date",
        "Playback in the player bar",
        "Exports: WAV, FLAC, OGG, MP3, MIDI, stems, lyrics and chord charts",
    )
