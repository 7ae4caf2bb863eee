"""Regenerate tests/engine/fixtures/musicnn_reference.json with the ORIGINAL musicnn (TensorFlow).

Developer tool, run in a throwaway venv; none of this is a studio dependency:

    python3 -m venv /tmp/tf-venv
    /tmp/tf-venv/bin/pip install "tensorflow-cpu==2.15.*" "numpy<2" librosa soundfile
    /tmp/tf-venv/bin/pip install "resampy==0.2.1" six   # the resampler librosa 0.7 used
    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    /tmp/tf-venv/bin/python tools/musicnn_reference.py /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

For each clip of tests/engine/musicnn_clips.py it writes the clip to a float WAV and runs
musicnn's own code: `musicnn.extractor.batch_data` (librosa.load at 16 kHz, librosa mel
spectrogram, float16, log10(10000 x + 1), 3 s patches, musicnn's default input_overlap=False)
and the graph of `musicnn.models.define_model` restored from the packaged checkpoint, one patch
per run as `musicnn.extractor.extractor` does (its restore is re-done here without the bare
`except:` that would silently leave random weights).

Two adjustments restore the librosa 0.7 behaviour musicnn 0.1.0 was written for (and its
training data computed with): `librosa.feature.melspectrogram` gets pad_mode="reflect" (librosa
>= 0.10 pads with zeros; this only changes the first and last frames of a clip) and `librosa.load`
resamples with res_type="kaiser_best", i.e. resampy, pinned to 0.2.1 (newer resampy ships
another kaiser_best filter; librosa >= 0.10 defaults to soxr).

The fixture stores, per clip and model, the taggram (per-patch sigmoid outputs) and their mean,
and per clip musicnn's float16 mel power (before log10) of the first and last 16 frames (zlib +
base64, float16 little-endian, frames x 96) so the test can check the spectrogram and its edges.
numpy must be 1.x: musicnn's `10000 * float16_array` relies on value-based promotion to float32.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "engine" / "fixtures" / "musicnn_reference.json"
MODELS = ("MSD_musicnn", "MTT_musicnn")
EDGE_FRAMES = 16  # mel frames stored from each end of a clip (whole spectrograms would be ~200 kB)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import zlib

    import librosa
    import numpy as np
    import soundfile as sf
    import tensorflow as tf

    if int(np.__version__.split(".")[0]) >= 2:
        raise SystemExit("use numpy 1.x: musicnn's log compression relies on numpy 1.x type promotion")

    src = Path(sys.argv[1])
    tmp = Path(tempfile.mkdtemp(prefix="musicnn-ref-"))
    if src.is_file():
        zipfile.ZipFile(src).extractall(tmp / "pkg")
        sys.path.insert(0, str(tmp / "pkg"))
    else:
        sys.path.insert(0, str(src))
    import resampy

    if resampy.__version__ != "0.2.1":
        raise SystemExit("install resampy==0.2.1 (librosa 0.7's kaiser_best filter)")
    librosa.feature.melspectrogram = functools.partial(librosa.feature.melspectrogram, pad_mode="reflect")
    librosa.load = functools.partial(librosa.load, res_type="kaiser_best")
    from musicnn import configuration as config
    from musicnn import extractor, models

    sys.path.insert(0, str(REPO))
    from tests.engine.musicnn_clips import CLIPS, OTHER_CLIPS, SAMPLE_RATE_HZ

    recipes = {name: (make, SAMPLE_RATE_HZ) for name, make in CLIPS.items()} | OTHER_CLIPS

    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    assert n_frames == 187, n_frames

    result = {
        "generator": "tools/musicnn_reference.py",
        "musicnn": "0.1.0",
        "tensorflow": tf.__version__,
        "librosa": librosa.__version__ + " (melspectrogram pad_mode='reflect', load res_type='kaiser_best')",
        "resampy": resampy.__version__,
        "numpy": np.__version__,
        "edge_frames": EDGE_FRAMES,
        "clips": {},
    }
    batches = {}
    for name, (make, rate) in recipes.items():
        audio = make()
        wav = tmp / f"{name}.wav"
        sf.write(wav, audio.T, rate, subtype="FLOAT")  # soundfile wants (frames, channels)
        batch, spec = extractor.batch_data(str(wav), n_frames, n_frames)
        if not np.isfinite(spec).all():
            raise SystemExit(f"{name}: musicnn's float16 log-mel overflowed; lower the clip's level")
        batches[name] = batch
        # musicnn's float16 mel power (the step before log10), recomputed exactly as batch_data does
        y, sr = librosa.load(str(wav), sr=config.SR)
        mel16 = librosa.feature.melspectrogram(y=y, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE,
                                               n_mels=config.N_MELS).T.astype(np.float16)
        assert np.array_equal(np.log10(10000 * mel16 + 1), spec), "batch_data changed?"
        assert spec.dtype == np.float32  # numpy 1.x promotion, as with musicnn's numpy < 1.17
        edge = np.concatenate([mel16[:EDGE_FRAMES], mel16[-EDGE_FRAMES:]])
        result["clips"][name] = {
            "sample_rate_hz": rate,
            "shape": list(audio.shape),
            "n_frames": int(spec.shape[0]),
            "mel_float16_edges_zlib_b64": base64.b64encode(zlib.compress(edge.tobytes(), 9)).decode(),
            "models": {},
        }

    for model in MODELS:
        labels = config.MSD_LABELS if "MSD" in model else config.MTT_LABELS
        tf.compat.v1.reset_default_graph()
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
            is_training = tf.compat.v1.placeholder(tf.bool)
            y = models.define_model(x, is_training, model, len(labels))[0]
            probs = tf.nn.sigmoid(y)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().restore(sess, str(Path(models.__file__).parent / model) + "/")
            for name, batch in batches.items():
                rows = [sess.run(probs, feed_dict={x: batch[i:i + 1], is_training: False})[0] for i in range(batch.shape[0])]
                taggram = np.stack(rows)
                mean = taggram.mean(axis=0)
                result["clips"][name]["models"][model] = {
                    "tags": labels,
                    "taggram": [[round(float(v), 7) for v in row] for row in taggram],
                    "mean": [round(float(v), 7) for v in mean],
                }
                top = sorted(zip(labels, mean), key=lambda kv: -kv[1])[:5]
                print(f"{name:12s} {model}: " + ", ".join(f"{t} {p:.3f}" for t, p in top))

    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
