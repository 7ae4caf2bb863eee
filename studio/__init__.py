"""Studio: a desktop music studio for creators, with a local HTTP API."""

__version__ = "0.1.0"

import os as _os

# torch's OpenMP threads spin while idle by default; on a small machine that steals the CPU from
# the window and the API between engine calls. Passive waiting costs nothing measurable.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Transparent huge pages for torch's large CPU buffers: a track's stems are tens of MB each and
# first-touching them page by page costs more than the arithmetic on a small machine.
_os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
