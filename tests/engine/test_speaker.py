"""The torch port of Resemblyzer's GE2E voice encoder against the original.

`fixtures/speaker_reference.json` holds resemblyzer 0.1.4's own embeddings of the clips in
`fixtures/speaker_clips/` (16 kHz int16 FLAC: espeak-ng speech by two voices, two sentences each,
and a synthetic buzz), webrtcvad's decisions on them and the network input/output of one
partial; `tools/speaker_reference.py` regenerates it in a venv with resemblyzer."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from studio.engine.analysis import speaker
from studio.engine.analysis.speaker import (
    EMBEDDING_SIZE,
    SAMPLE_RATE_HZ,
    embed,
    embed_preprocessed,
    load_speaker_encoder,
    normalize_volume,
    partial_mels,
    partial_slices,
    preprocess,
    similarity,
    smooth_voice_flags,
    speaker_similarity,
    voice_activity,
)
from studio.engine.analysis.tagger import resample

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "speaker_reference.json").read_text())
CLIPS = list(REFERENCE["clips"])
SPEECH = [name for name in CLIPS if REFERENCE["clips"][name]["speaker"] != "synthetic"]


def _flags(name: str) -> np.ndarray:
    return np.array([c == "1" for c in REFERENCE["clips"][name]["vad_flags"]])


@pytest.fixture(scope="module")
def encoder():
    return load_speaker_encoder()


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    out = {}
    for name, ref in REFERENCE["clips"].items():
        audio, rate = sf.read(str(FIXTURES / ref["file"]), dtype="float32")
        assert rate == SAMPLE_RATE_HZ and audio.shape == (ref["samples"],)
        out[name] = audio
    return out


@pytest.fixture(scope="module")
def embeddings(clips, encoder) -> dict[str, np.ndarray]:
    return {name: embed(audio, SAMPLE_RATE_HZ, encoder=encoder) for name, audio in clips.items()}


def test_weights_are_resemblyzers():
    net = load_speaker_encoder()
    assert net.meta["pretrained_sha256"] == REFERENCE["pretrained_sha256"]
    assert net.version == f"resemblyzer-0.1.4/{REFERENCE['pretrained_sha256'][:12]}"
    assert sorted({k.split(".")[0] for k in net.state_dict()}) == ["linear", "lstm"]
    assert all(v.dtype == torch.float32 for v in net.state_dict().values())


@pytest.mark.parametrize("clip", CLIPS)
def test_embedding_matches_resemblyzer(embeddings, clip):
    """Whole pipeline with the energy VAD: close to the original (which trims with webrtcvad)."""
    ours = embeddings[clip]
    assert ours.shape == (EMBEDDING_SIZE,) and ours.dtype == np.float32
    assert abs(float(np.linalg.norm(ours)) - 1.0) < 1e-5
    assert similarity(ours, REFERENCE["clips"][clip]["embedding"]) >= 0.99


@pytest.mark.parametrize("clip", CLIPS)
def test_pipeline_with_webrtcvad_decisions_is_exact(clips, encoder, clip):
    """Given the original's VAD decisions, resampling, normalisation, trimming, mel spectrogram,
    partials and network agree with resemblyzer to float rounding."""
    ref = REFERENCE["clips"][clip]
    pre = preprocess(clips[clip], SAMPLE_RATE_HZ, vad_flags=_flags(clip))
    assert pre.shape[0] == ref["preprocessed_samples"]
    assert len(partial_slices(pre.shape[0])) == ref["n_partials"]
    ours = embed_preprocessed(pre, encoder)
    assert np.abs(ours - np.array(ref["embedding"])).max() < 1e-5


@pytest.mark.parametrize("clip", CLIPS)
def test_energy_vad_keeps_what_webrtcvad_keeps(clips, clip):
    ours = smooth_voice_flags(voice_activity(normalize_volume(clips[clip])))
    theirs = smooth_voice_flags(_flags(clip))
    assert ours.shape == theirs.shape
    assert (ours == theirs).mean() >= 0.95


def test_network_alone_matches_on_the_reference_mel(encoder):
    ref = REFERENCE["clips"][CLIPS[0]]
    mel = np.frombuffer(zlib.decompress(base64.b64decode(ref["mel_first_partial_zlib_b64"])), dtype="<f4")
    mel = torch.from_numpy(mel.reshape(160, 40).copy())
    with torch.inference_mode():
        out = encoder(mel[None])[0].numpy()
    assert np.abs(out - np.array(ref["first_partial_embedding"])).max() < 1e-4


def test_mel_spectrogram_matches_librosa(clips):
    ref = REFERENCE["clips"][CLIPS[0]]
    expected = np.frombuffer(zlib.decompress(base64.b64decode(ref["mel_first_partial_zlib_b64"])), dtype="<f4")
    expected = expected.reshape(160, 40)
    ours = partial_mels(preprocess(clips[CLIPS[0]], SAMPLE_RATE_HZ, vad_flags=_flags(CLIPS[0])))[0].numpy()
    assert np.abs(ours - expected).max() <= 1e-5 * expected.max()


def test_same_speaker_is_more_similar_than_different_speakers(embeddings):
    same, different = [], []
    for i, a in enumerate(SPEECH):
        for b in SPEECH[i + 1:]:
            s = similarity(embeddings[a], embeddings[b])
            (same if REFERENCE["clips"][a]["speaker"] == REFERENCE["clips"][b]["speaker"] else different).append(s)
    assert same and different
    assert min(same) > max(different) + 0.1
    buzz = [similarity(embeddings["buzz"], embeddings[name]) for name in SPEECH]
    assert max(buzz) < min(different)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_other_rates_and_stereo_give_the_same_embedding(clips, embeddings, encoder, rate):
    audio = clips[SPEECH[0]]
    up = resample(torch.from_numpy(audio), SAMPLE_RATE_HZ, rate).numpy()
    stereo = np.stack([up, up])
    assert similarity(embed(stereo, rate, encoder=encoder), embeddings[SPEECH[0]]) > 0.99


def test_quiet_audio_is_raised_to_minus_30_dbfs(clips, encoder):
    """Increase-only normalisation: clips quieter than -30 dBFS RMS end up alike; louder ones stay."""
    audio = clips[SPEECH[1]]
    assert normalize_volume(audio) is audio  # espeak-ng's output is louder than -30 dBFS
    quiet, quieter = audio * 0.01, audio * 0.001
    assert speaker.rms_dbfs(normalize_volume(quiet)) == pytest.approx(-30.0, abs=1e-3)
    assert similarity(embed(quiet, SAMPLE_RATE_HZ, encoder=encoder), embed(quieter, SAMPLE_RATE_HZ, encoder=encoder)) > 0.9999


def test_bad_audio_is_refused(encoder):
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="empty"):
        embed(np.zeros(0, dtype=np.float32), SAMPLE_RATE_HZ, encoder=encoder)
    with pytest.raises(ValueError, match="too short"):
        embed(rng.standard_normal(SAMPLE_RATE_HZ // 4).astype(np.float32), SAMPLE_RATE_HZ, encoder=encoder)
    with pytest.raises(ValueError, match="silent"):
        embed(np.zeros(2 * SAMPLE_RATE_HZ, dtype=np.float32), SAMPLE_RATE_HZ, encoder=encoder)
    bad = rng.standard_normal(SAMPLE_RATE_HZ).astype(np.float32)
    bad[10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        embed(bad, SAMPLE_RATE_HZ, encoder=encoder)
    with pytest.raises(ValueError, match="1-D"):
        embed(np.zeros((1, 2, SAMPLE_RATE_HZ)), SAMPLE_RATE_HZ, encoder=encoder)
    with pytest.raises(ValueError, match="differ in size"):
        similarity(np.ones(256), np.ones(128))


@pytest.mark.parametrize("n_samples, n_partials", [(0, 1), (8000, 1), (30000, 1), (36000, 2), (52800, 3),
                                                   (160000, 12)])
def test_partial_slices_as_resemblyzer(n_samples, n_partials):
    """Values from resemblyzer's VoiceEncoder.compute_partial_slices(n, rate=1.3, min_coverage=0.75)."""
    slices = partial_slices(n_samples)
    assert [(s.start, s.stop) for s in slices] == [(77 * i, 77 * i + 160) for i in range(n_partials)]


def test_api(clips, embeddings):
    assert load_speaker_encoder() is load_speaker_encoder("cpu")
    a, b = clips[SPEECH[0]], clips[SPEECH[-1]]
    expected = similarity(embeddings[SPEECH[0]], embeddings[SPEECH[-1]])
    assert speaker_similarity(a, SAMPLE_RATE_HZ, b, SAMPLE_RATE_HZ) == pytest.approx(expected, abs=1e-6)
    assert similarity(embeddings[SPEECH[0]], embeddings[SPEECH[0]]) == pytest.approx(1.0, abs=1e-6)
    assert embed(torch.from_numpy(a), SAMPLE_RATE_HZ).shape == (EMBEDDING_SIZE,)  # tensors work too


def test_missing_weights_say_how_to_make_them(monkeypatch, tmp_path):
    monkeypatch.setattr(speaker, "MODELS_DIR", tmp_path)
    speaker._load.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="convert_resemblyzer"):
            load_speaker_encoder()
    finally:
        speaker._load.cache_clear()
