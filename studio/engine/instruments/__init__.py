"""Instruments: SoundFont sampler, synths, the speaking and singing voice, voice matching."""
