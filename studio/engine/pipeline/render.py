"""Render a `Score`: instruments on the device, stems with their effects, the mix, the master.

- SoundFont parts are rendered together in one batched pass (`render_notes_batch`), synth parts
  one patch at a time (`render_synth`); every part has the full length of the track.
- Each stem (drums, bass, harmony, melody, vocals, fx) gets its channel strip from the style's
  `fx` preset: high-pass, compression, saturation, sidechain ducking under the kick, delay,
  stereo width, and lo-fi texture (wow/flutter, bit/sample-rate reduction, low-pass) where the
  style asks for it. Reverb is a send, and each stem keeps its own return, so a stem file
  carries its reverb.
- The mix is the plain sum of the processed stems; the master bus (glue compression, loudness to
  -14 LUFS, true-peak limiting to -1 dBTP) runs on that sum. Stems are exported pre-master with
  the master's static gain so they line up with the mastered mix in level.
- The reverb is linear, so the sum of the stems' returns is the return of the summed sends: the
  mix is made with one stereo convolution, and each stem's own return is only computed when the
  stems are asked for (`RenderedTrack.stems`, e.g. a "stems" export). Most generations export
  only the mix, and the per-stem returns were the costliest step of the mix.
- The mix is made that one way whether or not stems are wanted (summing the finished stems
  instead rounds differently, ~1e-5), so a spec and seed give bit-identical audio whatever
  formats are exported; stems are finished after the mix is taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from studio.engine.dsp.effects import (BitCrush, Chorus, Compressor, Delay, GuitarAmp, HighPassFilter, LowPassFilter, Reverb,
                      Saturation, SidechainDucker, StereoWidth, VinylCrackle, WowFlutter, db_to_gain, fft_convolve,
                      run_jobs, tempo_synced_delay_ms)
from studio.engine.dsp.mastering import TARGET_LUFS, TRUE_PEAK_CEILING_DBTP, default_glue, master
from studio.engine.instruments.sampler import Notes, render_notes_batch
from studio.engine.composition.score import STEMS, Part, Score
from studio.engine.instruments.soundfont import SoundFont
from studio.engine.composition.styles import styles
from studio.engine.instruments.synths import choke_notes, render_synth

ELECTRIC_GUITARS = range(26, 32)  # General MIDI programs (0-based) a style's guitar amp plays through
# Mix balance: each stem is brought to this RMS (dBFS, measured over the 100 ms blocks where it
# plays, so a part that rests for a verse is not boosted) before its channel strip. Instruments
# differ by 20 dB and more in raw level (a plucked synth against a sustained pad); levelling
# first and then compressing is what a mix engineer's gain staging does. Drums follow the
# style's `drums_level` (quiet in ambient, full in trap); the master sets the final loudness.
STEM_TARGET_RMS_DB = {"drums": -16.0, "bass": -16.0, "harmony": -21.0, "melody": -20.0, "vocals": -18.0, "fx": -30.0}
MAX_BALANCE_GAIN_DB = 18.0
RAP_VOCALS_BOOST_DB = 4.0  # a rapped vocal sits on top of the beat, louder than a sung one
BALANCE_BLOCK_S = 0.1
BALANCE_GATE_DB = -40.0  # blocks this far below the loudest block do not count as playing
# Reverb send per stem, scaled by the style's reverb amount.
REVERB_SEND = {"drums": 0.25, "bass": 0.0, "harmony": 0.8, "melody": 0.7, "vocals": 0.8, "fx": 1.0}
HIGH_PASS_HZ = {"drums": 25.0, "bass": 28.0, "harmony": 110.0, "melody": 160.0, "vocals": 140.0, "fx": 60.0}

ProgressFn = Callable[[float, str], None]


@dataclass
class StemBus:
    """The processed stems before their reverb returns and the fade-out, as rows of one buffer
    (`process_stems`), with what turns them into the exported stems."""

    rows: torch.Tensor  # (stems, 2, frames) on the device
    names: list[str]  # stem of each row
    reverb: Reverb | None
    send_levels: list[float]  # per row; the reverb return's level (0: no send)
    fade_s: float
    finished: bool = False  # rows hold the finished stems (`finish_` ran)

    def _sent_rows(self) -> tuple[int, int]:
        """The rows with a send are consecutive (`process_stems` orders them so)."""
        sent = [i for i, level in enumerate(self.send_levels) if level > 0]
        return (sent[0], sent[-1] + 1) if sent and self.reverb is not None else (0, 0)

    def mix(self, sample_rate_hz: int) -> torch.Tensor:
        """The dry rows plus one return of the summed sends, faded: the finished stems' sum up to
        float rounding. Made before `finish_` (which changes the rows), always this way: see the
        module notes."""
        if self.finished:
            raise RuntimeError("the mix is made from the stems before they are finished")
        mix = self.rows.sum(dim=0)
        r0, r1 = self._sent_rows()
        if r1 > r0:
            levels = torch.tensor(self.send_levels[r0:r1], dtype=self.rows.dtype, device=self.rows.device)
            sends = torch.einsum("s,scf->cf", levels, self.rows[r0:r1])
            mix += fft_convolve(sends, self.reverb.impulse_response(sample_rate_hz, sends.shape[0]), out=sends)
        return _fade_out_(mix, sample_rate_hz, self.fade_s)

    def finish_(self, sample_rate_hz: int) -> dict[str, torch.Tensor]:
        """The finished stems, in place: each row gets its own reverb return (one batched
        convolution), then the fade-out. Runs once; later calls return the same rows."""
        if not self.finished:
            r0, r1 = self._sent_rows()
            if r1 > r0:
                self.reverb.send_(self.rows[r0:r1], sample_rate_hz, self.send_levels[r0:r1])
            for x in self.rows:
                _fade_out_(x, sample_rate_hz, self.fade_s)
            self.finished = True
        return {name: self.rows[i] for i, name in enumerate(self.names)}


@dataclass
class RenderedTrack:
    sample_rate_hz: int
    mix: torch.Tensor  # mastered mix (2, frames) on CPU
    master_report: dict
    stem_bus: StemBus
    stems_gain: float  # the master's static gain, which the stems leave with
    timings_s: dict[str, float] = field(default_factory=dict)
    _stems: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    @property
    def stem_names(self) -> list[str]:
        return [name for name in STEMS if name in self.stem_bus.names]

    @property
    def stems(self) -> dict[str, torch.Tensor]:
        """Processed stems, pre-master, (2, frames) on CPU, scaled like the master; their sum
        is what the master bus received. Made on first use (see the module notes); if the
        master's gain would clip a fixed-point stem file, all stems are lowered together, and
        master_report["stems_gain_db"] says by how much they were scaled."""
        if self._stems is None:
            with torch.inference_mode():
                stems = self.stem_bus.finish_(self.sample_rate_hz)
                gain = self.stems_gain
                peak = max((float(x.abs().max()) for x in stems.values()), default=0.0) * gain
                headroom = db_to_gain(torch.tensor(-1.0)).item()
                if peak > headroom:
                    gain *= headroom / peak
                self.master_report["stems_gain_db"] = round(20 * math.log10(max(gain, 1e-12)), 2)
                self._stems = {name: stems[name].mul_(gain).cpu() for name in self.stem_names}
        return self._stems


def _notes_of(part: Part) -> Notes:
    return part.to_notes()


def render_parts(score: Score, soundfont: SoundFont, *, sample_rate_hz: int, device: torch.device,
                 num_frames: int, check_cancelled: Callable[[], None] | None = None) -> list[torch.Tensor]:
    """Raw audio of every part, (2, num_frames) each, in `score.parts` order, with the part's gain.

    The SoundFont parts (one batched render) and each synth part are independent jobs, run side
    by side on the CPU (`run_jobs`). Every job writes only its own buffer: the same result.
    """
    out: list[torch.Tensor | None] = [None] * len(score.parts)
    jobs: list[tuple[list[int], Callable[[], list[torch.Tensor]]]] = []
    # With a singer, the lyrics are sung (studio/engine/instruments/singing.py) instead of played by the
    # vocal melody's lead instrument; the first vocals part carries the voice, others stay silent.
    singer = score.spec.singer if score.lyrics else None
    sung = [i for i, p in enumerate(score.parts) if singer is not None and p.stem == "vocals"]
    if sung:
        jobs.append((sung[:1], lambda: [_sung_vocals(score, sample_rate_hz, num_frames, device, check_cancelled)]))
    sf2_index = [i for i, p in enumerate(score.parts) if p.source == "sf2" and i not in sung]
    if sf2_index:
        jobs.append((sf2_index, lambda: list(render_notes_batch(
            soundfont, [_notes_of(score.parts[i]) for i in sf2_index], sample_rate_hz, device=device,
            num_frames=num_frames))))
    closed_hats = [p for p in score.parts if p.source == "synth" and p.patch == "hat_closed"]

    def synth_job(i: int, part: Part) -> list[torch.Tensor]:
        if check_cancelled:
            check_cancelled()
        notes = _notes_of(part)
        if part.patch == "hat_open" and closed_hats:
            notes = choke_notes(notes, _notes_of(closed_hats[0]))
        return [render_synth(part.patch, notes, sample_rate_hz, device=device, seed=score.spec.seed + i, num_frames=num_frames)]

    for i, part in enumerate(score.parts):
        if part.source == "synth" and i not in sung:
            jobs.append(([i], lambda i=i, part=part: synth_job(i, part)))
    # The slowest jobs first (most notes x layers; singing is the slowest of all), so that no
    # long one starts last.
    def cost(job) -> float:
        return math.inf if sung and job[0] == sung[:1] else sum(len(score.parts[i].notes) for i in job[0])

    jobs.sort(key=lambda job: -cost(job))
    results = run_jobs([job for _index, job in jobs], device)
    for (index, _job), audio in zip(jobs, results):
        for i, x in zip(index, audio):
            out[i] = x
    for i, part in enumerate(score.parts):
        if out[i] is None:
            out[i] = torch.zeros(2, num_frames, device=device)
        elif part.gain_db:
            out[i].mul_(db_to_gain(part.gain_db))  # each part's buffer is its own
    return out  # type: ignore[return-value]


def _sung_vocals(score: Score, sample_rate_hz: int, num_frames: int, device: torch.device,
                 check_cancelled: Callable[[], None] | None) -> torch.Tensor:
    """The lyrics sung by `score.spec.singer`, (2, num_frames), centred."""
    from studio.engine.instruments.singing import sing
    from studio.engine.instruments.voice import VoiceSettings

    singer = score.spec.singer
    settings = VoiceSettings(pitch_semitones=singer.pitch_semitones, formant_shift=singer.formant_shift,
                             pitch_range=singer.pitch_range,
                             **({"base_voice": singer.base_voice} if singer.base_voice else {}))
    delivery = styles()[score.spec.style].vocal_delivery  # hip-hop raps its lyrics
    voice = torch.from_numpy(sing(score.lyrics, sample_rate_hz=sample_rate_hz, num_frames=num_frames,
                                  settings=settings, delivery=delivery, check_cancelled=check_cancelled)).to(device)
    return torch.stack([voice, voice.clone()])


def _kick_key(score: Score, parts_audio: list[torch.Tensor], sample_rate_hz: int) -> torch.Tensor | None:
    """The kick alone, for sidechain ducking: the synth kick part, or the drum stem's low band."""
    for part, audio in zip(score.parts, parts_audio):
        if part.is_drum and part.patch in ("kick_808", "kick_punchy"):
            return audio
    for part, audio in zip(score.parts, parts_audio):
        if part.stem == "drums":
            return LowPassFilter(cutoff_frequency_hz=120.0)(audio, sample_rate_hz)
    return None


