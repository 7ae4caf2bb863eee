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


def gpu_report() -> dict:
    """What torch sees of the CUDA GPUs now: per device its name and memory (total, used by every
    process on it, and this process's allocated and reserved). Without a usable GPU: `available`
    False, the reason, and no figures (None), never invented ones. Imports torch (slow once)."""
    empty = {"device_count": 0, "devices": [], "memory_total_bytes": None, "memory_used_bytes": None,
             "memory_reserved_bytes": None}
    try:
        import torch
    except Exception as exc:  # a broken install: say so rather than fail
        return {"available": False, "reason": f"torch cannot be imported: {exc}", "torch_version": None,
                "cuda_version": None, **empty}
    base = {"torch_version": torch.__version__, "cuda_version": torch.version.cuda}
    if torch.version.cuda is None:
        return {"available": False, "reason": "this torch build has no CUDA support (a CPU-only build)", **base, **empty}
    if not torch.cuda.is_available():
        return {"available": False, "reason": "no CUDA device is visible: no NVIDIA GPU, its driver is missing, "
                                              "or CUDA_VISIBLE_DEVICES hides it", **base, **empty}
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        entry = {"index": index, "name": props.name, "compute_capability": f"{props.major}.{props.minor}",
                 "memory_total_bytes": int(props.total_memory), "memory_used_bytes": None, "memory_free_bytes": None,
                 "memory_allocated_bytes": int(torch.cuda.memory_allocated(index)),
                 "memory_reserved_bytes": int(torch.cuda.memory_reserved(index))}
        try:
            free, total = torch.cuda.mem_get_info(index)
            entry.update(memory_used_bytes=int(total - free), memory_free_bytes=int(free))
        except RuntimeError as exc:  # the device is busy or in a bad state: the rest still holds
            entry["error"] = str(exc)
        devices.append(entry)
    used = [d["memory_used_bytes"] for d in devices]
    return {"available": True, "reason": None, **base, "device_count": len(devices), "devices": devices,
            "memory_total_bytes": sum(d["memory_total_bytes"] for d in devices),
            "memory_used_bytes": None if None in used else sum(used),
            "memory_reserved_bytes": sum(d["memory_reserved_bytes"] for d in devices)}
