"""What the tile renderers (the SoundFont sampler and the synths) share: host-side buffers and
the deterministic overlap-add.

Both renderers cut voices into output tiles and add finished blocks of tiles into the output,
as slices for few voices or with a row-wise `index_add_` (see `sampler.render_plan` and
`synths._render_layer`); these are the pieces of that which are the same for both.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import numpy as np
import torch

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64, torch.int32: np.int32}


def host_zeros(shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """torch.zeros, but on the CPU backed by numpy's allocator: calloc (pages the render never
    writes are never touched) with transparent huge pages for large arrays. A fresh multi-MB
    torch tensor takes its memory from the kernel 4 KB page by page, which costs more than the
    rendering of a sparse part (measured 3.5x for a written 63 MB output on a VM)."""
    if device.type == "cpu" and dtype in _NUMPY_DTYPES:
        return torch.from_numpy(np.zeros(tuple(shape), dtype=_NUMPY_DTYPES[dtype]))
    return torch.zeros(tuple(shape), dtype=dtype, device=device)


def host_empty(shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """torch.empty with numpy's allocator on the CPU (huge pages for large work buffers)."""
    if device.type == "cpu" and dtype in _NUMPY_DTYPES:
        return torch.from_numpy(np.empty(tuple(shape), dtype=_NUMPY_DTYPES[dtype]))
    return torch.empty(tuple(shape), dtype=dtype, device=device)


@contextmanager
def deterministic_on(device: torch.device):
    """index_add_ on CUDA uses atomics (order varies run to run) unless torch's deterministic
    mode is on; switch it on just around the overlap-add."""
    if device.type != "cuda":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)
