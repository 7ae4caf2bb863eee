"""Convert Resemblyzer's pretrained GE2E voice encoder to a small torch state dict.

Run once by a developer; the studio never runs this and never needs the `resemblyzer` package
(it pulls librosa/numba and `webrtcvad`, which no longer imports under setuptools >= 81).

    pip download --no-deps resemblyzer==0.1.4 -d /tmp/rz
    python tools/convert_resemblyzer.py /tmp/rz/Resemblyzer-0.1.4-py3-none-any.whl

Reads `resemblyzer/pretrained.pt` (17 MB: the model, the GE2E similarity scale/bias and the Adam
state) and `resemblyzer/hparams.py` straight out of the wheel (or out of an unpacked directory
given instead) and writes into `resources/models/`:

- `speaker_encoder.pt`: `{"state_dict": ..., "meta": {...}}` for
  `studio.engine.analysis.speaker.SpeakerEncoder`: only the 3-layer LSTM and the linear projection,
  float32 (~5.7 MB); the optimizer state and the training-only `similarity_weight/bias` are
  dropped. `meta` names the source wheel, the sha256 of the original `pretrained.pt`, its
  training step and the hyperparameters of `hparams.py`;
- `speaker_encoder_LICENSE.txt`: Resemblyzer's Apache-2.0 licence (it covers the weights).

`tools/speaker_reference.py` (run in a venv with resemblyzer) checks the end result against the
original model.

Options: `--out DIR` (default `resources/models` of this repository).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from package_source import Source  # noqa: E402 - tools/, beside this script

RESEMBLYZER_VERSION = "0.1.4"
OUTPUT_FILE = "speaker_encoder.pt"
LICENSE_FILE = "speaker_encoder_LICENSE.txt"
KEPT_PREFIXES = ("lstm.", "linear.")
HPARAMS = ("sampling_rate", "mel_window_length", "mel_window_step", "mel_n_channels", "partials_n_frames",
           "vad_window_length", "vad_moving_average_width", "vad_max_silence_length", "audio_norm_target_dBFS",
           "model_hidden_size", "model_embedding_size", "model_num_layers")


def read_hparams(source: Source) -> dict[str, int | float]:
    """The constants of resemblyzer/hparams.py, parsed without importing it."""
    values = {}
    for node in ast.parse(source.read("resemblyzer/hparams.py").decode()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    missing = [k for k in HPARAMS if k not in values]
    if missing:
        raise ValueError(f"hparams.py lacks {missing}")
    return {k: values[k] for k in HPARAMS}


def convert(source: Source) -> tuple[dict, dict]:
    import torch

    from studio.engine.analysis.speaker import SpeakerEncoder

    raw = source.read("resemblyzer/pretrained.pt")
    checkpoint = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    model_state = checkpoint["model_state"]
    state = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in model_state.items()
             if k.startswith(KEPT_PREFIXES)}
    dropped = sorted(k for k in model_state if k not in state)
    if dropped != ["similarity_bias", "similarity_weight"]:
        raise ValueError(f"unexpected tensors in pretrained.pt: {dropped}")
    hparams = read_hparams(source)
    net = SpeakerEncoder(n_mels=hparams["mel_n_channels"], hidden_size=hparams["model_hidden_size"],
                         embedding_size=hparams["model_embedding_size"], num_layers=hparams["model_num_layers"])
    net.load_state_dict(state, strict=True)  # shapes and names must match exactly
    meta = {
        "format": 1,
        "source": f"resemblyzer {RESEMBLYZER_VERSION} (pip wheel {source.path.name}), {source.find('resemblyzer/pretrained.pt')}",
        "pretrained_sha256": hashlib.sha256(raw).hexdigest(),
        "training_step": int(checkpoint.get("step", -1)),
        "hparams": hparams,
    }
    return state, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="Resemblyzer-0.1.4 wheel, or an unpacked directory")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "models")
    args = parser.parse_args(argv)

    import torch

    source = Source(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    state, meta = convert(source)
    buf = io.BytesIO()
    torch.save({"state_dict": state, "meta": meta}, buf)
    target = args.out / OUTPUT_FILE
    target.write_bytes(buf.getvalue())
    print(f"{sum(v.numel() for v in state.values())} values -> {target} ({target.stat().st_size} bytes)")
    licence = source.read(".dist-info/LICENSE").decode()
    (args.out / LICENSE_FILE).write_text(
        f"The speaker-encoder weights in this folder ({OUTPUT_FILE}) are converted from\n"
        f"Resemblyzer {RESEMBLYZER_VERSION} (https://github.com/resemble-ai/Resemblyzer, PyPI 'resemblyzer'),\n"
        f"file resemblyzer/pretrained.pt (sha256 {meta['pretrained_sha256']}),\n"
        f"Copyright 2019 Resemble.AI, licensed under the Apache License, Version 2.0:\n\n"
        + licence.strip("\n").rstrip() + "\n")
    print(f"wrote {args.out / LICENSE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
