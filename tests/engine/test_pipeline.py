"""The whole engine: generate -> files, stems vs. mix, loudness, determinism, cancel, extend, CLI."""

from __future__ import annotations

import json
import threading

import mido
import numpy as np
import pytest
import soundfile as sf
import torch

from studio.engine.dsp.effects import db_to_gain
from studio.engine.dsp.mastering import TARGET_LUFS, TRUE_PEAK_CEILING_DBTP, default_glue, master
from studio.engine.io.export import write_audio
from studio.engine.pipeline.generate import STAGES, Cancelled, extend, generate, load_score
from studio.engine.composition.spec import GenerationSpec, LyricsOptions

ALL = ["wav", "flac", "ogg", "mp3", "midi", "stems", "lyrics", "chords"]


def tiny(**fields) -> GenerationSpec:
    fields.setdefault("duration", 6.0)
    fields.setdefault("seed", 5)
    fields.setdefault("audio_quality", "draft")  # 22.05 kHz keeps the suite fast
    return GenerationSpec(**fields)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    events: list[tuple[float, str]] = []
    spec = tiny(style="pop", instrumental=False, lyrics=LyricsOptions(theme="city lights"), output_formats=ALL)
    result = generate(spec, out_dir=out, basename="song", device="cpu", progress=lambda f, s: events.append((f, s)))
    return result, events, out


def test_every_format_is_written_and_readable(made):
    result, _events, out = made
    files = result.files
    rate = result.track.sample_rate_hz
    for fmt in ("wav", "flac", "ogg", "mp3"):
        info = sf.info(files[fmt])
        assert info.channels == 2 and info.samplerate == rate
        assert info.duration == pytest.approx(result.duration_s, abs=0.1)
    assert set(files["stems"]) == set(result.track.stems) and "vocals" in files["stems"]
    for path in files["stems"].values():
        assert sf.info(path).frames == result.track.mix.shape[-1]
    midi = mido.MidiFile(files["midi"])
    names = [m.name for t in midi.tracks for m in t if m.type == "track_name"]
    assert len(midi.tracks) >= len(result.score.parts)
    assert any("vocal" in n.lower() for n in names)
    assert files["lrc"].read_text().count("[00:") >= len(result.score.lyrics)
    assert json.loads(files["lyrics_json"].read_text())["timestamps"]
    assert json.loads(files["chords"].read_text())["key"] == result.spec.key
    assert load_score(files["score"]).parts[0].notes == result.score.parts[0].notes
    assert not list(out.glob(".*part*"))  # no temporary files left behind


def test_progress_walks_the_stages_in_order(made):
    _result, events, _out = made
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    seen = list(dict.fromkeys(s for _, s in events if s != "completed"))
    assert seen == list(STAGES)


def test_master_hits_loudness_and_true_peak(made):
    result, _events, _out = made
    report = result.track.master_report
    assert report["integrated_lufs"] == pytest.approx(TARGET_LUFS, abs=0.5)
    assert report["true_peak_dbtp"] <= TRUE_PEAK_CEILING_DBTP + 0.05
    assert result.analysis.clipped_samples == 0
    assert float(result.track.mix.abs().max()) < 1.0


def test_mix_is_the_master_of_the_stems_sum(made):
    """Stems are exported with the master's static gain; undoing it and mastering the sum again
    reproduces the mix, so the stems are exactly what went into the master bus."""
    result, _events, _out = made
    track = result.track
    premaster = sum(track.stems.values()) / float(db_to_gain(torch.tensor(track.master_report["stems_gain_db"])))
    again, _ = master(premaster, track.sample_rate_hz, TARGET_LUFS, TRUE_PEAK_CEILING_DBTP, glue=default_glue())
    assert torch.allclose(again, track.mix, atol=2e-4)


def test_analysis_quality_and_summary(made):
    result, _events, _out = made
    summary = json.loads(json.dumps(result.summary()))
    assert summary["resolved_spec"]["style"] == "pop"
    assert set(summary["quality_metrics"]) == {"melodic_coherence", "harmonic_consistency", "rhythmic_stability",
                                               "audio_fidelity", "overall_quality"}
    assert all(0.0 <= v <= 1.0 for v in summary["quality_metrics"].values())
    assert summary["tags"] and summary["tagger_model"].startswith("musicnn")
    assert summary["requested_vs_estimated"]["key"][0] == result.spec.key


def test_same_seed_same_audio_other_seed_differs():
    a = generate(tiny(style="house", duration=4.0), device="cpu", tag=False)
    b = generate(tiny(style="house", duration=4.0), device="cpu", tag=False)
    c = generate(tiny(style="house", duration=4.0, seed=6), device="cpu", tag=False)
    assert torch.equal(a.track.mix, b.track.mix)
    assert a.track.mix.shape == c.track.mix.shape
    difference = (a.track.mix - c.track.mix).square().mean() / a.track.mix.square().mean()
    assert difference > 0.1


