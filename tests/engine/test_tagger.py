"""The torch port of musicnn against the original (TensorFlow) model (on the CPU this runs the fast
`CpuForward` path; `test_cpu_forward_matches_the_network` ties it to the module's forward).

`fixtures/musicnn_reference.json` holds musicnn 0.1.0's own outputs for the clips of
`musicnn_clips.py`; `tools/musicnn_reference.py` regenerates it in a TensorFlow venv."""

from __future__ import annotations

import base64
import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.engine.analysis.tagger import (
    PATCH_FRAMES,
    SAMPLE_RATE_HZ,
    CpuForward,
    TagResult,
    load_tagger,
    mel_power_spectrogram,
    resample,
)
from tests.engine.musicnn_clips import CLIPS, OTHER_CLIPS

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "musicnn_reference.json").read_text())
MODELS = ("MSD_musicnn", "MTT_musicnn")
TOLERANCE = 1e-3


ALL_CLIPS = {name: (make, SAMPLE_RATE_HZ) for name, make in CLIPS.items()} | OTHER_CLIPS


@pytest.fixture(scope="module")
def clips() -> dict[str, tuple[torch.Tensor, int]]:
    """name -> (audio, sample rate): 16 kHz mono clips and one 44.1 kHz stereo clip."""
    return {name: (torch.from_numpy(make()), rate) for name, (make, rate) in ALL_CLIPS.items()}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("clip", list(ALL_CLIPS))
def test_tags_match_original_musicnn(clips, clip, model):
    ref = REFERENCE["clips"][clip]["models"][model]
    tagger = load_tagger(model)
    assert tagger.tags == ref["tags"]
    result = tagger.tag(*clips[clip])
    taggram = np.array(ref["taggram"])
    assert result.per_patch.shape == taggram.shape
    assert np.abs(result.per_patch.numpy() - taggram).max() < TOLERANCE
    mean = np.array([result.tags[t] for t in ref["tags"]])
    assert np.abs(mean - np.array(ref["mean"])).max() < TOLERANCE


@pytest.mark.parametrize("clip", list(ALL_CLIPS))
def test_mel_spectrogram_matches_librosa(clips, clip):
    """musicnn's float16 mel power (librosa 0.7: reflect padding, kaiser_best resampling) at both
    ends of each clip. float32 rounding may move a value sitting on a float16 rounding boundary by
    one step (resampled input: at float32 rounding of librosa's), nothing more."""
    ref = REFERENCE["clips"][clip]
    edge = REFERENCE["edge_frames"]
    expected = np.frombuffer(zlib.decompress(base64.b64decode(ref["mel_float16_edges_zlib_b64"])), dtype="<f2")
    expected = expected.reshape(2 * edge, 96).astype(np.float64)
    audio, rate = clips[clip]
    mono = audio.mean(dim=0) if audio.dim() == 2 else audio
    mel = mel_power_spectrogram(resample(mono, rate, SAMPLE_RATE_HZ))
    assert mel.shape == (ref["n_frames"], 96)
    ours = torch.cat([mel[:edge], mel[-edge:]]).to(torch.float16).double().numpy()
    differs = ours != expected
    assert differs.mean() < 5e-3
    one_step = np.spacing(np.abs(expected).astype(np.float16)).astype(np.float64)
    assert np.all(np.abs(ours - expected) <= one_step)


@pytest.mark.parametrize("orig_hz", [8000, 22050, 44100, 48000])
def test_resample_keeps_a_sine(orig_hz):
    seconds = 0.5
    t = torch.arange(int(seconds * orig_hz), dtype=torch.float64) / orig_hz
    out = resample(torch.sin(2 * math.pi * 1000.0 * t).float(), orig_hz, SAMPLE_RATE_HZ)
    assert out.shape[-1] == math.ceil(t.numel() * SAMPLE_RATE_HZ / orig_hz)
    t16 = torch.arange(out.shape[-1], dtype=torch.float64) / SAMPLE_RATE_HZ
    expected = torch.sin(2 * math.pi * 1000.0 * t16)
    interior = slice(400, out.shape[-1] - 400)  # away from the zero-padded ends
    # resampy 0.2's table stepping (reproduced on purpose) raises the passband gain by ~0.4 %
    assert (out.double()[interior] - expected[interior]).abs().max() < 6e-3


