"""Regenerate tests/engine/fixtures/speaker_reference.json with the ORIGINAL Resemblyzer encoder.

Developer tool, run in a throwaway venv; none of this is a studio dependency:

    python3 -m venv /tmp/rzenv
    /tmp/rzenv/bin/pip install resemblyzer torch==2.13.0 "setuptools<81"   # webrtcvad needs pkg_resources
    /tmp/rzenv/bin/python tools/speaker_reference.py [--regenerate-clips]

The clips live in tests/engine/fixtures/speaker_clips/ as 16 kHz int16 FLAC (lossless, about
half the size of WAV). They are made once from the recipes in CLIPS: espeak-ng speech (its
22.05 kHz output resampled to 16 kHz with librosa's default soxr "HQ" and rounded to int16)
and one synthetic buzz (numpy, seeded). espeak-ng's output differs between versions and
machines, so existing clips are reused; `--regenerate-clips` makes them again (and changes the
fixture).

For each clip, read back as float32 (int16 / 32768), it runs resemblyzer's own code:
`VoiceEncoder("cpu").embed_utterance(preprocess_wav(wav, source_sr=16000), return_partials=True)`
(librosa resample, normalize_volume to -30 dBFS increase-only, webrtcvad trim_long_silences,
librosa mel spectrogram, partials at rate 1.3 / min_coverage 0.75) and stores

- `embedding`: the utterance embedding (256 values);
- `n_partials`: how many partial utterances it was cut into;
- `vad_flags`: webrtcvad's per-30 ms decisions ("0"/"1") on the volume-normalised audio, so the
  test can run the port's pipeline with the original VAD (everything else should then agree to
  float rounding) as well as with its own energy VAD;
- `preprocessed_samples`: the length after trimming;
- for the first clip, `mel_first_partial_zlib_b64`: the network input of its first partial
  (float32 little-endian, 160 x 40, zlib + base64) and `first_partial_embedding`, what the
  network made of it, to test the network alone.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "engine" / "fixtures"
CLIP_DIR = FIXTURES / "speaker_clips"
FIXTURE = FIXTURES / "speaker_reference.json"
SAMPLE_RATE_HZ = 16000

TEXT_A = "Every morning I walk to the river and watch the boats go by."
TEXT_B = 'Music keeps me calm. <break time="700ms"/> I listen to it all day.'

# name -> (speaker label, espeak-ng arguments) or (label, None) for a synthetic clip
CLIPS = {
    "gb_low_river": ("gb_low", ["-v", "en-gb-x-rp+m7", "-p", "20", "-s", "175", TEXT_A]),
    "gb_low_music": ("gb_low", ["-m", "-v", "en-gb-x-rp+m7", "-p", "20", "-s", "175", TEXT_B]),
    "us_high_river": ("us_high", ["-v", "en-us+f5", "-p", "60", "-s", "175", TEXT_A]),
    "us_high_music": ("us_high", ["-m", "-v", "en-us+f5", "-p", "60", "-s", "175", TEXT_B]),
    "buzz": ("synthetic", None),
}
BUZZ_RECIPE = ("1.75 s at 16 kHz: sawtooth (20 harmonics, 1/k amplitudes) at 110 Hz with 5 Hz, 3 % vibrato, "
               "plus white noise at -40 dB (numpy default_rng(5)), 0.25 s silence at both ends, peak 0.5")


def make_buzz():
    import numpy as np

    rate = SAMPLE_RATE_HZ
    n = int(1.75 * rate)
    t = np.arange(n) / rate
    f0 = 110.0 * (1.0 + 0.03 * np.sin(2 * np.pi * 5.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    saw = sum(np.sin(k * phase) / k for k in range(1, 21))
    saw = saw / np.abs(saw).max()
    noise = np.random.default_rng(5).standard_normal(n) * 10 ** (-40 / 20)
    body = saw + noise
    gap = np.zeros(int(0.25 * rate))
    x = np.concatenate([gap, body, gap])
    return 0.5 * x / np.abs(x).max()


def make_clip(name: str, target: Path) -> str:
    """Write one clip as 16 kHz int16 FLAC; returns its recipe."""
    import librosa
    import numpy as np
    import soundfile as sf

    _, args = CLIPS[name]
    if args is None:
        audio, recipe = make_buzz(), BUZZ_RECIPE
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "out.wav"
            subprocess.run(["espeak-ng", "-w", str(wav), *args], check=True)
            audio, rate = sf.read(str(wav), dtype="float32")
        audio = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE_HZ)
        version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.split(":")[1]
        recipe = ("espeak-ng " + " ".join(f"'{a}'" if " " in a else a for a in args) + f" (eSpeak NG {version.split()[0]}, "
                  "22.05 kHz output resampled to 16 kHz by librosa.resample's soxr_hq)")
    pcm = np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(target), pcm, SAMPLE_RATE_HZ, subtype="PCM_16", format="FLAC")
    return recipe


def webrtc_flags(wav):
    """webrtcvad's per-window decisions exactly as resemblyzer.audio.trim_long_silences makes them."""
    import struct

    import numpy as np
    import webrtcvad
    from resemblyzer.hparams import sampling_rate, vad_window_length

    samples_per_window = (vad_window_length * sampling_rate) // 1000
    wav = wav[:len(wav) - (len(wav) % samples_per_window)]
    pcm_wave = struct.pack("%dh" % len(wav), *(np.round(wav * (2 ** 15 - 1))).astype(np.int16))
    vad = webrtcvad.Vad(mode=3)
    return [vad.is_speech(pcm_wave[s * 2:(s + samples_per_window) * 2], sample_rate=sampling_rate)
            for s in range(0, len(wav), samples_per_window)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate-clips", action="store_true")
    args = parser.parse_args()

    import numpy as np
    import resemblyzer
    import soundfile as sf
    import torch
    from resemblyzer import VoiceEncoder, preprocess_wav
    from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram
    from resemblyzer.hparams import audio_norm_target_dBFS

    old = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {"clips": {}}
    encoder = VoiceEncoder("cpu", verbose=False)
    weights = Path(resemblyzer.__file__).parent / "pretrained.pt"
    out = {
        "about": "Resemblyzer 0.1.4's own embeddings of the clips in speaker_clips/ (tools/speaker_reference.py)",
        "resemblyzer": getattr(resemblyzer, "__version__", "0.1.4"),
        "pretrained_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "librosa": __import__("librosa").__version__},
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "clips": {},
    }
    for i, (name, (speaker, _)) in enumerate(CLIPS.items()):
        path = CLIP_DIR / f"{name}.flac"
        if args.regenerate_clips or not path.exists():
            recipe = make_clip(name, path)
        else:
            recipe = old["clips"].get(name, {}).get("recipe") or make_clip(name, path)
        wav, rate = sf.read(str(path), dtype="float32")
        assert rate == SAMPLE_RATE_HZ and wav.ndim == 1
        pre = preprocess_wav(wav, source_sr=rate)
        flags = webrtc_flags(normalize_volume(wav, audio_norm_target_dBFS, increase_only=True))
        embed, partials, wav_slices = encoder.embed_utterance(pre, return_partials=True)
        entry = {
            "file": f"speaker_clips/{name}.flac",
            "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "speaker": speaker,
            "recipe": recipe,
            "samples": int(wav.shape[0]),
            "preprocessed_samples": int(pre.shape[0]),
            "vad_flags": "".join("1" if f else "0" for f in flags),
            "embedding": [float(f"{v:.8g}") for v in embed],
            "n_partials": len(partials),
        }
        if i == 0:
            padded = np.pad(pre, (0, max(0, wav_slices[-1].stop - len(pre))))
            mel = wav_to_mel_spectrogram(padded)[:160].astype("<f4")
            entry["mel_first_partial_zlib_b64"] = base64.b64encode(zlib.compress(mel.tobytes(), 9)).decode()
            entry["first_partial_embedding"] = [float(f"{v:.8g}") for v in partials[0]]
        out["clips"][name] = entry
        print(f"{name}: {wav.shape[0] / rate:.2f} s -> {pre.shape[0] / rate:.2f} s after trimming, "
              f"{len(partials)} partials, webrtcvad active {sum(flags)}/{len(flags)}")
    names = list(out["clips"])
    for a in names:
        row = [float(np.dot(out["clips"][a]["embedding"], out["clips"][b]["embedding"])) for b in names]
        print(f"{a:>14}: " + " ".join(f"{v:.3f}" for v in row))
    FIXTURE.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {FIXTURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
