"""Which torch device the engine renders on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class DeviceInfo:
    type: str  # "cuda" or "cpu"
    name: str  # e.g. "NVIDIA H100 80GB HBM3" or "CPU (2 threads)"
    torch_version: str
    cuda_available: bool
    memory_total_bytes: int | None = None

    @property
    def label(self) -> str:
        return f"GPU: {self.name}" if self.type == "cuda" else self.name


@lru_cache(maxsize=4)
def describe_device(preference: str = "auto") -> DeviceInfo:
    """Resolve `auto`/`cpu`/`cuda` to the device the engine will use. Imports torch (slow once)."""
    import torch

    cuda = torch.cuda.is_available()
    if preference == "cuda" and not cuda:
        raise RuntimeError("device 'cuda' was requested but no CUDA GPU is available; use 'auto' or 'cpu'")
    if cuda and preference in ("auto", "cuda"):
        props = torch.cuda.get_device_properties(0)
        return DeviceInfo("cuda", props.name, torch.__version__, True, int(props.total_memory))
    return DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)", torch.__version__, cuda)


def torch_device(preference: str = "auto"):
    import torch

    return torch.device(describe_device(preference).type)
