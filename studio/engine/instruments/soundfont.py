"""SoundFont 2 (.sf2) and SF3 (.sf3) reader: presets, instruments, zones and sample data.

A small RIFF reader following the SoundFont 2.04 specification. It keeps the file's 16-bit
samples (plus the optional `sm24` low byte) and resolves, for one (bank, program), the list
of playable zones with preset and instrument generators combined:

- instrument generators are absolute values, preset generators are added on top of them;
- a global zone (the first zone without a terminal generator) supplies defaults that a
  local zone overrides;
- key and velocity ranges of the preset zone and the instrument zone are intersected.

Modulators (`pmod`/`imod`) are not read; the renderer applies the one default modulator that
matters most for playback (velocity to attenuation). No Qt, HTTP or database imports here.

`load_soundfont(path=None)` returns the General MIDI SoundFont that pretty_midi ships
(TimGM6mb.sf2) when no path is given; parsed files are cached. SF3 files (samples compressed
as Ogg Vorbis) are decoded to 16-bit at load. `find_system_soundfonts()` lists larger GM fonts
the operating system installed (e.g. Debian's fluid-soundfont-gm).
"""

from __future__ import annotations

import importlib.util
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DRUM_BANK = 128  # GM percussion kits live in bank 128 in every GM SoundFont
DEFAULT_SOUNDFONT_NAME = "TimGM6mb.sf2"

# Generator numbers (SoundFont 2.04, section 8.1.2) used below.
GEN_START_OFFSET = 0
GEN_END_OFFSET = 1
GEN_LOOP_START_OFFSET = 2
GEN_LOOP_END_OFFSET = 3
GEN_START_COARSE_OFFSET = 4
GEN_END_COARSE_OFFSET = 12
GEN_PAN = 17
GEN_DELAY_VOL_ENV = 33
GEN_ATTACK_VOL_ENV = 34
GEN_HOLD_VOL_ENV = 35
GEN_DECAY_VOL_ENV = 36
GEN_SUSTAIN_VOL_ENV = 37
GEN_RELEASE_VOL_ENV = 38
GEN_KEY_TO_VOL_ENV_HOLD = 39
GEN_KEY_TO_VOL_ENV_DECAY = 40
GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VEL_RANGE = 44
GEN_LOOP_START_COARSE_OFFSET = 45
GEN_KEYNUM = 46
GEN_VELOCITY = 47
GEN_INITIAL_ATTENUATION = 48
GEN_LOOP_END_COARSE_OFFSET = 50
GEN_COARSE_TUNE = 51
GEN_FINE_TUNE = 52
GEN_SAMPLE_ID = 53
GEN_SAMPLE_MODES = 54
GEN_SCALE_TUNING = 56
GEN_EXCLUSIVE_CLASS = 57
GEN_OVERRIDING_ROOT_KEY = 58

# Instrument-level defaults (section 8.1.3); any generator not listed defaults to 0.
_DEFAULTS = {
    GEN_DELAY_VOL_ENV: -12000,  # timecents: 2^(-12000/1200) s = ~1 ms
    GEN_ATTACK_VOL_ENV: -12000,
    GEN_HOLD_VOL_ENV: -12000,
    GEN_DECAY_VOL_ENV: -12000,
    GEN_RELEASE_VOL_ENV: -12000,
    GEN_SCALE_TUNING: 100,  # cents per key
    GEN_KEYNUM: -1,
    GEN_VELOCITY: -1,
    GEN_OVERRIDING_ROOT_KEY: -1,
}

# Generators that only make sense on an instrument zone; the spec says to ignore them in presets.
_INSTRUMENT_ONLY = {
    GEN_START_OFFSET, GEN_END_OFFSET, GEN_LOOP_START_OFFSET, GEN_LOOP_END_OFFSET,
    GEN_START_COARSE_OFFSET, GEN_END_COARSE_OFFSET, GEN_LOOP_START_COARSE_OFFSET,
    GEN_LOOP_END_COARSE_OFFSET, GEN_KEYNUM, GEN_VELOCITY, GEN_SAMPLE_MODES,
    GEN_EXCLUSIVE_CLASS, GEN_OVERRIDING_ROOT_KEY, GEN_SAMPLE_ID,
}