def active_rms_db(audio: torch.Tensor, sample_rate_hz: int) -> float | None:
    """RMS (dBFS) over the blocks where `audio` (channels, frames) plays; None for silence."""
    block = max(1, int(BALANCE_BLOCK_S * sample_rate_hz))
    usable = audio.shape[-1] // block * block
    if usable == 0:
        return None
    # vector_norm reduces each block without a squared full-length temporary (~6x faster).
    blocks = audio[..., :usable].reshape(audio.shape[0], -1, block)
    energy = torch.linalg.vector_norm(blocks, dim=-1).square().mean(dim=0) / block
    loudest = float(energy.max())
    if loudest <= 1e-12:
        return None
    playing = energy[energy >= loudest * 10.0 ** (BALANCE_GATE_DB / 10.0)]
    return 10.0 * math.log10(float(playing.mean()))


def balance_gain_db(audio: torch.Tensor, sample_rate_hz: int, target_db: float) -> float:
    level = active_rms_db(audio, sample_rate_hz)
    if level is None:
        return 0.0
    return max(-MAX_BALANCE_GAIN_DB, min(MAX_BALANCE_GAIN_DB, target_db - level))


def process_stems(score: Score, parts_audio: list[torch.Tensor], sample_rate_hz: int, *,
                  release_parts: bool = False) -> StemBus:
    """Sum parts into stems and run each stem's channel strip (see module docstring).

    ``release_parts``: the caller hands the parts over; once they are summed into the stems the
    list's entries are set to None, so their memory is free for the effects (peak memory).

    The stems are the rows of one (stems, 2, frames) buffer and every effect runs in place
    (``process_``), so a long track costs no full-length temporaries; the effects that are the
    same for every stem (lo-fi wow/flutter and bit-crush, the low-pass) run once on the stacked
    rows. The reverb send and the fade-out are left to the returned `StemBus`: its `mix` is
    the sum of the finished stems, its `finish_` makes them.
    """
    style = styles()[score.spec.style]
    fx = style.fx
    sr = sample_rate_hz
    frames = parts_audio[0].shape[-1] if parts_audio else 0
    device = parts_audio[0].device if parts_audio else torch.device("cpu")
    dtype = parts_audio[0].dtype if parts_audio else torch.float32
    members: dict[str, list[torch.Tensor]] = {}
    amp = GuitarAmp(drive_db=fx.amp_drive_db) if fx.amp_drive_db > 0 else None
    for part, audio in zip(score.parts, parts_audio):
        if part.notes:
            if amp is not None and part.source == "sf2" and not part.is_drum and part.program in ELECTRIC_GUITARS:
                amp.process_(audio, sr)  # the part's own buffer, before it joins its stem
            members.setdefault(part.stem, []).append(audio)
    kick = _kick_key(score, parts_audio, sr) if fx.sidechain else None  # only ducking listens to it
    seed = score.spec.seed
    send = {name: REVERB_SEND[name] * fx.reverb for name in STEMS}
    played = [name for name in STEMS if name in members]
    # Rows: played stems without a reverb send, then those with one, then an fx stem made of
    # the vinyl crackle alone, so the shared lo-fi effects and the send each take one slice.
    order = [n for n in played if send[n] <= 0] + [n for n in played if send[n] > 0]
    if fx.vinyl and "fx" not in members:
        order.append("fx")
    bus = torch.empty((len(order), 2, frames), device=device, dtype=dtype)

    for row, name in enumerate(order):  # sum the parts into their stems' rows
        x = bus[row]
        if name not in members:
            x.zero_()
            continue
        first, *others = members[name]
        x.copy_(first)
        for audio in others:
            x.add_(audio)
    if release_parts:  # the parts are in the bus now: free them (~64 MB each for 3 minutes)
        members.clear()
        parts_audio[:] = [None] * len(parts_audio)

    def channel_strip(row: int, name: str) -> None:
        x = bus[row]
        if name not in played:
            return
        target_db = STEM_TARGET_RMS_DB[name] + (20.0 * math.log10(max(style.drums_level, 0.05)) if name == "drums" else 0.0)
        if name == "vocals" and style.vocal_delivery == "rap" and score.spec.singer is not None:
            target_db += RAP_VOCALS_BOOST_DB
        x.mul_(db_to_gain(balance_gain_db(x, sr, target_db)))
        HighPassFilter(cutoff_frequency_hz=HIGH_PASS_HZ[name]).process_(x, sr)
        if name == "drums":
            Compressor(threshold_db=-20.0, ratio=3.0, attack_ms=8.0, release_ms=120.0, makeup_gain_db=2.0).process_(x, sr)
        if name == "bass":
            Compressor(threshold_db=-22.0, ratio=4.0, attack_ms=15.0, release_ms=150.0, makeup_gain_db=2.0).process_(x, sr)
        if fx.saturation > 0 and name in ("drums", "bass", "harmony"):
            Saturation(drive_db=12.0 * fx.saturation, mix=0.5 + 0.5 * fx.saturation).process_(x, sr)
        if fx.sidechain and kick is not None and name in ("bass", "harmony"):
            SidechainDucker(key=kick, depth_db=8.0 if name == "harmony" else 5.0, threshold_db=-24.0,
                            attack_ms=3.0, release_ms=0.45 * 60000.0 / score.tempo_bpm).process_(x, sr)
        if name == "harmony" and style.id in ("lofi_hip_hop", "rnb", "synthwave"):
            Chorus(rate_hz=0.6, depth_ms=2.5, mix=0.35).process_(x, sr)
        if fx.delay > 0 and name in ("melody", "vocals"):
            Delay(delay_ms=tempo_synced_delay_ms(score.tempo_bpm, 0.75), feedback=0.3 + 0.3 * fx.delay,
                  mix=0.35 * fx.delay, ping_pong=True).process_(x, sr)
        if name in ("harmony", "melody", "fx") and fx.width != 1.0:
            StereoWidth(width=fx.width).process_(x, sr)

    # One strip after another: run side by side (`run_jobs`) they were faster on a busy machine,
    # but each thread's malloc arena kept its own multi-MB temporaries and peak memory grew by
    # ~0.4 GB on a 3-minute track, past the 2 GiB budget.
    for row, name in enumerate(order):
        channel_strip(row, name)
    stems = bus[: len(played)]  # the same lo-fi texture on every played stem, in one call each
    if fx.lofi:
        if fx.wow:
            WowFlutter(depth_cents=10.0).process_(stems, sr)
        BitCrush(bit_depth=12.0, target_sample_rate_hz=min(sr, 26000.0), mix=0.5).process_(stems, sr)
    if fx.lowpass_hz:
        LowPassFilter(cutoff_frequency_hz=min(fx.lowpass_hz, 0.45 * sr)).process_(stems, sr)
    if fx.vinyl:
        VinylCrackle(density_per_s=5.0, level_db=-34.0, seed=seed).process_(bus[order.index("fx")], sr)
    reverb = None
    if any(send[name] > 0 for name in order):
        reverb = Reverb(room_size=0.3 + 0.5 * fx.reverb, decay_s=0.8 + 2.4 * fx.reverb, damping=0.5, seed=seed)
    return StemBus(rows=bus, names=order, reverb=reverb, send_levels=[send[name] * 0.6 for name in order],
                   fade_s=min(1.5, score.tail_s))