def test_resample_refuses_rates_without_a_common_factor():
    with pytest.raises(ValueError, match="common sample rate"):
        resample(torch.zeros(1000), 44101, SAMPLE_RATE_HZ)


def test_resample_removes_content_above_the_new_nyquist():
    t = torch.arange(44100, dtype=torch.float64) / 44100
    out = resample(torch.sin(2 * math.pi * 12000.0 * t).float(), 44100, SAMPLE_RATE_HZ)
    assert out[1000:-1000].abs().max() < 1e-3


def test_other_rates_and_stereo_give_nearly_the_same_tags(clips):
    tagger = load_tagger("MTT_musicnn")
    pad = clips["chord_pad"][0]
    mono = tagger.tag(pad, SAMPLE_RATE_HZ)
    up = resample(pad, SAMPLE_RATE_HZ, 44100)
    stereo = torch.stack([up, up])
    other = tagger.tag(stereo, 44100)
    assert other.per_patch.shape == mono.per_patch.shape
    assert max(abs(other.tags[k] - mono.tags[k]) for k in mono.tags) < 0.02


def test_short_and_loud_audio():
    tagger = load_tagger("MSD_musicnn")
    short = tagger.tag(torch.randn(SAMPLE_RATE_HZ) * 0.1, SAMPLE_RATE_HZ)  # 1 s: repeat-padded to 3 s
    assert short.per_patch.shape == (1, 50)
    t = torch.arange(4 * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    loud = tagger.tag(torch.sign(torch.sin(2 * math.pi * 60 * t)), SAMPLE_RATE_HZ)  # full-scale square wave
    assert torch.isfinite(loud.per_patch).all()
    assert all(0.0 <= p <= 1.0 for p in loud.tags.values())


def test_patch_hop_overlaps_patches(clips):
    tagger = load_tagger("MSD_musicnn")
    audio = clips["drum_loop"][0]
    frames = audio.numel() // 256 + 1
    result = tagger.tag(audio, SAMPLE_RATE_HZ, patch_hop_s=1.0)
    hop = int((1.0 * SAMPLE_RATE_HZ - 256) // 256)
    assert result.per_patch.shape[0] == (frames - PATCH_FRAMES) // hop + 1


def test_api():
    tagger = load_tagger()
    assert tagger is load_tagger("MSD_musicnn")
    assert tagger.model == "MSD_musicnn" and len(tagger.tags) == 50 and "rock" in tagger.tags
    assert tagger.version.startswith("musicnn-0.1.0/MSD_musicnn/")
    assert load_tagger("MTT_musicnn").version != tagger.version
    result = tagger.tag(torch.zeros(2, 4 * SAMPLE_RATE_HZ), SAMPLE_RATE_HZ)
    assert isinstance(result, TagResult) and result.model == "MSD_musicnn"
    assert list(result.tags) == tagger.tags
    top = result.top(3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    with pytest.raises(ValueError):
        load_tagger("MSD_vgg")
    with pytest.raises(ValueError):
        tagger.tag(torch.zeros(1, 2, 3), SAMPLE_RATE_HZ)


@pytest.mark.parametrize("model", MODELS)
def test_cpu_forward_matches_the_network(clips, model):
    """The reorganised CPU path (DFT timbral convs, windowed temporal convs, folded pooling)
    computes the module's own forward to float32 rounding."""
    tagger = load_tagger(model)
    fast = CpuForward(tagger.net)
    torch.manual_seed(7)
    real = torch.cat([tagger._patches(audio, rate, None) for audio, rate in clips.values()])
    inputs = torch.cat([real, torch.rand(3, PATCH_FRAMES, 96) * 4.0, torch.zeros(1, PATCH_FRAMES, 96)])
    with torch.inference_mode():
        expected = tagger.net(inputs)
        got = fast(inputs)
        odd = fast(inputs[:2, :100])  # any number of frames, like the module
        assert torch.allclose(odd, tagger.net(inputs[:2, :100]), atol=1e-4)
    assert (got - expected).abs().max() < 1e-4
    assert (torch.sigmoid(got) - torch.sigmoid(expected)).abs().max() < 1e-5


def test_tag_many_equals_tag(clips):
    tagger = load_tagger("MSD_musicnn")
    chosen = [clips["drum_loop"], clips["chord_pad"], clips["drum_loop_stereo_44k"]]
    many = tagger.tag_many(chosen)
    assert tagger.tag_many([]) == []
    for (audio, rate), result in zip(chosen, many):
        single = tagger.tag(audio, rate)
        assert result.per_patch.shape == single.per_patch.shape
        assert torch.allclose(result.per_patch, single.per_patch, atol=1e-6)


def _pieces(audio: torch.Tensor, size: int):
    return (audio[..., i:i + size] for i in range(0, audio.shape[-1], size))


@pytest.mark.parametrize("block", [3001, 1 << 16])
def test_streamed_tagging_equals_tagging_the_whole(clips, block):
    """Decoded blocks go through `_StreamingLogMel` and finished patches to the workers while
    later blocks arrive: the same log-mel and tags as the whole signal at once."""
    tagger = load_tagger("MSD_musicnn")
    audio, rate = clips["drum_loop_stereo_44k"]
    whole = tagger.tag(audio, rate)
    decoded: list[str] = []
    streamed, logmel = tagger.tag_stream(_pieces(audio, block), rate, audio.shape[-1],
                                         on_decoded=lambda: decoded.append("done"))
    assert decoded == ["done"]
    assert logmel.shape == tagger.spectrogram(audio, rate).shape
    assert torch.allclose(logmel, tagger.spectrogram(audio, rate), atol=1e-3)  # a rare float16 step
    assert streamed.per_patch.shape == whole.per_patch.shape and streamed.per_patch.shape[0] >= 2
    assert torch.allclose(streamed.per_patch, whole.per_patch, atol=1e-5)


def test_streamed_tagging_falls_back_when_the_length_was_wrong(clips):
    """A header that misstates the length (MP3s without a length tag) must not cost a patch."""
    tagger = load_tagger("MSD_musicnn")
    audio, rate = clips["drum_loop_stereo_44k"]
    whole = tagger.tag(audio, rate)
    for announced in (audio.shape[-1] - 5000, audio.shape[-1] + 5000):
        streamed, _ = tagger.tag_stream(_pieces(audio, 40000), rate, announced)
        assert torch.allclose(streamed.per_patch, whole.per_patch, atol=1e-6)
        as_list, _ = tagger.tag_stream(list(_pieces(audio, 40000)), rate, announced)  # a list of blocks too
        assert torch.allclose(as_list.per_patch, whole.per_patch, atol=1e-6)
    short = audio[..., : rate * 2]  # under one patch: repeat-padded like `tag`
    assert torch.allclose(tagger.tag_stream(_pieces(short, 9000), rate, short.shape[-1])[0].per_patch,
                          tagger.tag(short, rate).per_patch, atol=1e-6)


def test_tag_file_reads_blocks(tmp_path, clips):
    import soundfile as sf

    tagger = load_tagger("MSD_musicnn")
    audio, rate = clips["drum_loop_stereo_44k"]
    path = tmp_path / "clip.flac"
    sf.write(path, audio.numpy().T, rate, subtype="PCM_24")
    back = torch.from_numpy(sf.read(path, dtype="float32", always_2d=True)[0].T.copy())
    result, _ = tagger.tag_file(path, block_frames=20000)
    assert torch.allclose(result.per_patch, tagger.tag(back, rate).per_patch, atol=1e-5)