# Valid ranges (section 8.1.3); summed values are clamped into them.
_RANGES = {
    GEN_PAN: (-500, 500),
    GEN_DELAY_VOL_ENV: (-12000, 5000),
    GEN_ATTACK_VOL_ENV: (-12000, 8000),
    GEN_HOLD_VOL_ENV: (-12000, 5000),
    GEN_DECAY_VOL_ENV: (-12000, 8000),
    GEN_SUSTAIN_VOL_ENV: (0, 1440),
    GEN_RELEASE_VOL_ENV: (-12000, 8000),
    GEN_KEY_TO_VOL_ENV_HOLD: (-1200, 1200),
    GEN_KEY_TO_VOL_ENV_DECAY: (-1200, 1200),
    GEN_INITIAL_ATTENUATION: (0, 1440),
    GEN_COARSE_TUNE: (-120, 120),
    GEN_FINE_TUNE: (-99, 99),
    GEN_SCALE_TUNING: (0, 1200),
}

# Hydra record layouts (section 7), little endian.
_PHDR = np.dtype([("name", "S20"), ("program", "<u2"), ("bank", "<u2"), ("bag", "<u2"),
                  ("library", "<u4"), ("genre", "<u4"), ("morphology", "<u4")])
_BAG = np.dtype([("gen", "<u2"), ("mod", "<u2")])
_GEN = np.dtype([("oper", "<u2"), ("amount", "<u2")])
_INST = np.dtype([("name", "S20"), ("bag", "<u2")])
_SHDR = np.dtype([("name", "S20"), ("start", "<u4"), ("end", "<u4"), ("loop_start", "<u4"),
                  ("loop_end", "<u4"), ("sample_rate", "<u4"), ("original_pitch", "u1"),
                  ("pitch_correction", "i1"), ("link", "<u2"), ("type", "<u2")])

_ROM_SAMPLE = 0x8000  # sample type bit: data lives in a sound ROM, not in this file
_VORBIS_SAMPLE = 0x10  # SF3 sample type bit: the data is an Ogg Vorbis stream (byte offsets)
_GUARD_POINTS = 46  # zero samples the spec puts after each sample (interpolation reads past the end)


def timecents_to_seconds(timecents: float) -> float:
    return float(2.0 ** (timecents / 1200.0))


@dataclass(frozen=True)
class PresetInfo:
    name: str
    bank: int
    program: int
    index: int  # position in the file's preset list


@dataclass(frozen=True)
class SampleInfo:
    name: str
    start: int  # indices into SoundFont.sample_data; end is exclusive
    end: int
    loop_start: int
    loop_end: int  # first sample after the loop
    sample_rate_hz: int
    original_pitch: int  # MIDI key recorded in the sample
    pitch_correction_cents: int
    sample_type: int


@dataclass(frozen=True)
class Zone:
    """One playable layer: a sample with all generators resolved for a (bank, program)."""

    sample_index: int
    sample_name: str
    key_lo: int
    key_hi: int
    vel_lo: int
    vel_hi: int
    start: int  # absolute indices into SoundFont.sample_data (offsets applied); end exclusive
    end: int
    loop_start: int
    loop_end: int
    sample_rate_hz: int
    root_key: int  # overridingRootKey, else the sample's original pitch
    tune_cents: float  # coarse*100 + fine + the sample's pitch correction
    scale_tuning_cents: float  # cents per key (100 = normal keyboard)
    sample_mode: int  # 0 no loop, 1 loop continuously, 3 loop until release then play on
    attenuation_cb: float  # initialAttenuation generator as written (centibels)
    pan: float  # -1 hard left .. 1 hard right
    delay_s: float  # volume envelope
    attack_s: float
    hold_s: float
    decay_s: float
    sustain_cb: float  # attenuation of the sustain level below peak, centibels
    release_s: float
    key_to_hold_tc: float  # timecents per key below/above 60 (keynumToVolEnvHold)
    key_to_decay_tc: float
    exclusive_class: int  # >0: a new note of the same class cuts this one (hi-hat choke)
    fixed_key: int  # -1, or the key this zone always plays as (keynum generator)
    fixed_velocity: int  # -1, or the velocity this zone always uses

    @property
    def loops(self) -> bool:
        return self.sample_mode in (1, 3) and self.loop_end > self.loop_start


