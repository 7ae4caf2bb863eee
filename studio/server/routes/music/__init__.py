"""The music area's routes: `/api/music/...` (seed 000, `library.py`) and `/api/v1/ai/...` (seed 001, `ai.py`)."""