def test_cancel_stops_before_anything_is_written(tmp_path):
    cancel = threading.Event()

    def progress(_fraction, stage):
        if stage == "mixing":
            cancel.set()

    with pytest.raises(Cancelled):
        generate(tiny(style="trap"), out_dir=tmp_path, device="cpu", progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_extend_continues_without_a_click_or_loudness_jump(made, tmp_path):
    result, _events, _out = made
    longer = extend(result.score, 6.0, out_dir=tmp_path, basename="longer", device="cpu", tag=False)
    assert longer.spec.key == result.spec.key and longer.spec.tempo_bpm == result.spec.tempo_bpm
    assert longer.duration_s == pytest.approx(result.duration_s + 6.0, abs=0.05)
    assert longer.track.master_report["integrated_lufs"] == pytest.approx(TARGET_LUFS, abs=0.5)
    rate = longer.track.sample_rate_hz
    mono = longer.track.mix.mean(dim=0).numpy()
    # no click: the largest sample-to-sample step at the join is like the steps elsewhere
    join_s = [s for s in result.score.sections if s.name != "outro"][-1].end_s
    j = int(join_s * rate)
    steps = np.abs(np.diff(mono))
    assert steps[j - 64:j + 64].max() <= 1.5 * np.percentile(steps, 99.9)
    # no loudness jump: RMS over the second before and after the join within 6 dB
    before = np.sqrt(np.mean(mono[j - rate:j] ** 2))
    after = np.sqrt(np.mean(mono[j:j + rate] ** 2))
    assert abs(20 * np.log10(after / before)) < 6.0
    with pytest.raises(ValueError, match="additional_duration_s"):
        extend(result.score, 0.0)


def test_cli_generate_and_errors(tmp_path, capsys, monkeypatch):
    from studio.cli import main

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    code = main(["generate", "chill lo-fi beat", "--duration", "4", "--seed", "2", "--quality", "draft",
                 "--out", str(tmp_path / "out"), "--formats", "wav,mid", "--name", "beat", "--no-tags", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resolved_spec"]["style"] == "lofi_hip_hop"
    assert (tmp_path / "out" / "beat.wav").exists() and (tmp_path / "out" / "beat.mid").exists()
    assert main(["generate", "x", "--tempo", "300"]) == 2
    assert "tempo" in capsys.readouterr().err
    assert main(["generate", "x", "--formats", "wav,aac"]) == 2
    assert "aac" in capsys.readouterr().err
    assert main(["extend", str(tmp_path / "out" / "beat_score.json"), "--duration", "3", "--no-tags",
                 "--formats", "wav"]) == 0
    assert (tmp_path / "out" / "beat_extended.wav").exists()


def test_jobs_on_threads_give_the_same_audio_as_one_after_another(monkeypatch):
    """Parts, channel strips, reverb rows and the master's analyses run side by side on the CPU
    (`run_jobs`); each job owns its buffers, so the audio is bit-identical to a serial run."""
    import studio.engine.dsp.effects as effects
    from studio.engine.composition.composer import compose
    from studio.engine.pipeline.render import render_score
    from studio.engine.instruments.soundfont import load_soundfont
    from studio.engine.composition.spec import resolve_spec

    score = compose(resolve_spec(tiny(style="synthwave", duration=6, seed=5)))
    soundfont = load_soundfont(None)
    threaded = render_score(score, soundfont, device="cpu")
    monkeypatch.setattr(effects, "JOB_THREADS", 1)
    serial = render_score(score, soundfont, device="cpu")
    assert torch.equal(threaded.mix, serial.mix)
    assert threaded.stems.keys() == serial.stems.keys()
    assert all(torch.equal(threaded.stems[name], serial.stems[name]) for name in serial.stems)


def test_stems_made_before_or_after_the_mix_are_the_same():
    """The mix takes one reverb return of the summed sends whether or not the stems are asked
    for up front (then they are finished right after it; otherwise on first use): the same mix
    and master, bit for bit, and the same stems."""
    from studio.engine.composition.composer import compose
    from studio.engine.pipeline.render import render_score
    from studio.engine.instruments.soundfont import load_soundfont
    from studio.engine.composition.spec import resolve_spec

    score = compose(resolve_spec(tiny(style="lofi_hip_hop", duration=6, seed=5)))
    soundfont = load_soundfont(None)
    lazy = render_score(score, soundfont, device="cpu")
    assert lazy.stem_bus.reverb is not None and not lazy.stem_bus.finished
    eager = render_score(score, soundfont, device="cpu", stems=True)
    assert eager.stem_bus.finished
    assert torch.equal(lazy.mix, eager.mix)
    assert lazy.stem_names == eager.stem_names == list(lazy.stems)
    assert all(torch.equal(lazy.stems[name], eager.stems[name]) for name in lazy.stem_names)
    assert lazy.master_report["stems_gain_db"] == eager.master_report["stems_gain_db"]


def test_same_spec_and_seed_give_identical_audio_whatever_is_exported(tmp_path):
    """Issue 18 item 7: the mix and every stem are bit-identical whether a generation exports only
    a WAV or every audio format plus stems (which changed how the mix was summed)."""
    spec = tiny(style="pop", duration=5.0, instrumental=False, lyrics=LyricsOptions(theme="city lights"))
    only_wav = generate(spec.model_copy(update={"output_formats": ["wav"]}), out_dir=tmp_path / "a", basename="t",
                        device="cpu", tag=False)
    everything = generate(spec.model_copy(update={"output_formats": ["wav", "flac", "mp3", "ogg", "stems"]}),
                          out_dir=tmp_path / "b", basename="t", device="cpu", tag=False)
    assert not only_wav.track.stem_bus.finished and everything.track.stem_bus.finished
    assert torch.equal(only_wav.track.mix, everything.track.mix)
    wav_a, _ = sf.read(only_wav.files["wav"], dtype="int16")
    wav_b, _ = sf.read(everything.files["wav"], dtype="int16")
    assert np.array_equal(wav_a, wav_b)
    assert np.array_equal(sf.read(everything.files["flac"], dtype="int16")[0], wav_b)
    report_a, report_b = only_wav.track.master_report, everything.track.master_report
    assert {k: v for k, v in report_a.items() if k != "stems_gain_db"} == \
        {k: v for k, v in report_b.items() if k != "stems_gain_db"}
    # The stems the first run makes on demand are the ones the second one exported.
    stems_a = only_wav.track.stems
    assert list(stems_a) == list(everything.files["stems"]) and "vocals" in stems_a
    for name, audio in stems_a.items():
        assert torch.equal(audio, everything.track.stems[name]), name
        written = write_audio(tmp_path / f"{name}.wav", audio, only_wav.track.sample_rate_hz, "wav")
        assert np.array_equal(sf.read(written, dtype="int16")[0], sf.read(everything.files["stems"][name], dtype="int16")[0]), name


def test_metal_plays_its_electric_guitars_through_the_amp_and_nothing_else(monkeypatch):
    import studio.engine.pipeline.render as render
    from studio.engine.composition.composer import compose
    from studio.engine.instruments.soundfont import load_soundfont
    from studio.engine.composition.spec import resolve_spec

    amped: list[int] = []
    original = render.GuitarAmp.process_

    def record(self, audio, sample_rate_hz):
        amped.append(audio.data_ptr())
        return original(self, audio, sample_rate_hz)

    monkeypatch.setattr(render.GuitarAmp, "process_", record)
    score = compose(resolve_spec(tiny(style="metal", duration=6, seed=5)))
    parts = render.render_parts(score, load_soundfont(None), sample_rate_hz=22050, device=torch.device("cpu"),
                                num_frames=int(score.total_s * 22050) + 1)
    pointers = [audio.data_ptr() for audio in parts]
    render.process_stems(score, parts, 22050)
    guitars = [p for part, p in zip(score.parts, pointers)
               if part.notes and part.source == "sf2" and not part.is_drum and part.program in render.ELECTRIC_GUITARS]
    assert guitars and sorted(amped) == sorted(guitars)
    amped.clear()
    pop = compose(resolve_spec(tiny(style="pop", duration=6, seed=5)))
    pop_parts = render.render_parts(pop, load_soundfont(None), sample_rate_hz=22050, device=torch.device("cpu"),
                                    num_frames=int(pop.total_s * 22050) + 1)
    render.process_stems(pop, pop_parts, 22050)
    assert amped == []  # styles without an amp setting leave their guitars clean


@pytest.mark.parametrize("style,delivery", [("boom_bap", "rap"), ("trap", "rap"), ("pop", "sung")])
def test_hip_hop_singers_rap(monkeypatch, style, delivery):
    import studio.engine.pipeline.render as render
    import studio.engine.instruments.singing as singing
    from studio.engine.composition.composer import compose
    from studio.engine.instruments.soundfont import load_soundfont
    from studio.engine.composition.spec import SingerOptions, resolve_spec

    asked: list[str] = []

    def fake_sing(lyrics, *, sample_rate_hz, num_frames, delivery="sung", **_kwargs):
        asked.append(delivery)
        return np.zeros(num_frames, dtype=np.float32)

    monkeypatch.setattr(singing, "sing", fake_sing)
    score = compose(resolve_spec(tiny(style=style, duration=6, seed=5, instrumental=False, singer=SingerOptions())))
    render.render_parts(score, load_soundfont(None), sample_rate_hz=22050, device=torch.device("cpu"),
                        num_frames=int(score.total_s * 22050) + 1)
    assert asked == [delivery]