@dataclass(frozen=True)
class PresetZones:
    """The zones of one preset plus a key x velocity lookup table.

    `lookup[key, velocity]` lists zone indices (padded with -1): every layer that sounds
    for that key and velocity. `bank`/`program`/`name` tell which preset was actually used
    (it differs from the request when a fallback applied).
    """

    bank: int
    program: int
    name: str
    zones: tuple[Zone, ...]
    lookup: np.ndarray  # int16, shape (128, 128, layers)

    def zones_for(self, key: int, velocity: int) -> list[Zone]:
        return [self.zones[i] for i in self.lookup[key, velocity] if i >= 0]


@dataclass(eq=False)
class SoundFont:
    path: Path | None
    name: str
    version: tuple[int, int]
    presets: list[PresetInfo]
    samples: list[SampleInfo]
    sample_data: np.ndarray  # int16 samples of the `smpl` chunk
    sample_data_lsb: np.ndarray | None  # optional `sm24` low bytes (24-bit fonts)
    # Raw hydra: per preset/instrument a list of zones, each a dict {generator: amount}.
    _preset_zones: list[list[dict[int, int]]] = field(repr=False)
    _instrument_zones: list[list[dict[int, int]]] = field(repr=False)
    instrument_names: list[str] = field(repr=False)
    _resolved: dict[tuple[int, int], PresetZones] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def samples_float(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) as float32 in [-1, 1); indices outside the data read as 0."""
        n = len(self.sample_data)
        out = np.zeros(max(end - start, 0), dtype=np.float32)
        lo, hi = max(start, 0), min(end, n)
        if hi > lo:
            chunk = self.sample_data[lo:hi].astype(np.float32)
            if self.sample_data_lsb is not None:
                # 24-bit: the sm24 byte extends each 16-bit word downwards.
                chunk = chunk * 256.0 + self.sample_data_lsb[lo:hi].astype(np.float32)
                chunk /= 8388608.0
            else:
                chunk /= 32768.0
            out[lo - start:hi - start] = chunk
        return out

    def find_preset(self, bank: int, program: int) -> PresetInfo | None:
        """The preset for (bank, program), falling back to bank 0 (or the drum kit 0), then program 0."""
        by_slot = {(p.bank, p.program): p for p in reversed(self.presets)}  # first one wins
        if bank >= DRUM_BANK:
            candidates = [(bank, program), (DRUM_BANK, program), (DRUM_BANK, 0)]
            found = next((by_slot[c] for c in candidates if c in by_slot), None)
            # Any percussion bank is better than playing drums on a melodic preset.
            return found or next((p for p in self.presets if p.bank >= DRUM_BANK), None)
        candidates = [(bank, program), (0, program), (bank, 0), (0, 0)]
        found = next((by_slot[c] for c in candidates if c in by_slot), None)
        if found is None:
            melodic = sorted((p for p in self.presets if p.bank < DRUM_BANK), key=lambda p: (p.bank, p.program))
            found = melodic[0] if melodic else None
        return found

    def preset_zones(self, bank: int, program: int) -> PresetZones:
        """Resolved zones for (bank, program) (with fallback); cached per SoundFont."""
        key = (int(bank), int(program))
        with self._lock:
            cached = self._resolved.get(key)
        if cached is not None:
            return cached
        preset = self.find_preset(*key)
        if preset is None:
            result = PresetZones(key[0], key[1], "", (), np.full((128, 128, 1), -1, dtype=np.int16))
        else:
            zones = tuple(self._resolve(preset.index))
            result = PresetZones(preset.bank, preset.program, preset.name, zones, _build_lookup(zones))
        with self._lock:
            self._resolved[key] = result
        return result

    def zones_for(self, bank: int, program: int, key: int, velocity: int) -> list[Zone]:
        return self.preset_zones(bank, program).zones_for(key, velocity)

    # -- generator resolution (SoundFont 2.04, sections 9.4 and 8.5) --

    def _resolve(self, preset_index: int) -> list[Zone]:
        preset_global, preset_locals = _split_global(self._preset_zones[preset_index], GEN_INSTRUMENT)
        zones: list[Zone] = []
        for local in preset_locals:
            pgens = {**preset_global, **local}
            inst = pgens[GEN_INSTRUMENT]
            if inst >= len(self._instrument_zones):
                continue
            inst_global, inst_locals = _split_global(self._instrument_zones[inst], GEN_SAMPLE_ID)
            for inst_local in inst_locals:
                igens = {**inst_global, **inst_local}
                zone = self._make_zone(pgens, igens)
                if zone is not None:
                    zones.append(zone)
        return zones

    def _make_zone(self, pgens: dict[int, int], igens: dict[int, int]) -> Zone | None:
        sample_id = igens[GEN_SAMPLE_ID]
        if sample_id >= len(self.samples):
            return None
        sample = self.samples[sample_id]
        if sample.sample_type & _ROM_SAMPLE or sample.end <= sample.start:
            return None
        key_lo, key_hi = _intersect(_range(pgens.get(GEN_KEY_RANGE)), _range(igens.get(GEN_KEY_RANGE)))
        vel_lo, vel_hi = _intersect(_range(pgens.get(GEN_VEL_RANGE)), _range(igens.get(GEN_VEL_RANGE)))
        if key_lo > key_hi or vel_lo > vel_hi:
            return None

        def value(gen: int) -> int:
            """Instrument value (or default) plus the preset's additive value, clamped."""
            total = _signed(igens.get(gen, _DEFAULTS.get(gen, 0)))
            if gen not in _INSTRUMENT_ONLY:
                total += _signed(pgens.get(gen, 0))
            lo, hi = _RANGES.get(gen, (-(1 << 31), 1 << 31))
            return min(max(total, lo), hi)

        def address(base: int, fine: int, coarse: int) -> int:
            return base + value(fine) + 32768 * value(coarse)

        n = len(self.sample_data)
        start = min(max(address(sample.start, GEN_START_OFFSET, GEN_START_COARSE_OFFSET), 0), n - 1)
        end = min(max(address(sample.end, GEN_END_OFFSET, GEN_END_COARSE_OFFSET), start + 1), n)
        loop_start = address(sample.loop_start, GEN_LOOP_START_OFFSET, GEN_LOOP_START_COARSE_OFFSET)
        loop_end = address(sample.loop_end, GEN_LOOP_END_OFFSET, GEN_LOOP_END_COARSE_OFFSET)
        loop_start = min(max(loop_start, start), end)
        loop_end = min(max(loop_end, loop_start), end)

        mode = value(GEN_SAMPLE_MODES) & 3
        if mode == 2:  # "unused, no loop" per the spec
            mode = 0
        if mode and loop_end - loop_start < 2:  # a loop too short to play is no loop
            mode = 0
        root = value(GEN_OVERRIDING_ROOT_KEY)
        if not 0 <= root <= 127:
            root = sample.original_pitch if sample.original_pitch <= 127 else 60  # 255 = unpitched
        return Zone(
            sample_index=sample_id,
            sample_name=sample.name,
            key_lo=key_lo, key_hi=key_hi, vel_lo=vel_lo, vel_hi=vel_hi,
            start=start, end=end, loop_start=loop_start, loop_end=loop_end,
            sample_rate_hz=sample.sample_rate_hz or 44100,
            root_key=root,
            tune_cents=100.0 * value(GEN_COARSE_TUNE) + value(GEN_FINE_TUNE) + sample.pitch_correction_cents,
            scale_tuning_cents=float(value(GEN_SCALE_TUNING)),
            sample_mode=mode,
            attenuation_cb=float(value(GEN_INITIAL_ATTENUATION)),
            pan=value(GEN_PAN) / 500.0,
            delay_s=timecents_to_seconds(value(GEN_DELAY_VOL_ENV)),
            attack_s=timecents_to_seconds(value(GEN_ATTACK_VOL_ENV)),
            hold_s=timecents_to_seconds(value(GEN_HOLD_VOL_ENV)),
            decay_s=timecents_to_seconds(value(GEN_DECAY_VOL_ENV)),
            sustain_cb=float(value(GEN_SUSTAIN_VOL_ENV)),
            release_s=timecents_to_seconds(value(GEN_RELEASE_VOL_ENV)),
            key_to_hold_tc=float(value(GEN_KEY_TO_VOL_ENV_HOLD)),
            key_to_decay_tc=float(value(GEN_KEY_TO_VOL_ENV_DECAY)),
            exclusive_class=max(value(GEN_EXCLUSIVE_CLASS), 0),
            fixed_key=value(GEN_KEYNUM) if 0 <= value(GEN_KEYNUM) <= 127 else -1,
            fixed_velocity=value(GEN_VELOCITY) if 1 <= value(GEN_VELOCITY) <= 127 else -1,
        )