def render_score(score: Score, soundfont: SoundFont, *, device: str | torch.device = "cpu",
                 sample_rate_hz: int | None = None, progress: ProgressFn | None = None,
                 check_cancelled: Callable[[], None] | None = None, stems: bool = False) -> RenderedTrack:
    """Render, mix and master a score. Progress is reported as fractions within this call.

    ``stems``: the caller will want the stems (e.g. a "stems" export); they are then finished
    here, after the mix is taken, rather than on first use. The mix and the master do not
    depend on it (see the module notes)."""
    import time

    sr = int(sample_rate_hz or score.spec.sample_rate_hz)
    device = torch.device(device)
    frames = int(math.ceil(score.total_s * sr))
    timings: dict[str, float] = {}
    report = progress or (lambda _f, _s: None)

    t0 = time.perf_counter()
    report(0.0, "rendering")
    with torch.inference_mode():
        parts_audio = render_parts(score, soundfont, sample_rate_hz=sr, device=device, num_frames=frames,
                                   check_cancelled=check_cancelled)
        timings["render_s"] = time.perf_counter() - t0
        if check_cancelled:
            check_cancelled()
        report(0.6, "mixing")
        t1 = time.perf_counter()
        stem_bus = process_stems(score, parts_audio, sr, release_parts=True)
        del parts_audio
        mix = stem_bus.mix(sr) if stem_bus.names else torch.zeros(2, frames, device=device)
        if stems:
            stem_bus.finish_(sr)
        timings["mix_s"] = time.perf_counter() - t1
        if check_cancelled:
            check_cancelled()
        report(0.8, "mastering")
        t2 = time.perf_counter()
        mastered, master_report = master(mix, sr, TARGET_LUFS, TRUE_PEAK_CEILING_DBTP, glue=default_glue())
        timings["master_s"] = time.perf_counter() - t2
    # Stems leave with the master's static gain, so they line up with the mix in level.
    gain = float(db_to_gain(torch.tensor(master_report["gain_applied_db"])))
    return RenderedTrack(sample_rate_hz=sr, mix=mastered.cpu(), master_report=master_report, stem_bus=stem_bus,
                         stems_gain=gain, timings_s=timings)


def _fade_out_(audio: torch.Tensor, sample_rate_hz: int, fade_s: float) -> torch.Tensor:
    """Fade the last `fade_s` in place so release and reverb tails end in silence, not a cut."""
    n = min(int(fade_s * sample_rate_hz), audio.shape[-1])
    if n <= 1:
        return audio
    curve = torch.cos(torch.linspace(0, math.pi / 2, n, device=audio.device, dtype=audio.dtype)) ** 2
    audio[..., -n:] *= curve
    return audio
