"""Analysis: tempo, key and loudness features, the musicnn tagger, speaker embeddings."""
