"""Convert the pretrained musicnn taggers (TensorFlow 1 checkpoints) to torch state dicts.

Run once by a developer; the studio never runs this and never needs TensorFlow or musicnn.

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python tools/convert_musicnn.py /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

Reads `musicnn/MSD_musicnn/` and `musicnn/MTT_musicnn/` straight out of the wheel (or out of an
unpacked source tree / sdist directory given instead), and writes into `resources/models/`:

- `musicnn_msd.pt`, `musicnn_mtt.pt`: `{"state_dict": ..., "meta": {...}}` for
  `studio.engine.analysis.tagger.MusicnnNet` (float32, ~3.2 MB each; Adam slots are dropped);
- `musicnn_tags.json`: the 50 output tags of each model, in output order, taken from musicnn's
  `configuration.py`;
- `musicnn_LICENSE.txt`: musicnn's ISC licence (it covers the weights).

TensorFlow is not needed: the checkpoint ("tensor bundle", V2 format) is read by the small
reader below. Its `.index` file is a LevelDB-format table mapping variable names to
`BundleEntryProto` messages (dtype, shape, shard, offset, size); the tensors themselves are raw
little-endian arrays in `.data-00000-of-00001`. `tools/musicnn_reference.py` (run in a TensorFlow
venv) checks the end result against the original model.

Options: `--out DIR` (default `resources/models` of this repository), `--models MSD_musicnn MTT_musicnn`.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import struct
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from package_source import Source  # noqa: E402 - tools/, beside this script

from studio.engine.io.protobuf import iter_fields, read_varint  # noqa: E402

MUSICNN_VERSION = "0.1.0"
OUTPUT_FILES = {"MSD_musicnn": "musicnn_msd.pt", "MTT_musicnn": "musicnn_mtt.pt"}
LABEL_LISTS = {"MSD_musicnn": "MSD_LABELS", "MTT_musicnn": "MTT_LABELS"}

# ---------------------------------------------------------------------------------------------
# TensorFlow tensor-bundle (checkpoint V2) reader


def _block_entries(block: bytes):
    """Key/value pairs of one LevelDB table block (prefix-compressed keys, restart array at the end)."""
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * num_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        value_len, pos = read_varint(block, pos)
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        yield key, block[pos:pos + value_len]
        pos += value_len


def _read_block(data: bytes, handle: bytes) -> bytes:
    offset, pos = read_varint(handle, 0)
    size, _ = read_varint(handle, pos)
    compression = data[offset + size]
    if compression != 0:
        raise ValueError("compressed checkpoint index blocks are not supported")
    return data[offset:offset + size]


def _proto_fields(buf: bytes):
    """(field number, wire type, value) of a protobuf message; length-delimited values as bytes."""
    for field, wire, value in iter_fields(buf):
        yield field, wire, value if wire == 0 else buf[value[0]:value[1]]


TF_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}


def read_checkpoint(index: bytes, data: bytes) -> dict[str, np.ndarray]:
    """All tensors of a single-shard TF2/TF1 V2 checkpoint, by variable name."""
    magic = struct.unpack_from("<Q", index, len(index) - 8)[0]
    if magic != 0xDB4775248B80FB57:
        raise ValueError("not a TensorFlow checkpoint index (bad table magic)")
    footer = index[-48:]
    _, pos = read_varint(footer, 0)  # metaindex handle: offset
    _, pos = read_varint(footer, pos)  # metaindex handle: size
    index_block = _read_block(index, footer[pos:])
    tensors: dict[str, np.ndarray] = {}
    for _, handle in _block_entries(index_block):
        for key, value in _block_entries(_read_block(index, handle)):
            if key == b"":  # BundleHeaderProto
                continue
            dtype, shape, shard, offset, size = 0, [], 0, 0, 0
            for field, _, val in _proto_fields(value):
                if field == 1:
                    dtype = val
                elif field == 2:  # TensorShapeProto
                    for f2, _, dim in _proto_fields(val):
                        if f2 == 2:
                            shape.append(next(v for f3, _, v in _proto_fields(dim) if f3 == 1) if dim else 0)
                elif field == 3:
                    shard = val
                elif field == 4:
                    offset = val
                elif field == 5:
                    size = val
            if shard != 0:
                raise ValueError("multi-shard checkpoints are not supported")
            np_dtype = TF_DTYPES.get(dtype)
            if np_dtype is None:
                raise ValueError(f"{key.decode()}: unsupported TF dtype {dtype}")
            arr = np.frombuffer(data, dtype=np.dtype(np_dtype).newbyteorder("<"), count=size // np.dtype(np_dtype).itemsize,
                                offset=offset)
            tensors[key.decode()] = arr.reshape(shape).copy()
    return tensors


# ---------------------------------------------------------------------------------------------
# Variable mapping: TF1 layer names (creation order in musicnn.models.build_musicnn) -> torch


def _bn(tf_name: str, torch_name: str) -> list[tuple[str, str, str]]:
    return [(f"{tf_name}/gamma", f"{torch_name}.weight", "copy"), (f"{tf_name}/beta", f"{torch_name}.bias", "copy"),
            (f"{tf_name}/moving_mean", f"{torch_name}.running_mean", "copy"),
            (f"{tf_name}/moving_variance", f"{torch_name}.running_var", "copy")]


def _conv(tf_name: str, torch_name: str, kind: str) -> list[tuple[str, str, str]]:
    return [(f"{tf_name}/kernel", f"{torch_name}.weight", kind), (f"{tf_name}/bias", f"{torch_name}.bias", "copy")]


MAPPING = (
    _bn("batch_normalization", "input_bn")
    + _conv("conv2d", "timbral74.conv", "conv2d") + _bn("batch_normalization_1", "timbral74.bn")
    + _conv("conv2d_1", "timbral77.conv", "conv2d") + _bn("batch_normalization_2", "timbral77.bn")
    + _conv("conv2d_2", "temporal128.conv", "conv2d") + _bn("batch_normalization_3", "temporal128.bn")
    + _conv("conv2d_3", "temporal64.conv", "conv2d") + _bn("batch_normalization_4", "temporal64.bn")
    + _conv("conv2d_4", "temporal32.conv", "conv2d") + _bn("batch_normalization_5", "temporal32.bn")
    + _conv("conv2d_5", "mid1.conv", "conv1d") + _bn("batch_normalization_6", "mid1.bn")
    + _conv("conv2d_6", "mid2.conv", "conv1d") + _bn("batch_normalization_7", "mid2.bn")
    + _conv("conv2d_7", "mid3.conv", "conv1d") + _bn("batch_normalization_8", "mid3.bn")
    + _bn("batch_normalization_9", "pool_bn")
    + [("dense/kernel", "dense.weight", "dense"), ("dense/bias", "dense.bias", "copy")]
    + _bn("batch_normalization_10", "dense_bn")
    + [("dense_1/kernel", "out.weight", "dense"), ("dense_1/bias", "out.bias", "copy")]
)


def _convert(arr: np.ndarray, kind: str) -> np.ndarray:
    if kind == "conv2d":  # TF [kh, kw, in, out] -> torch [out, in, kh, kw]
        return arr.transpose(3, 2, 0, 1)
    if kind == "conv1d":  # TF [7, width, 1, out] over (time, features) -> torch Conv1d [out, width, 7]
        return arr[:, :, 0, :].transpose(2, 1, 0)
    if kind == "dense":  # TF [in, out] -> torch Linear [out, in]
        return arr.T
    return arr


def convert_model(source: Source, model: str):
    import torch

    from studio.engine.analysis.tagger import MusicnnNet

    index = source.read(f"musicnn/{model}/.index")
    data = source.read(f"musicnn/{model}/.data-00000-of-00001")
    tensors = read_checkpoint(index, data)
    used = set()
    state = {}
    for tf_name, torch_name, kind in MAPPING:
        state[torch_name] = torch.from_numpy(np.ascontiguousarray(_convert(tensors[tf_name], kind), dtype=np.float32))
        used.add(tf_name)
    leftover = sorted(k for k in tensors if k not in used and "Adam" not in k and not k.startswith("beta"))
    if leftover:
        raise ValueError(f"{model}: checkpoint variables not mapped: {leftover}")
    net = MusicnnNet(n_tags=state["out.bias"].numel())
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{model}: state dict mismatch, missing {missing}, unexpected {unexpected}")
    meta = {
        "format": 1,
        "model": model,
        "n_tags": int(state["out.bias"].numel()),
        "source": f"musicnn {MUSICNN_VERSION} (pip wheel), musicnn/{model}/",
        "checkpoint_sha256": hashlib.sha256(index + data).hexdigest(),
    }
    return {k: v.clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}, meta


def read_labels(source: Source) -> dict[str, list[str]]:
    """The label lists of musicnn/configuration.py, parsed without importing it."""
    tree = ast.parse(source.read("musicnn/configuration.py").decode())
    lists = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            lists[node.targets[0].id] = node.value
    return {model: ast.literal_eval(lists[name]) for model, name in LABEL_LISTS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="musicnn-0.1.0 wheel/sdist, or an unpacked directory")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "models")
    parser.add_argument("--models", nargs="+", default=list(OUTPUT_FILES), choices=list(OUTPUT_FILES))
    args = parser.parse_args(argv)

    import torch

    source = Source(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    labels = read_labels(source)
    for model in args.models:
        state, meta = convert_model(source, model)
        if meta["n_tags"] != len(labels[model]):
            raise ValueError(f"{model}: {meta['n_tags']} outputs but {len(labels[model])} labels")
        buf = io.BytesIO()
        torch.save({"state_dict": state, "meta": meta}, buf)
        target = args.out / OUTPUT_FILES[model]
        target.write_bytes(buf.getvalue())
        print(f"{model}: {sum(v.numel() for v in state.values())} values -> {target} ({target.stat().st_size} bytes)")
    tags_path = args.out / "musicnn_tags.json"
    existing = json.loads(tags_path.read_text()) if tags_path.exists() else {}
    existing.update({m: labels[m] for m in args.models})
    tags_path.write_text("{\n" + ",\n".join(f" {json.dumps(m)}: {json.dumps(t)}" for m, t in existing.items()) + "\n}\n")
    licence = source.read("LICENSE.md").decode()
    (args.out / "musicnn_LICENSE.txt").write_text(
        f"The musicnn weights in this folder (musicnn_*.pt, musicnn_tags.json) are converted from\n"
        f"musicnn {MUSICNN_VERSION} (https://github.com/jordipons/musicnn, PyPI 'musicnn'), licensed ISC:\n\n"
        + licence.strip() + "\n")
    print(f"wrote {tags_path} and {args.out / 'musicnn_LICENSE.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
