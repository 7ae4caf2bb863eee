"""DSP primitives: effects as plain callables on tensors, loudness and mastering, PCM conversion."""
