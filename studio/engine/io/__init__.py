"""File I/O: decoding, encoding and export of audio, MIDI, lyrics and charts; audio output."""
