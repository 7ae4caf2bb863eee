"""SoundFont 2 reader: the embedded GM font, generator resolution, zone lookup, bad files.

`build_sf2` writes small synthetic SoundFonts so the rules of the spec (preset generators
added to instrument ones, global zones, range intersection, address offsets) can be checked
against values we chose; test_sampler.py uses it too.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from studio.engine.instruments import soundfont as sfmod
from studio.engine.instruments.soundfont import DRUM_BANK, load_soundfont, parse_soundfont

# -- a minimal SoundFont writer for tests --

GUARD_POINTS = 46  # zero samples the spec requires after each sample


def _chunk(cid: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return cid + struct.pack("<I", len(payload)) + payload + pad


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _gen_amount(gen: int, value) -> int:
    if isinstance(value, tuple):  # key/velocity range: lo byte, hi byte
        return value[0] | (value[1] << 8)
    return int(value) & 0xFFFF


def _gens(zone: dict) -> list[tuple[int, int]]:
    """Generators in spec order: keyRange, velRange first; instrument/sampleID last."""
    first = [g for g in (sfmod.GEN_KEY_RANGE, sfmod.GEN_VEL_RANGE) if g in zone]
    last = [g for g in (sfmod.GEN_INSTRUMENT, sfmod.GEN_SAMPLE_ID) if g in zone]
    middle = [g for g in zone if g not in first and g not in last]
    return [(g, _gen_amount(g, zone[g])) for g in first + middle + last]


def _hydra(headers, zones_per_header, header_fmt, header_values, terminal_values):
    """(header bytes, bag bytes, gen bytes) for presets or instruments."""
    head, bags, gens = b"", b"", b""
    bag_index = gen_index = 0
    for values, zones in zip(header_values, zones_per_header):
        head += struct.pack(header_fmt, *values(bag_index))
        for zone in zones:
            bags += struct.pack("<HH", gen_index, 0)
            for gen, amount in _gens(zone):
                gens += struct.pack("<HH", gen, amount)
                gen_index += 1
            bag_index += 1
    head += struct.pack(header_fmt, *terminal_values(bag_index))
    bags += struct.pack("<HH", gen_index, 0)
    gens += struct.pack("<HH", 0, 0)
    return head, bags, gens


def _ogg_vorbis(data: np.ndarray, rate: int) -> bytes:
    import io

    import soundfile
    buf = io.BytesIO()
    soundfile.write(buf, data, rate, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def build_sf2(samples, instruments, presets, name="Test Font", sm24: bool = False, sf3: bool = False) -> bytes:
    """samples: dicts with data (int16 array), rate, root, correction (cents), loop (start, end)
    relative to the sample; instruments: (name, [zone dicts]); presets: (name, bank, program,
    [zone dicts]). Zone dicts map generator numbers to values ((lo, hi) for ranges).
    sf3: write MuseScore's SF3 instead: Ogg Vorbis samples at byte offsets, loops sample-relative."""
    smpl, lsb, shdr, pos = b"", b"", b"", 0
    for i, s in enumerate(samples):
        data = np.asarray(s["data"], dtype="<i2")
        loop_start, loop_end = s.get("loop", (0, 0))
        if sf3:
            ogg = _ogg_vorbis(data, s.get("rate", 44100))
            shdr += struct.pack("<20sIIIIIBbHH", f"s{i}".encode(), pos, pos + len(ogg), loop_start, loop_end,
                                s.get("rate", 44100), s.get("root", 60), s.get("correction", 0), 0, 1 | 0x10)
            smpl += ogg
            pos += len(ogg)
            continue
        shdr += struct.pack("<20sIIIIIBbHH", f"s{i}".encode(), pos, pos + len(data), pos + loop_start,
                            pos + loop_end, s.get("rate", 44100), s.get("root", 60), s.get("correction", 0), 0, 1)
        smpl += data.tobytes() + b"\0\0" * GUARD_POINTS
        lsb += bytes(s.get("lsb", np.zeros(len(data), np.uint8))) + b"\0" * GUARD_POINTS
        pos += len(data) + GUARD_POINTS
    shdr += struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0)

    inst, ibag, igen = _hydra(
        [n for n, _ in instruments], [z for _, z in instruments], "<20sH",
        [lambda b, n=n: (n.encode(), b) for n, _ in instruments], lambda b: (b"EOI", b))
    phdr, pbag, pgen = _hydra(
        [p[0] for p in presets], [p[3] for p in presets], "<20sHHHIII",
        [lambda b, p=p: (p[0].encode(), p[2], p[1], b, 0, 0, 0) for p in presets],
        lambda b: (b"EOP", 0, 0, b, 0, 0, 0))
    info = _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 3 if sf3 else 2, 1 if sf3 else 4)), _chunk(b"isng", b"EMU8000\0"),
                 _chunk(b"INAM", name.encode() + b"\0"))
    sdta = _list(b"sdta", _chunk(b"smpl", smpl), *([_chunk(b"sm24", lsb)] if sm24 else []))
    mod_terminal = b"\0" * 10
    pdta = _list(b"pdta", _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", mod_terminal),
                 _chunk(b"pgen", pgen), _chunk(b"inst", inst), _chunk(b"ibag", ibag),
                 _chunk(b"imod", mod_terminal), _chunk(b"igen", igen), _chunk(b"shdr", shdr))
    body = b"sfbk" + info + sdta + pdta
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sine_sample(freq_hz: float, rate: int = 44100, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


# -- the embedded General MIDI SoundFont --

def test_embedded_soundfont_has_the_general_midi_set():
    sf = load_soundfont()
    assert sf.path is not None and sf.path.name == "TimGM6mb.sf2"
    assert sf.name  # INFO/INAM
    melodic = {p.program for p in sf.presets if p.bank == 0}
    assert melodic == set(range(128))  # every GM program
    assert any(p.bank == DRUM_BANK and p.program == 0 for p in sf.presets)
    assert len(sf.sample_data) > 1_000_000 and sf.sample_data.dtype == np.int16
    assert "piano" in sf.preset_zones(0, 0).name.lower()
    assert "bass" in sf.preset_zones(0, 33).name.lower()


def test_load_soundfont_is_cached():
    assert load_soundfont() is load_soundfont(None)
    assert load_soundfont(load_soundfont().path) is load_soundfont()


def test_zones_cover_the_keyboard_and_follow_key_ranges():
    sf = load_soundfont()
    piano = sf.preset_zones(0, 0)
    for key in (21, 45, 60, 69, 96, 108):
        zones = piano.zones_for(key, 100)
        assert zones, f"no zone for key {key}"
        assert all(z.key_lo <= key <= z.key_hi and z.vel_lo <= 100 <= z.vel_hi for z in zones)
        assert all(z.start < z.end <= len(sf.sample_data) for z in zones)
        assert all(z.start <= z.loop_start <= z.loop_end <= z.end for z in zones)
    # Different registers play different recordings.
    assert {z.sample_index for z in piano.zones_for(30, 100)} != {z.sample_index for z in piano.zones_for(90, 100)}


def test_drum_kit_maps_notes_to_distinct_samples():
    kit = load_soundfont().preset_zones(DRUM_BANK, 0)
    kick, snare = kit.zones_for(36, 100), kit.zones_for(38, 100)
    assert kick and snare
    assert {z.sample_index for z in kick}.isdisjoint({z.sample_index for z in snare})
    assert all(z.sample_mode == 0 for z in kick)  # one-shot


def test_missing_presets_fall_back():
    sf = load_soundfont()
    assert sf.preset_zones(7, 40).program == 40 and sf.preset_zones(7, 40).bank == 0
    kit = sf.preset_zones(DRUM_BANK, 99)  # no such kit: the standard kit
    assert (kit.bank, kit.program) == (DRUM_BANK, 0)


# -- generator resolution on a synthetic font --

def _layered_font(**kwargs) -> bytes:
    low = sine_sample(220.0)
    high = sine_sample(880.0)
    g = sfmod
    instruments = [
        ("layers", [
            # Global zone: defaults for the local zones below.
            {g.GEN_INITIAL_ATTENUATION: 100, g.GEN_RELEASE_VOL_ENV: 0, g.GEN_SAMPLE_MODES: 1},
            {g.GEN_KEY_RANGE: (0, 63), g.GEN_VEL_RANGE: (0, 90), g.GEN_SAMPLE_ID: 0},
            {g.GEN_KEY_RANGE: (0, 63), g.GEN_VEL_RANGE: (91, 127), g.GEN_INITIAL_ATTENUATION: 20,
             g.GEN_SAMPLE_ID: 0},
            {g.GEN_KEY_RANGE: (64, 127), g.GEN_OVERRIDING_ROOT_KEY: 81, g.GEN_FINE_TUNE: -7,
             g.GEN_START_OFFSET: 10, g.GEN_LOOP_START_OFFSET: 5, g.GEN_LOOP_END_COARSE_OFFSET: 0,
             g.GEN_PAN: -250, g.GEN_SAMPLE_ID: 1},
        ]),
    ]
    presets = [
        ("Layered", 0, 5, [
            {g.GEN_COARSE_TUNE: 2},  # preset global zone: added to every instrument zone
            {g.GEN_KEY_RANGE: (40, 100), g.GEN_INITIAL_ATTENUATION: 30, g.GEN_INSTRUMENT: 0},
        ]),
    ]
    samples = [
        {"data": low, "rate": 44100, "root": 57, "correction": 3, "loop": (1000, 21000)},
        {"data": high, "rate": 22050, "root": 60, "loop": (2000, 12000)},
    ]
    return build_sf2(samples, instruments, presets, **kwargs)


def test_preset_generators_add_to_instrument_generators():
    sf = parse_soundfont(_layered_font())
    layered = sf.preset_zones(0, 5)
    assert layered.name == "Layered" and len(layered.zones) == 3

    soft, loud = layered.zones_for(50, 60), layered.zones_for(50, 120)
    assert len(soft) == len(loud) == 1
    # Instrument global 100 cB (overridden to 20 locally) plus the preset's 30 cB.
    assert soft[0].attenuation_cb == 130 and loud[0].attenuation_cb == 50
    assert soft[0].tune_cents == 200 + 3  # preset coarse tune +2 semitones, sample correction +3
    assert soft[0].root_key == 57 and soft[0].sample_mode == 1
    assert soft[0].release_s == pytest.approx(1.0)  # 0 timecents from the instrument global zone

    high = layered.zones_for(70, 100)[0]
    sample = sf.samples[1]
    assert high.root_key == 81  # overridingRootKey beats the sample's pitch
    assert high.tune_cents == 200 - 7
    assert high.start == sample.start + 10 and high.loop_start == sample.loop_start + 5
    assert high.sample_rate_hz == 22050 and high.pan == pytest.approx(-0.5)


def test_key_ranges_intersect_between_preset_and_instrument():
    layered = parse_soundfont(_layered_font()).preset_zones(0, 5)
    assert layered.zones_for(39, 100) == [] and layered.zones_for(101, 100) == []
    low = [z for z in layered.zones if z.sample_index == 0]
    assert {(z.key_lo, z.key_hi) for z in low} == {(40, 63)}
    assert layered.lookup.shape[:2] == (128, 128)


def test_24_bit_samples_use_the_sm24_byte():
    data = np.array([1000, -1000, 0], dtype=np.int16)
    lsb = np.array([128, 64, 255], dtype=np.uint8)
    samples = [{"data": data, "lsb": lsb}]
    font = build_sf2(samples, [("i", [{sfmod.GEN_SAMPLE_ID: 0}])], [("p", 0, 0, [{sfmod.GEN_INSTRUMENT: 0}])], sm24=True)
    sf = parse_soundfont(font)
    expected = (data.astype(np.float64) * 256 + lsb) / 8388608
    np.testing.assert_allclose(sf.samples_float(0, 3), expected, rtol=1e-6)


# -- bad input --

def test_a_file_that_is_not_a_soundfont_is_rejected(tmp_path):
    wav = tmp_path / "sound.sf2"
    wav.write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVE")
    with pytest.raises(ValueError, match="not a SoundFont"):
        load_soundfont(wav)
    text = tmp_path / "notes.sf2"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a SoundFont"):
        load_soundfont(text)


def test_a_truncated_soundfont_is_rejected():
    font = _layered_font()
    with pytest.raises(ValueError, match="truncated|missing|not a valid"):
        parse_soundfont(font[: len(font) // 2])


def test_a_soundfont_without_hydra_chunks_is_rejected():
    body = b"sfbk" + _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1))) + _list(b"sdta", _chunk(b"smpl", b"\0\0")) + _list(b"pdta")
    with pytest.raises(ValueError, match="phdr"):
        parse_soundfont(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_soundfont(tmp_path / "nope.sf2")


# -- SF3 (Ogg Vorbis samples) and SoundFonts the OS installed --

def _one_note_font(sf3: bool = False, name: str = "Tiny GM") -> bytes:
    sample = {"data": sine_sample(440.0, seconds=0.3), "root": 69, "loop": (1000, 11000)}
    return build_sf2([sample], [("sine", [{sfmod.GEN_SAMPLE_ID: 0}])],
                     [("Piano", 0, 0, [{sfmod.GEN_INSTRUMENT: 0}])], name=name, sf3=sf3)


def test_sf3_samples_are_decoded_from_ogg_vorbis():
    plain, packed = parse_soundfont(_one_note_font()), parse_soundfont(_one_note_font(sf3=True))
    assert packed.version == (3, 1)
    a, b = plain.samples[0], packed.samples[0]
    assert b.end - b.start == a.end - a.start  # byte offsets became sample indices
    assert (b.loop_start - b.start, b.loop_end - b.start) == (1000, 11000)  # relative loops made absolute
    assert not b.sample_type & 0x10
    x, y = plain.samples_float(a.start, a.end), packed.samples_float(b.start, b.end)
    error_db = 10 * np.log10(np.mean((x - y) ** 2) / np.mean(x ** 2))
    assert error_db < -20  # lossy, but the same sine
    zone = packed.zones_for(0, 0, 69, 100)[0]
    assert (zone.loop_start, zone.loop_end) == (b.loop_start, b.loop_end)


def test_a_chunk_without_its_pad_byte_is_still_read():
    # Some SF3 writers leave out the pad byte after an odd-sized chunk (MuseScore_General.sf3 does).
    font = _one_note_font()
    sdta_and_pdta = font[font.index(b"sdta") - 8:]
    body = b"sfbk" + b"LIST" + struct.pack("<I", 4 + 12 + 11) + b"INFO" + _chunk(b"ifil", struct.pack("<HH", 2, 1)) \
        + b"INAM" + struct.pack("<I", 3) + b"abc" + sdta_and_pdta
    font = parse_soundfont(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert font.name == "abc" and len(font.presets) == 1


def test_system_soundfonts_are_found_in_the_given_folders(tmp_path):
    sf2_dir, sf3_dir = tmp_path / "sf2", tmp_path / "sf3"
    sf2_dir.mkdir()
    sf3_dir.mkdir()
    (sf2_dir / "Big_GM.sf2").write_bytes(_one_note_font(name="Big GM") + b"\0" * 4096)
    (sf2_dir / "default-GM.sf2").symlink_to(sf2_dir / "Big_GM.sf2")  # like Debian's alternatives link
    (sf3_dir / "Small.sf3").write_bytes(_one_note_font(sf3=True, name="Small GM"))
    (sf2_dir / "broken.sf2").write_text("not a soundfont")
    (sf2_dir / "readme.txt").write_text("hello")

    found = sfmod.find_system_soundfonts([sf2_dir, sf3_dir, tmp_path / "absent"])
    assert [(h.name, h.compressed) for h in found] == [("Big GM", False), ("Small GM", True)]
    assert found[0].size_bytes > found[1].size_bytes
    assert load_soundfont(found[1].path).presets[0].name == "Piano"  # the offered SF3 really loads
    with pytest.raises(ValueError, match="not a SoundFont"):
        sfmod.read_soundfont_header(sf2_dir / "broken.sf2")