def _signed(amount: int) -> int:
    return amount - 65536 if amount >= 32768 else amount


def _range(amount: int | None) -> tuple[int, int]:
    if amount is None:
        return 0, 127
    return amount & 0xFF, min(amount >> 8, 127)  # low byte = lo, high byte = hi


def _intersect(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return max(a[0], b[0]), min(a[1], b[1])


def _split_global(zones: list[dict[int, int]], terminal: int) -> tuple[dict[int, int], list[dict[int, int]]]:
    """(global generators, local zones). Zones without the terminal generator are not playable;
    the first such zone is the global zone."""
    global_gens: dict[int, int] = {}
    if zones and terminal not in zones[0]:
        global_gens = zones[0]
    return global_gens, [z for z in zones if terminal in z]


def _build_lookup(zones: tuple[Zone, ...]) -> np.ndarray:
    counts = np.zeros((128, 128), dtype=np.int32)
    for z in zones:
        counts[z.key_lo:z.key_hi + 1, z.vel_lo:z.vel_hi + 1] += 1
    layers = max(int(counts.max()), 1)
    lookup = np.full((128, 128, layers), -1, dtype=np.int16)
    counts[:] = 0
    for i, z in enumerate(zones):
        keys, vels = np.meshgrid(np.arange(z.key_lo, z.key_hi + 1), np.arange(z.vel_lo, z.vel_hi + 1), indexing="ij")
        slots = counts[keys, vels]
        lookup[keys, vels, slots] = i
        counts[keys, vels] += 1
    return lookup


# -- RIFF parsing --

def _chunks(data: bytes, start: int, end: int, where: str):
    """Yield (chunk id, data offset, size) for the RIFF chunks in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        cid, size = struct.unpack_from("<4sI", data, pos)
        if pos + 8 + size > end:
            raise ValueError(f"truncated SoundFont: chunk {cid!r} in {where} runs past the end of the file")
        yield cid, pos + 8, size
        pos += 8 + size
        # Chunks are padded to an even size with a zero byte; some SF3 writers leave the pad out.
        if size & 1 and pos < end and data[pos] == 0:
            pos += 1


def _decode(name: bytes) -> str:
    return name.split(b"\0", 1)[0].decode("latin-1").strip()


def _records(data: bytes, chunks: dict[bytes, tuple[int, int]], cid: bytes, dtype: np.dtype) -> np.ndarray:
    if cid not in chunks:
        raise ValueError(f"not a valid SoundFont 2 file: the pdta list has no {cid.decode()} chunk")
    offset, size = chunks[cid]
    if size % dtype.itemsize or size < 2 * dtype.itemsize and cid not in (b"pmod", b"imod"):
        raise ValueError(f"not a valid SoundFont 2 file: {cid.decode()} chunk has a bad size ({size} bytes)")
    return np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize, offset=offset)


def _zones(headers: np.ndarray, bags: np.ndarray, gens: np.ndarray, what: str) -> list[list[dict[int, int]]]:
    """Per header (minus the terminal record) its zones as {generator: raw amount} dicts."""
    opers = gens["oper"].tolist()
    amounts = gens["amount"].tolist()
    bag_gen = bags["gen"].tolist()
    bag_index = headers["bag"].tolist()
    result = []
    for i in range(len(headers) - 1):
        lo, hi = bag_index[i], bag_index[i + 1]
        if hi < lo or hi >= len(bag_gen):
            raise ValueError(f"not a valid SoundFont 2 file: {what} {i} has bad zone indices")
        zones = []
        for b in range(lo, hi):
            g_lo, g_hi = bag_gen[b], bag_gen[b + 1]
            gen_map: dict[int, int] = {}
            for g in range(g_lo, min(g_hi, len(opers))):
                gen_map[opers[g]] = amounts[g]
                if opers[g] in (GEN_INSTRUMENT, GEN_SAMPLE_ID):
                    break  # the terminal generator ends a zone; anything after it is ignored
            zones.append(gen_map)
        result.append(zones)
    return result


def parse_soundfont(data: bytes, path: Path | None = None) -> SoundFont:
    """Parse the bytes of a .sf2 file; raises ValueError saying what is wrong."""
    label = str(path) if path else "data"
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise ValueError(f"{label} is not a SoundFont 2 file (no RIFF 'sfbk' header)")
    riff_end = min(12 + struct.unpack_from("<I", data, 4)[0] - 4, len(data))
    lists: dict[bytes, tuple[int, int]] = {}
    for cid, offset, size in _chunks(data, 12, riff_end, "the RIFF body"):
        if cid == b"LIST" and size >= 4:
            lists[data[offset:offset + 4]] = (offset + 4, offset + size)
    for needed in (b"INFO", b"sdta", b"pdta"):
        if needed not in lists:
            raise ValueError(f"{label} is not a valid SoundFont 2 file: the {needed.decode()} list is missing")

    info = {cid: (o, s) for cid, o, s in _chunks(data, *lists[b"INFO"], "INFO")}
    name = _decode(data[info[b"INAM"][0]:sum(info[b"INAM"])]) if b"INAM" in info else ""
    version = struct.unpack_from("<HH", data, info[b"ifil"][0]) if b"ifil" in info else (2, 1)

    sdta = {cid: (o, s) for cid, o, s in _chunks(data, *lists[b"sdta"], "sdta")}
    if b"smpl" not in sdta:
        raise ValueError(f"{label} is not a valid SoundFont 2 file: it has no sample data (smpl chunk)")
    smpl_offset, smpl_size = sdta[b"smpl"]
    sample_data = np.frombuffer(data, dtype="<i2", count=smpl_size // 2, offset=smpl_offset)
    lsb = None
    if b"sm24" in sdta and sdta[b"sm24"][1] >= len(sample_data):
        lsb = np.frombuffer(data, dtype=np.uint8, count=len(sample_data), offset=sdta[b"sm24"][0])

    pdta = {cid: (o, s) for cid, o, s in _chunks(data, *lists[b"pdta"], "pdta")}
    phdr = _records(data, pdta, b"phdr", _PHDR)
    pbag = _records(data, pdta, b"pbag", _BAG)
    pgen = _records(data, pdta, b"pgen", _GEN)
    inst = _records(data, pdta, b"inst", _INST)
    ibag = _records(data, pdta, b"ibag", _BAG)
    igen = _records(data, pdta, b"igen", _GEN)
    shdr = _records(data, pdta, b"shdr", _SHDR)

    presets = [PresetInfo(_decode(r["name"]), int(r["bank"]), int(r["program"]), i) for i, r in enumerate(phdr[:-1])]
    samples = [
        SampleInfo(_decode(r["name"]), int(r["start"]), int(r["end"]), int(r["loop_start"]), int(r["loop_end"]),
                   int(r["sample_rate"]), int(r["original_pitch"]), int(r["pitch_correction"]), int(r["type"]))
        for r in shdr[:-1]
    ]
    if any(s.sample_type & _VORBIS_SAMPLE for s in samples):
        sample_data, samples = _decode_sf3(data[smpl_offset:smpl_offset + smpl_size], samples, label)
        lsb = None
    return SoundFont(
        path=path,
        name=name,
        version=(int(version[0]), int(version[1])),
        presets=presets,
        samples=samples,
        sample_data=sample_data,
        sample_data_lsb=lsb,
        _preset_zones=_zones(phdr, pbag, pgen, "preset"),
        _instrument_zones=_zones(inst, ibag, igen, "instrument"),
        instrument_names=[_decode(r["name"]) for r in inst[:-1]],
    )


def _decode_sf3(smpl: bytes, samples: list[SampleInfo], label: str) -> tuple[np.ndarray, list[SampleInfo]]:
    """SF3 (MuseScore's compressed SoundFont): each sample is an Ogg Vorbis stream at byte offsets
    start..end of the smpl chunk, its loop points counted from the sample's own start. Decode all
    of them into one int16 array, as in an SF2, so the rest of the reader is unchanged."""
    import io

    import soundfile

    parts: list[np.ndarray] = []
    out: list[SampleInfo] = []
    pos = 0
    guard = np.zeros(_GUARD_POINTS, dtype=np.int16)
    for s in samples:
        if s.sample_type & _ROM_SAMPLE or s.end <= s.start:
            out.append(SampleInfo(s.name, pos, pos, pos, pos, s.sample_rate_hz, s.original_pitch,
                                  s.pitch_correction_cents, s.sample_type & ~_VORBIS_SAMPLE))
            continue
        if s.sample_type & _VORBIS_SAMPLE:
            try:
                audio, _ = soundfile.read(io.BytesIO(smpl[s.start:s.end]), dtype="int16", always_2d=True)
            except Exception as exc:  # libsndfile's errors are plain RuntimeErrors / LibsndfileErrors
                raise ValueError(f"{label}: SF3 sample {s.name!r} could not be decoded as Ogg Vorbis ({exc})") from exc
            pcm = audio[:, 0]
            loop_start, loop_end = s.loop_start, s.loop_end  # relative to the sample in SF3
        else:  # an uncompressed sample in an SF3 keeps word offsets and absolute loop points
            pcm = np.frombuffer(smpl, dtype="<i2", count=max(0, min(s.end, len(smpl) // 2) - s.start),
                                offset=2 * s.start)
            loop_start, loop_end = s.loop_start - s.start, s.loop_end - s.start
        n = len(pcm)
        loop_start, loop_end = min(max(loop_start, 0), n), min(max(loop_end, 0), n)
        out.append(SampleInfo(s.name, pos, pos + n, pos + loop_start, pos + loop_end, s.sample_rate_hz,
                              s.original_pitch, s.pitch_correction_cents, s.sample_type & ~_VORBIS_SAMPLE))
        parts += [pcm.astype(np.int16, copy=False), guard]
        pos += n + _GUARD_POINTS
    data = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
    return data, out


# -- SoundFonts installed by the operating system --

# Where OS packages put General MIDI SoundFonts: Debian/Ubuntu fluid-soundfont-gm (sf2/FluidR3_GM.sf2),
# musescore-general-soundfont(-small) (sf3/ and sf2/), Fedora/Arch (/usr/share/soundfonts), Homebrew, macOS.
SYSTEM_SOUNDFONT_DIRS: tuple[str, ...] = (
    "/usr/share/sounds/sf2",
    "/usr/share/sounds/sf3",
    "/usr/share/soundfonts",
    "/usr/local/share/soundfonts",
    "/usr/local/share/sounds/sf2",
    "/opt/homebrew/share/soundfonts",
    "~/.local/share/soundfonts",
    "~/Library/Audio/Sounds/Banks",
)
_INFO_LIMIT = 1 << 20  # an INFO list is a few hundred bytes; more than this is no SoundFont header


@dataclass(frozen=True)
class SoundFontHeader:
    """What the INFO list of a SoundFont says, read without loading its samples."""
    path: Path
    name: str
    version: tuple[int, int]
    size_bytes: int

    @property
    def compressed(self) -> bool:
        return self.version[0] >= 3  # SF3: Ogg Vorbis samples


def read_soundfont_header(path: str | Path) -> SoundFontHeader:
    """The name and format version of a .sf2/.sf3 file; ValueError when it is no SoundFont."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(20)
        if len(head) < 20 or head[:4] != b"RIFF" or head[8:12] != b"sfbk" or head[12:16] != b"LIST":
            raise ValueError(f"{path} is not a SoundFont (no RIFF 'sfbk' header with an INFO list first)")
        size = struct.unpack_from("<I", head, 16)[0]
        if size < 4 or size > _INFO_LIMIT:
            raise ValueError(f"{path} is not a valid SoundFont: its INFO list has a bad size ({size} bytes)")
        body = f.read(size)
    if len(body) < size or body[:4] != b"INFO":
        raise ValueError(f"{path} is not a valid SoundFont: the INFO list is missing or truncated")
    info = {cid: (o, s) for cid, o, s in _chunks(body, 4, len(body), "INFO")}
    name = _decode(body[info[b"INAM"][0]:sum(info[b"INAM"])]) if b"INAM" in info else ""
    version = struct.unpack_from("<HH", body, info[b"ifil"][0]) if b"ifil" in info else (2, 1)
    return SoundFontHeader(path, name or path.stem, (int(version[0]), int(version[1])), path.stat().st_size)


def find_system_soundfonts(dirs: list[str | Path] | tuple[str | Path, ...] | None = None) -> list[SoundFontHeader]:
    """Readable .sf2/.sf3 files in the OS SoundFont folders (SYSTEM_SOUNDFONT_DIRS unless `dirs`),
    largest first (a bigger GM font usually sounds better); symlinks to one file count once."""
    found: dict[Path, SoundFontHeader] = {}
    for folder in (SYSTEM_SOUNDFONT_DIRS if dirs is None else dirs):
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            if candidate.suffix.lower() not in (".sf2", ".sf3") or not candidate.is_file():
                continue
            real = candidate.resolve()
            if real in found:
                continue
            try:
                found[real] = read_soundfont_header(candidate)
            except (OSError, ValueError):
                continue  # unreadable or not a SoundFont: nothing to offer
    return sorted(found.values(), key=lambda h: (-h.size_bytes, str(h.path)))


def default_soundfont_path() -> Path:
    """TimGM6mb.sf2 inside the installed pretty_midi package (found without importing it)."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the embedded General MIDI SoundFont comes with the pretty_midi package, which is not "
            "installed; run `pip install pretty_midi` or set a .sf2 file in settings (soundfont_path)"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / DEFAULT_SOUNDFONT_NAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{DEFAULT_SOUNDFONT_NAME} is missing from the pretty_midi package; reinstall pretty_midi")


_cache: dict[tuple[str, int, int], SoundFont] = {}
_cache_lock = threading.Lock()


def load_soundfont(path: str | Path | None = None) -> SoundFont:
    """Parse a .sf2 file (the embedded GM SoundFont when `path` is None); cached per file version."""
    resolved = Path(path).expanduser().resolve() if path is not None else default_soundfont_path()
    if not resolved.is_file():
        raise FileNotFoundError(f"SoundFont not found: {resolved}")
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    soundfont = parse_soundfont(resolved.read_bytes(), resolved)
    with _cache_lock:
        # Drop older versions of the same file so an edited .sf2 does not pin the old one in memory.
        for old in [k for k in _cache if k[0] == key[0]]:
            del _cache[old]
        _cache[key] = soundfont
    return soundfont
