"""Composition: theory, style presets, the spec, the score, the composer, lyrics and scripts."""
