"""Compose a `Score` from a resolved spec and the style presets in resources/music.

The steps, each seeded from `spec.seed` so the same spec gives the same score:

1. Form: the longest of the style family's forms (resources/music/forms.toml) that fits the
   duration, fitted to whole bars (within one bar of the request), never a bridge before the
   first chorus; an energy arc (intro low, choruses/drops high, later choruses higher); and per
   section what plays (forms.toml arrangement: a sparse first verse, fuller choruses, drums off
   in a breakdown, a half-time bridge with its own chords).
2. Harmony: one progression per section kind, Roman numerals realised in the key; complexity
   strips or adds 7ths, creativity may borrow a chord; the song ends on the tonic. Chords are
   voiced with minimal movement (`theory.voice_chord`).
3. Drums: the style's groove per bar in the section's feel (sparse, half-time, full, busy, build),
   thinned or filled out by section energy, swing and
   humanised velocity/timing, fills at phrase ends, crashes on section downbeats, hi-hat rolls
   for styles that want them, snare build-ups before drops.
4. Bass: the style's pattern family on the chord roots, locked to the kick where the pattern
   says so, with approach notes into the next chord.
5. Harmony part (keys/guitars/pads) with the style's comping pattern, and an optional pad.
6. Melody: a motif per section kind (rhythm + contour), repeated and varied across phrases,
   chord tones on strong beats, scale tones between, kept in the instrument's range.
7. Vocals (not instrumental): lyrics given or written from the theme, one phrase per line with
   one note per syllable, and line/syllable timestamps. Until a voice sings it, the vocal
   melody is played by a lead instrument on its own stem.
8. FX: risers into choruses/drops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.engine.composition.score import Chord, LyricLine, NoteEvent, Part, Score, Section, Syllable
from studio.engine.composition.spec import ResolvedSpec
from studio.engine.composition.styles import (DEFAULT_BASS_PATTERN, DEFAULT_HARMONY_PATTERN, InstrumentChoice, Layers,
                                              Style, bridge_progressions, form_families, grooves, instrument_roles,
                                              patterns, section_layers, styles)
from studio.engine.composition.theory import (BLUES_SCALE_MAJOR, BLUES_SCALE_MINOR, nearest_pitch, parse_roman, place_in_range,
                     scale_of, scale_pitches, voice_chord)

# Nominal bars per section kind before fitting to the duration.
SECTION_BARS = {"intro": 4, "verse": 8, "pre-chorus": 4, "chorus": 8, "bridge": 8, "build": 4, "drop": 8,
                "breakdown": 8, "outro": 4}
SECTION_ENERGY = {"intro": 0.35, "verse": 0.55, "pre-chorus": 0.65, "chorus": 0.85, "bridge": 0.6, "build": 0.7,
                  "drop": 1.0, "breakdown": 0.4, "outro": 0.35}
VOCAL_SECTIONS = ("verse", "chorus", "bridge", "pre-chorus")
GM_DRUM_KEYS = {"kick": 36, "snare": 38, "clap": 39, "rim": 37, "hat_closed": 42, "hat_pedal": 44, "hat_open": 46,
                "ride": 51, "crash": 49, "tom_low": 45, "tom_mid": 47, "tom_high": 50, "shaker": 70,
                "tambourine": 54, "cowbell": 56}
STEP_VELOCITY = {"X": 112, "x": 90, "o": 52}
# Synth kit: which patch plays each groove voice (crash/ride/shaker/cowbell stay SoundFont).
SYNTH_KIT = {"kick": "kick_808", "snare": "snare", "clap": "clap", "rim": "rim", "hat_closed": "hat_closed",
             "hat_pedal": "hat_closed", "hat_open": "hat_open", "tom_low": "perc", "tom_mid": "perc", "tom_high": "perc"}
PUNCHY_KICK_STYLES = ("edm", "house", "techno", "synthwave", "dnb")
VOCAL_RANGE = (55, 74)  # G3..D5: a comfortable range for the placeholder lead and for a singer
VOCAL_PROGRAM = 54  # GM "Synth Voice": the placeholder timbre that plays the vocal line
@dataclass
class _Context:
    spec: ResolvedSpec
    style: Style
    rng: np.random.Generator
    spb: float  # seconds per beat
    beats_per_bar: int
    swing: float
    swing_unit_beats: float
    humanise_s: float
    tonic: int
    mode: str

    @property
    def tonic_triad(self) -> tuple[int, int, int]:
        """Pitch classes of the home chord: root, third (minor or major), fifth."""
        third = 3 if self.mode == "minor" else 4
        return (self.tonic, (self.tonic + third) % 12, (self.tonic + 7) % 12)

    def home_index(self, scale: list[int], above: int = 0) -> int:
        """Where a melody starts: the tonic-triad tone of `scale` nearest its middle, or the
        `above`-th one over it (a chorus starts higher). Starting on an arbitrary degree (the
        7th of a minor key, say) let whole melodies circle a tone foreign to the key's centre."""
        homes = [i for i, p in enumerate(scale) if p % 12 in self.tonic_triad]
        if not homes:
            return len(scale) // 2
        nearest = min(range(len(homes)), key=lambda k: abs(homes[k] - len(scale) // 2))
        return homes[min(nearest + above, len(homes) - 1)]

    def time(self, beat: float, *, jitter: bool = True) -> float:
        """Seconds of a grid beat after swing and (optionally) a little timing humanisation."""
        pair = 2 * self.swing_unit_beats
        frac = beat % pair
        if self.swing > 0 and abs(frac - self.swing_unit_beats) < 1e-6:
            beat += self.swing / 2 * pair
        t = beat * self.spb
        if jitter and self.humanise_s > 0:
            t += float(self.rng.normal(0.0, self.humanise_s))
        return max(t, 0.0)


def compose(spec: ResolvedSpec, *, continue_from: Score | None = None) -> Score:
    """Write the score for `spec`. With `continue_from`, keep that score's sections (all but its
    outro) note for note and compose new sections after them up to `spec.duration_s` (extend)."""
    style = styles()[spec.style]
    rng = np.random.default_rng([spec.seed, 1])
    beats_per_bar, beat_unit = style.meter
    groove = grooves().get(style.groove)
    swing_unit = 0.5 if groove is not None and groove.steps == 12 else 0.25
    electronic = style.kit == "synth"
    ctx = _Context(spec=spec, style=style, rng=rng, spb=60.0 / spec.tempo_bpm, beats_per_bar=beats_per_bar,
                   swing=style.swing, swing_unit_beats=swing_unit, humanise_s=0.0 if electronic else 0.006,
                   tonic=spec.tonic_pitch_class, mode=spec.mode)
    bar_s = beats_per_bar * ctx.spb

    kept_sections: list[Section] = []
    if continue_from is not None:
        kept_sections = [s for s in continue_from.sections if s.name != "outro"] or continue_from.sections[:1]
    sections = _fit_form(style, spec.duration_s, bar_s, rng, kept_sections)
    chords_by_section = _harmony(ctx, sections)
    chords = [c for section_chords in chords_by_section for c in section_chords]
    roles = _choose_instruments(style, spec)
    layers = _arrangement(style, sections)

    parts: list[Part] = []
    parts += _drum_parts(ctx, sections, roles, layers)
    parts.append(_bass_part(ctx, sections, chords, roles["bass"], layers))
    parts.append(_harmony_part(ctx, sections, chords, roles["harmony"], layers))
    if roles.get("pad") is not None:
        parts.append(_pad_part(ctx, sections, chords, roles["pad"], layers))

    lyric_lines: list[LyricLine] = []
    vocal_sections: set[int] = set()
    if not spec.instrumental:
        vocal_part, lyric_lines, vocal_sections = _vocals(ctx, sections, chords)
        parts.append(vocal_part)
    muted = {i for i, layer in enumerate(layers) if not layer.melody}
    parts.append(_melody_part(ctx, sections, chords, roles["melody"], skip_sections=vocal_sections | muted))
    fx = _fx_part(ctx, sections)
    if fx.notes:
        parts.append(fx)

    if continue_from is not None:
        parts = _splice(continue_from, parts, kept_sections[-1].end_s if kept_sections else 0.0)
        lyric_lines = [line for line in continue_from.lyrics if line.end_s <= kept_sections[-1].end_s] + \
                      [line for line in lyric_lines if line.start_s >= kept_sections[-1].end_s]
        chords = [c for c in continue_from.chords if c.start_s < kept_sections[-1].end_s] + \
                 [c for c in chords if c.start_s >= kept_sections[-1].end_s - 1e-9]

    music_end = sections[-1].end_s
    tail_s = max(0.5, spec.duration_s - music_end)
    return Score(spec=spec, tempo_bpm=spec.tempo_bpm, beats_per_bar=beats_per_bar, beat_unit=beat_unit,
                 swing=style.swing, sections=sections, chords=chords, parts=[p for p in parts if p.notes or p.stem != "fx"],
                 lyrics=lyric_lines, tail_s=tail_s)


# -- form ---------------------------------------------------------------------------------------

MIN_SECTION_BARS = {"intro": 2, "outro": 2}  # others: 4
DROP_ORDER = ("bridge", "breakdown", "build", "pre-chorus", "outro", "intro", "verse")
SHRINK_FIRST = {"intro": 0, "outro": 0, "verse": 1, "chorus": 2, "drop": 2}
FORM_SQUEEZE = 1.15  # a form may be up to 15 % longer than the target: sections shrink to fit


def _drop_one(kinds: list[str]) -> None:
    """Remove the least essential section: a repeated middle section (never the last
    chorus/drop), else the first of DROP_ORDER present."""
    middle = range(1, len(kinds) - 1) if len(kinds) > 2 else range(len(kinds))
    hooks = [i for i, k in enumerate(kinds) if k in ("chorus", "drop")]
    keep = {hooks[0], hooks[-1]} if hooks else set()  # the first hook too: no bridge may come before it
    for i in reversed(list(middle)):
        if i not in keep and kinds.count(kinds[i]) > 1:
            del kinds[i]
            return
    for kind in DROP_ORDER:
        if kind in kinds and len(kinds) > 1:
            del kinds[kinds.index(kind)]
            return
    del kinds[0]


def _pick_form(style: Style, target_bars: int) -> list[str]:
    """The longest of the family's forms (resources/music/forms.toml) whose nominal bars fit
    `target_bars` with a little squeeze; the shortest when none does."""
    forms = form_families()[style.form_family].forms
    fitting = [f for f in forms if sum(SECTION_BARS[k] for k in f) <= target_bars * FORM_SQUEEZE]
    return list(max(fitting, key=lambda f: sum(SECTION_BARS[k] for k in f)) if fitting else forms[0])


def _fit_form(style: Style, duration_s: float, bar_s: float, rng: np.random.Generator,
              kept: list[Section]) -> list[Section]:
    """Sections whose bars add up to the requested duration (less a short tail), exactly.

    Start from the style's form. Too long: remove repeated middle sections (keeping the last
    chorus/drop), then bridges/breakdowns/builds, then the outro and intro; shorten sections
    toward their minimum (2 bars for intro/outro, 4 otherwise). Too short: repeat the middle
    pair (e.g. verse + chorus) and then lengthen choruses and verses. Bars left over after that
    (fewer than a section) go to an intro or outro of 1-3 bars.
    """
    kept_bars = sum(s.bars for s in kept)
    target = max(1, int(round((duration_s - min(1.5, 0.25 * duration_s)) / bar_s)))
    target_new = max(1, target - kept_bars)

    def minimum(kind: str) -> int:
        return MIN_SECTION_BARS.get(kind, 4)

    if kept:
        middle = [k for k in style.form if k not in ("intro", "outro")] or ["verse"]
        start = (middle.index(kept[-1].name) + 1) if kept[-1].name in middle else 0
        kinds, total, i = [], 0, start
        while total + SECTION_BARS["outro"] + 4 <= target_new and i < start + 64:
            kinds.append(middle[i % len(middle)])
            total += SECTION_BARS[kinds[-1]]
            i += 1
        kinds.append("outro")
    else:
        kinds = _pick_form(style, target_new)
        middle = [k for k in kinds if k not in ("intro", "outro")]
        nominal = sum(SECTION_BARS[k] for k in kinds)
        cycle = next(([a, b] for a, b in (("verse", "chorus"), ("build", "drop"), ("breakdown", "chorus"))
                      if a in middle and b in middle), middle[-2:])
        while cycle and nominal + sum(SECTION_BARS[k] for k in cycle) <= target:
            # repeat before the bridge/breakdown if there is one (it should come late), else before the outro
            late = [i for i, k in enumerate(kinds) if k in ("bridge", "breakdown") and i > len(kinds) // 2]
            at = late[-1] if late else len(kinds) - 1
            kinds[at:at] = cycle
            nominal += sum(SECTION_BARS[k] for k in cycle)
    while len(kinds) > 1 and sum(minimum(k) for k in kinds) > target_new:
        _drop_one(kinds)
    bars = [SECTION_BARS[k] for k in kinds]
    if len(kinds) == 1:
        bars = [target_new]
    # too long: shorten the longest sections toward their minimum, 4 (then 1) bars at a time
    while sum(bars) > target_new:
        candidates = [i for i in range(len(bars)) if bars[i] > minimum(kinds[i])]
        if not candidates:
            break
        # intro/outro give way first, then verses: the choruses keep their length longest
        i = min(candidates, key=lambda j: (SHRINK_FIRST.get(kinds[j], 1), -(bars[j] - minimum(kinds[j])), -j))
        bars[i] -= min(4, bars[i] - minimum(kinds[i]))  # whole phrases; an undershoot is refilled below
    # too short: lengthen choruses/drops then verses, 4 bars at a time
    growable = [i for i, k in enumerate(kinds) if k in ("chorus", "drop")] + [i for i, k in enumerate(kinds) if k == "verse"]
    j = 0
    while growable and target_new - sum(bars) >= 4 and j < 64:
        bars[growable[j % len(growable)]] += 4
        j += 1
    left = target_new - sum(bars)
    if left > 0:
        if kinds[0] != "intro" and not kept:
            kinds.insert(0, "intro")
            bars.insert(0, left)
        elif kinds[-1] == "outro":
            bars[-1] += left
        else:
            kinds.append("outro")
            bars.append(left)

    sections = list(kept)
    start_bar = kept_bars
    counts: dict[str, int] = {}
    for s in kept:
        counts[s.name] = counts.get(s.name, 0) + 1
    n_new = len(kinds)
    for index, (kind, n_bars) in enumerate(zip(kinds, bars)):
        counts[kind] = counts.get(kind, 0) + 1
        label = kind.replace("-", " ").title() + (f" {counts[kind]}" if kind in ("verse", "chorus", "drop", "build", "breakdown", "bridge") else "")
        position = (len(kept) + index) / max(len(kept) + n_new - 1, 1)
        energy = min(1.0, SECTION_ENERGY.get(kind, 0.6) * (0.9 + 0.2 * position) * (0.6 + 0.8 * style.energy))
        sections.append(Section(name=kind, label=label, start_bar=start_bar, bars=n_bars, start_s=start_bar * bar_s,
                                end_s=(start_bar + n_bars) * bar_s, energy=round(energy, 3)))
        start_bar += n_bars
    return sections


def _arrangement(style: Style, sections: list[Section]) -> list[Layers]:
    """What plays in each section (resources/music/forms.toml): the first verse sparser than the
    next, choruses and drops fullest, bridges and breakdowns thinned out."""
    seen: set[str] = set()
    out = []
    for section in sections:
        out.append(section_layers(style.form_family, section.name, first=section.name not in seen))
        seen.add(section.name)
    return out


# -- harmony ------------------------------------------------------------------------------------

def _extension_policy(complexity: float) -> str:
    return "triads" if complexity < 0.35 else ("add7" if complexity > 0.7 else "keep")


def _harmony(ctx: _Context, sections: list[Section]) -> list[list[Chord]]:
    style, spec, rng = ctx.style, ctx.spec, ctx.rng
    options = style.progressions.get(ctx.mode) or next(iter(style.progressions.values()))
    order = list(rng.permutation(len(options)))
    by_kind = {}
    for i, kind in enumerate(("verse", "chorus", "bridge")):
        by_kind[kind] = options[order[i % len(order)]]
    for kind, same in (("intro", "verse"), ("pre-chorus", "verse"), ("build", "verse"), ("drop", "chorus"),
                       ("breakdown", "bridge"), ("outro", "chorus")):
        by_kind[kind] = by_kind[same]
    policy = _extension_policy(spec.complexity)
    borrowed = {}
    if spec.creativity > 0.6:  # colour: swap one chord of the chorus for a borrowed/relative one
        substitutes = {"IV": "iv", "I": "vi", "V": "iii", "vi": "IV", "i": "VI", "iv": "IV", "VII": "v", "VI": "iv"}
        for kind in ("chorus", "bridge"):
            prog = list(by_kind[kind])
            if rng.random() < (spec.creativity - 0.5) * 1.6:
                j = int(rng.integers(1, len(prog)))
                base = prog[j].rstrip("79").replace("maj", "").replace("sus4", "").replace("add", "")
                if base in substitutes:
                    prog[j] = substitutes[base]
                    borrowed[kind] = prog
    by_kind.update(borrowed)
    heard = (set(by_kind["verse"]), set(by_kind["chorus"]))
    if set(by_kind["bridge"]) in heard:  # a bridge brings chords not heard yet, not the verse's reordered
        bank = bridge_progressions(ctx.mode)
        fresh = [p for p in bank if set(p) not in heard] or bank
        by_kind["bridge"] = fresh[int(rng.integers(len(fresh)))]
    by_kind["breakdown"] = by_kind["bridge"]

    chord_beats = style.harmonic_rhythm_beats
    result = []
    for index, section in enumerate(sections):
        prog = by_kind.get(section.name, by_kind["verse"])
        specs = [parse_roman(r, ctx.tonic, ctx.mode, extensions=policy) for r in prog]
        beats_total = section.bars * ctx.beats_per_bar
        start_beat = section.start_bar * ctx.beats_per_bar
        chords = []
        beat = 0.0
        k = 0
        while beat < beats_total - 1e-9:
            length = min(chord_beats, beats_total - beat)
            chord = specs[k % len(specs)]
            last = index == len(sections) - 1 and beat + length >= beats_total - 1e-9
            if last and chord.root_pitch_class != ctx.tonic:  # the song ends home
                chord = parse_roman("I" if ctx.mode == "major" else "i", ctx.tonic, ctx.mode, extensions=policy)
            b = start_beat + beat
            chords.append(Chord(start_s=b * ctx.spb, duration_s=length * ctx.spb, beat=b, bar=int(b // ctx.beats_per_bar),
                                symbol=chord.symbol, roman=chord.roman, root_pitch_class=chord.root_pitch_class,
                                pitch_classes=chord.pitch_classes))
            beat += length
            k += 1
        result.append(chords)
    return result


def _chord_at(chords: list[Chord], beat: float) -> Chord:
    lo, hi = 0, len(chords) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if chords[mid].beat <= beat + 1e-9:
            lo = mid
        else:
            hi = mid - 1
    return chords[lo]


def _next_chord(chords: list[Chord], chord: Chord) -> Chord:
    i = chords.index(chord)
    return chords[i + 1] if i + 1 < len(chords) else chord


# -- instruments --------------------------------------------------------------------------------

def _choose_instruments(style: Style, spec: ResolvedSpec) -> dict[str, InstrumentChoice | None]:
    roles: dict[str, InstrumentChoice | None] = {"bass": style.bass, "harmony": style.harmony, "melody": style.melody,
                                                 "pad": style.pad}
    named = spec.instruments if spec.sources.get("instruments") in ("explicit", "prompt words") else []
    known = instrument_roles()  # resources/music/instruments.toml
    taken = set()
    for name in named:
        if name not in known or (name == "bass" and spec.sources.get("instruments") != "explicit"):
            continue
        role, choice = known[name]
        if role in taken:
            continue
        base = roles.get(role) or style.harmony
        merged = base.model_copy(update={k: v for k, v in choice.model_dump().items() if v is not None})
        if choice.source == "sf2":
            merged = merged.model_copy(update={"patch": None})
        roles[role] = merged
        taken.add(role)
    return roles


def _part_for(choice: InstrumentChoice, name: str, stem: str, **kwargs) -> Part:
    return Part(name=name, stem=stem, source=choice.source, program=choice.program or 0, patch=choice.patch,
                label=choice.label or (choice.patch or name).replace("_", " ").title(), **kwargs)


# -- drums --------------------------------------------------------------------------------------

def _drum_feel(pattern: dict[str, str], feel: str, steps: int, second_half: bool) -> dict[str, str]:
    """The groove for one bar in a section's drum feel (forms.toml): sparse keeps the hats and a
    kick on the one late in the section; half moves the backbeat to beat 3 and keeps the kicks of
    the first half; busy adds 8th hats, an open hat before the next bar and a tambourine backbeat."""
    if feel in ("full", "build", "off"):
        return pattern
    if feel == "sparse":
        voices = {k: v for k, v in pattern.items() if k in ("hat_closed", "shaker", "rim", "ride")}
        if second_half:
            voices["kick"] = "X" + "." * (steps - 1)
        return voices
    if feel == "half":
        half = steps // 2
        voices = {}
        for voice, text in pattern.items():
            if voice in ("snare", "clap"):
                text = "." * half + "X" + "." * (steps - half - 1)
            elif voice == "kick":
                text = text[:half] + "." * (steps - half)
            elif voice in ("hat_closed", "shaker", "ride") and steps % 4 == 0:
                quarter = steps // 4  # quarter-note hats (8ths for off-beat grooves): the half-time feel breathes
                thinned = "".join(c if i % quarter == 0 else "." for i, c in enumerate(text))
                if thinned.strip(".") == "" and steps % 8 == 0:
                    thinned = "".join(c if i % (steps // 8) == 0 else "." for i, c in enumerate(text))
                text = thinned
            elif voice in ("hat_open", "tambourine", "cowbell"):
                continue
            voices[voice] = text
        return voices
    # busy
    voices = dict(pattern)
    eighth = steps // 8 if steps % 8 == 0 else steps // 4
    hats = list(voices.get("hat_closed", "." * steps))
    for i in range(0, steps, eighth):
        if hats[i] == ".":
            hats[i] = "o"
    if "hat_open" not in voices and steps % 8 == 0:
        hats[steps - eighth] = "."
        voices["hat_open"] = "." * (steps - eighth) + "x" + "." * (eighth - 1)
    voices["hat_closed"] = "".join(hats)
    if "tambourine" not in voices and steps % 4 == 0:
        quarter = steps // 4
        voices["tambourine"] = "".join("x" if i in (quarter, 3 * quarter) else "." for i in range(steps))
    return voices


def _drum_parts(ctx: _Context, sections: list[Section], roles, layers: list[Layers] | None = None) -> list[Part]:
    style = ctx.style
    if style.kit == "none" or style.groove not in grooves():
        return []
    groove = grooves()[style.groove]
    steps = groove.steps
    step_beats = ctx.beats_per_bar / steps
    level = style.drums_level
    events: dict[str, list[NoteEvent]] = {}

    def hit(voice: str, beat: float, velocity: float, length_beats: float = 0.25) -> None:
        v = int(np.clip(round(velocity * level + ctx.rng.normal(0, 5)), 1, 127))
        events.setdefault(voice, []).append(
            NoteEvent(start_s=ctx.time(beat), duration_s=length_beats * ctx.spb, pitch=GM_DRUM_KEYS[voice], velocity=v, beat=beat))

    pattern = groove.voices()
    complexity = ctx.spec.complexity
    layers = layers or [Layers() for _ in sections]
    for index, section in enumerate(sections):
        energy = section.energy
        feel = layers[index].drums
        if feel == "off":
            continue
        for bar_in in range(section.bars):
            bar = section.start_bar + bar_in
            bar_beat = bar * ctx.beats_per_bar
            last_bar = bar_in == section.bars - 1
            phrase_end = style.fill_every_bars and (bar_in + 1) % style.fill_every_bars == 0
            next_section = sections[index + 1] if index + 1 < len(sections) else None
            # a fill closes every section that has a beat (and phrases inside the busier ones)
            fill = (last_bar and next_section is not None and feel != "sparse"
                    or (phrase_end and not last_bar and complexity > 0.4 and feel in ("full", "busy")))
            fill_from_beat = ctx.beats_per_bar - (2 if energy > 0.7 and last_bar else 1)
            voices = _drum_feel(pattern, feel, steps, second_half=bar_in >= section.bars // 2)
            if feel == "build":
                voices = {k: v for k, v in pattern.items() if k in ("kick", "hat_closed")}
                _build_roll(ctx, hit, bar_beat, bar_in, section.bars)
            for voice, steps_text in voices.items():
                if voice == "hat_open" and energy < 0.5:
                    continue
                for step, symbol in enumerate(steps_text):
                    if symbol == "." or symbol not in STEP_VELOCITY:
                        continue
                    beat = bar_beat + step * step_beats
                    if fill and beat - bar_beat >= fill_from_beat and voice not in ("kick", "crash"):
                        continue
                    velocity = STEP_VELOCITY[symbol] * (0.8 + 0.25 * energy)
                    if voice in ("hat_closed", "shaker") and symbol == "o" and energy < 0.4:
                        continue
                    hit(voice, beat, velocity, length_beats=step_beats * (3 if voice == "hat_open" else 1))
            # extra hats in high-energy sections for busier styles
            if energy > 0.8 and complexity > 0.6 and "hat_closed" in voices and steps == 16:
                for step in range(1, steps, 2):
                    if voices["hat_closed"][step] == ".":
                        hit("hat_closed", bar_beat + step * step_beats, 45)
            if style.hat_rolls and "hat_closed" in voices and not fill:
                if ctx.rng.random() < 0.25 + 0.45 * complexity:
                    _hat_roll(ctx, events, bar_beat, level)
            if fill:
                _fill(ctx, hit, bar_beat + fill_from_beat, ctx.beats_per_bar - fill_from_beat, energy)
        if index > 0 and feel not in ("sparse", "half") or (section.name == "outro" and section.energy > 0.3 and index > 0):
            hit("crash", section.start_bar * ctx.beats_per_bar, 100 * (0.8 + 0.3 * section.energy), length_beats=4)

    if style.kit == "synth":
        parts: list[Part] = []
        kick_patch = "kick_punchy" if style.id in PUNCHY_KICK_STYLES else "kick_808"
        for voice, notes in events.items():
            patch = SYNTH_KIT.get(voice)
            if voice == "kick":
                patch = kick_patch
            if patch is None:
                continue
            parts.append(Part(name=voice.replace("_", " "), stem="drums", source="synth", patch=patch, is_drum=True,
                              label=f"{voice.replace('_', ' ')} ({patch})", notes=sorted(notes, key=lambda e: e.start_s)))
        acoustic = [e for v, notes in events.items() if SYNTH_KIT.get(v) is None for e in notes]
        if acoustic:
            parts.append(Part(name="cymbals", stem="drums", source="sf2", program=0, is_drum=True, label="Cymbals",
                              notes=sorted(acoustic, key=lambda e: e.start_s)))
        return parts
    all_notes = sorted((e for notes in events.values() for e in notes), key=lambda e: e.start_s)
    return [Part(name="drums", stem="drums", source="sf2", program=0, is_drum=True, label="Drum kit", notes=all_notes)]


def _fill(ctx: _Context, hit, start_beat: float, length_beats: float, energy: float) -> None:
    """Snare and toms in 16ths (8ths at low energy) rising in velocity into the next downbeat."""
    step = 0.25 if energy > 0.45 else 0.5
    count = int(round(length_beats / step))
    toms = ["tom_high", "tom_high", "tom_mid", "tom_mid", "tom_low", "tom_low", "tom_low", "tom_low"]
    use_toms = energy > 0.6 and ctx.rng.random() < 0.7
    for i in range(count):
        voice = "snare" if not use_toms or i < count // 2 else toms[min(i, len(toms) - 1)]
        velocity = 60 + 50 * (i + 1) / count
        hit(voice, start_beat + i * step, velocity)
    hit("kick", start_beat + (count - 1) * step, 80)


def _build_roll(ctx: _Context, hit, bar_beat: float, bar_in: int, bars: int) -> None:
    """Snare roll that doubles its rate over the build: quarters, 8ths, 16ths, 32nds."""
    progress = bar_in / max(bars, 1)
    rate = 1 if progress < 0.25 else 2 if progress < 0.5 else 4 if progress < 0.75 else 8
    count = ctx.beats_per_bar * rate
    for i in range(count):
        hit("snare", bar_beat + i / rate, 55 + 60 * (bar_in + i / count) / bars, length_beats=1 / rate)


def _hat_roll(ctx: _Context, events: dict, bar_beat: float, level: float) -> None:
    """Trap hi-hat roll over one beat or half a beat: 1/16 triplets, 1/32s or 1/32 triplets."""
    rate = int(ctx.rng.choice([3, 6, 8, 12] if ctx.spec.complexity > 0.5 else [3, 6, 8]))
    length = 1.0 if ctx.rng.random() < 0.5 else 0.5
    start = bar_beat + (ctx.beats_per_bar - length if ctx.rng.random() < 0.6 else 1.5)
    hats = events.setdefault("hat_closed", [])
    hats[:] = [e for e in hats if not (start - 1e-9 <= e.beat < start + length)]
    count = int(round(length * rate))
    for i in range(count):
        beat = start + i / rate
        velocity = int(np.clip((60 + 50 * i / max(count - 1, 1)) * level, 1, 127))
        hats.append(NoteEvent(start_s=beat * ctx.spb, duration_s=0.5 / rate * ctx.spb, pitch=GM_DRUM_KEYS["hat_closed"],
                              velocity=velocity, beat=beat))


# -- bass ---------------------------------------------------------------------------------------

def _bass_tone(tone: str, chord: Chord, nxt: Chord, root: int, ctx: _Context) -> int:
    third = 3 if (chord.root_pitch_class + 3) % 12 in chord.pitch_classes else 4
    if tone == "R":
        return root
    if tone == "5":
        return root + 7
    if tone == "8":
        return root + 12
    if tone == "3":
        return root + third
    if tone == "6":
        return root + 9
    if tone == "b7":
        return root + 10
    # approach: a scale step (or chromatic step at high creativity) into the next chord's root
    target = nearest_pitch(nxt.root_pitch_class, root)
    if target == root:
        return root + 7 if ctx.rng.random() < 0.5 else root
    step = 1 if ctx.spec.creativity > 0.6 else 2
    return target - step if target > root else target + step


def _bass_part(ctx: _Context, sections: list[Section], chords: list[Chord], choice: InstrumentChoice,
               layers: list[Layers] | None = None) -> Part:
    # Pattern families (resources/music/patterns.toml): per bar (beat offset, length in beats, tone).
    families = patterns()["bass"]
    pattern_name = choice.pattern or DEFAULT_BASS_PATTERN
    pattern = families.get(pattern_name, families[DEFAULT_BASS_PATTERN])
    low = 24 if choice.patch == "bass_808" else 28
    part = _part_for(choice, "bass", "bass")
    layers = layers or [Layers() for _ in sections]
    chord_beats = min(ctx.style.harmonic_rhythm_beats, ctx.beats_per_bar)
    held_roots = [(offset, chord_beats, "R") for offset in range(0, ctx.beats_per_bar, chord_beats)]
    for section, layer in zip(sections, layers):
        sparse = section.energy < 0.4
        if layer.bass == "off":
            continue
        for bar_in in range(section.bars):
            bar_beat = (section.start_bar + bar_in) * ctx.beats_per_bar
            if section.name == "intro" and bar_in < section.bars // 2 and section.bars > 1:
                continue
            if layer.bass == "roots" and pattern_name not in ("pedal", "sustained_roots"):
                steps = held_roots
            elif sparse and pattern_name not in ("pedal", "sustained_roots", "alberti_low"):
                steps = [p for p in pattern if float(p[0]).is_integer()]
            else:
                steps = pattern
            for offset, length, tone in steps:
                beat = bar_beat + offset
                chord = _chord_at(chords, beat)
                nxt = _next_chord(chords, chord)
                root = place_in_range(chord.root_pitch_class + 12 * (low // 12), low, low + 11)
                pitch = _bass_tone(tone, chord, nxt, root, ctx)
                if pattern_name == "walking" and tone == "A" and nxt is chord:
                    pitch = root + 7
                velocity = 92 if float(offset).is_integer() else 78
                duration = length
                if pattern_name == "808_glide" and tone == "8":  # an octave slide: overlap the previous note
                    duration = 0.5
                part.notes.append(NoteEvent(start_s=ctx.time(beat), duration_s=duration * ctx.spb, pitch=int(pitch),
                                            velocity=int(np.clip(velocity * (0.85 + 0.2 * section.energy), 1, 127)), beat=beat))
    return part


# -- harmony part and pad -----------------------------------------------------------------------

HARMONY_RANGE = (52, 76)


def _harmony_part(ctx: _Context, sections: list[Section], chords: list[Chord], choice: InstrumentChoice,
                  layers: list[Layers] | None = None) -> Part:
    # Comping rhythms per bar (resources/music/patterns.toml): (offset, length, kind).
    families = patterns()["harmony"]
    pattern_name = choice.pattern or DEFAULT_HARMONY_PATTERN
    pattern = families.get(pattern_name, families[DEFAULT_HARMONY_PATTERN])
    part = _part_for(choice, "harmony", "harmony")
    voicings: dict[int, list[int]] = {}
    previous: list[int] | None = None
    for chord in chords:
        previous = voice_chord(chord.pitch_classes, previous, *HARMONY_RANGE)
        voicings[id(chord)] = previous
    arp_index = 0
    layers = layers or [Layers() for _ in sections]
    chord_beats = min(ctx.style.harmonic_rhythm_beats, ctx.beats_per_bar)
    held = [(offset, chord_beats, "chord") for offset in range(0, ctx.beats_per_bar, chord_beats)]
    for section, layer in zip(sections, layers):
        if layer.harmony == "off":
            continue
        for bar_in in range(section.bars):
            bar_beat = (section.start_bar + bar_in) * ctx.beats_per_bar
            steps = pattern if layer.harmony == "full" else held
            if section.energy < 0.4 and pattern_name in ("arpeggio", "chicken_scratch", "palm_mute_chug", "power_chords"):
                steps = [(0, ctx.beats_per_bar, "chord" if pattern_name not in ("power_chords", "palm_mute_chug") else "power")]
            for offset, length, kind in steps:
                beat = bar_beat + offset
                chord = _chord_at(chords, beat)
                voicing = voicings[id(chord)]
                velocity = int(np.clip((70 + 30 * section.energy) * (1.0 if float(offset).is_integer() else 0.88), 1, 127))
                start = ctx.time(beat)
                if kind == "arp":
                    pitch = voicing[arp_index % len(voicing)] + (12 if (arp_index // len(voicing)) % 2 else 0)
                    arp_index += 1
                    part.notes.append(NoteEvent(start, length * ctx.spb * 0.95, int(place_in_range(pitch, 52, 88)), velocity, beat))
                    continue
                notes = voicing
                if kind == "power":
                    root = place_in_range(chord.root_pitch_class + 36, 40, 51)
                    notes = [root, root + 7, root + 12]
                if layer.lift:  # the chorus opens up: the top note doubled an octave higher
                    notes = [*notes, max(notes) + 12]
                spread_s = {"roll": 0.025, "down": 0.012, "up": 0.010}.get(kind, 0.0)
                ordered = list(reversed(notes)) if kind == "up" else notes
                for i, pitch in enumerate(ordered):
                    part.notes.append(NoteEvent(start + i * spread_s, max(length * ctx.spb - i * spread_s, 0.05),
                                                int(pitch), max(1, velocity - (6 if kind == "up" else 0)), beat))
    return part


def _pad_part(ctx: _Context, sections: list[Section], chords: list[Chord], choice: InstrumentChoice,
              layers: list[Layers] | None = None) -> Part:
    part = _part_for(choice, "pad", "harmony", gain_db=-4.0)
    previous: list[int] | None = None
    layers = layers or [Layers() for _ in sections]
    for chord in chords:
        index = next(i for i, s in enumerate(sections) if s.start_s <= chord.start_s + 1e-9 < s.end_s + 1e-9)
        section = sections[index]
        previous = voice_chord(chord.triad_pitch_classes, previous, 60, 79, max_voices=3)
        if not layers[index].pad:
            continue
        if section.energy < 0.3 and section.name not in ("intro", "outro", "breakdown"):
            continue
        velocity = int(np.clip(55 + 40 * section.energy, 1, 127))
        for pitch in previous:
            part.notes.append(NoteEvent(chord.start_s, chord.duration_s * 0.98, pitch, velocity, chord.beat))
    return part


# -- melody -------------------------------------------------------------------------------------

@dataclass
class _Motif:
    onsets: list[float]  # beats within the phrase unit
    lengths: list[float]
    steps: list[int]  # scale-degree movement before each note (first is the start offset)


def _make_motif(ctx: _Context, density: float, bars: int, grid: float) -> _Motif:
    rng = ctx.rng
    slots = int(round(bars * ctx.beats_per_bar / grid))
    strong = np.array([1.0 if (i * grid) % 1 == 0 else 0.55 for i in range(slots)])
    strong[0] = 3.0
    syncopation = 0.3 + 0.5 * ctx.spec.creativity
    weights = np.where(strong < 1.0, syncopation, strong)
    weights[-max(1, int(1 / grid)):] *= 0.2  # leave the end of the unit for breathing
    count = int(np.clip(round(density * bars * ctx.beats_per_bar * (0.6 + 0.8 * ctx.spec.complexity)), 2, slots - 1))
    chosen = sorted(set([0] + list(rng.choice(slots, size=count - 1, replace=False, p=weights / weights.sum()))))
    onsets = [i * grid for i in chosen]
    lengths = []
    for i, onset in enumerate(onsets):
        nxt = onsets[i + 1] if i + 1 < len(onsets) else bars * ctx.beats_per_bar - 0.5
        lengths.append(max(grid * 0.9, (nxt - onset) * 0.92))
    leap_p = 0.1 + 0.25 * ctx.spec.creativity
    steps = [0]
    for _ in onsets[1:]:
        if rng.random() < leap_p:
            steps.append(int(rng.choice([-4, -3, 3, 4, 5])))
        else:
            steps.append(int(rng.choice([-2, -1, -1, 0, 1, 1, 2])))
    return _Motif(onsets, lengths, steps)


def _vary(ctx: _Context, motif: _Motif, amount: float) -> _Motif:
    """Keep the rhythm, alter some steps (and sometimes drop a note) — recognisably the same idea."""
    steps = list(motif.steps)
    for i in range(1, len(steps)):
        if ctx.rng.random() < amount:
            steps[i] = int(np.clip(steps[i] + ctx.rng.choice([-1, 1]), -5, 5))
    onsets, lengths = list(motif.onsets), list(motif.lengths)
    if len(onsets) > 3 and ctx.rng.random() < amount:
        j = int(ctx.rng.integers(1, len(onsets) - 1))
        lengths[j - 1] += lengths[j]
        del onsets[j], lengths[j], steps[j]
    return _Motif(onsets, lengths, steps)


def _realise(ctx: _Context, motif: _Motif, start_beat: float, chords: list[Chord], scale: list[int], start_index: int,
             cadence: bool, velocity: int) -> tuple[list[NoteEvent], int]:
    """Turn motif steps into pitches: scale walk, chord tones on strong beats, cadence on the root."""
    notes = []
    index = start_index
    for n, (onset, length, step) in enumerate(zip(motif.onsets, motif.lengths, motif.steps)):
        index = int(np.clip(index + step, 0, len(scale) - 1))
        beat = start_beat + onset
        # The chord the note rings over: a syncopated note held into the next chord anticipates it.
        chord = _chord_at(chords, beat + length / 2)
        pitch = scale[index]
        on_strong = onset % 1 == 0
        last = n == len(motif.onsets) - 1
        # Long notes are what a listener remembers of a melody: a note held a beat or more is a
        # chord tone wherever it starts, and one held two beats or more a triad tone (a 7th or
        # a passing tone sustained that long stops sounding like the chord it is over).
        if on_strong or last or length >= 1.0:
            tones = chord.triad_pitch_classes if length >= 2.0 else chord.pitch_classes
            if cadence and last:
                # A phrase ends at home where the chord allows it: on a tone it shares with the
                # tonic triad (over III or VI in minor, the tonic's own third or root), otherwise
                # on its root or third. Ending on the chord's own root over III/VI/VII is what
                # made minor songs sound like their relative major.
                home = tuple(pc for pc in chord.triad_pitch_classes if pc in ctx.tonic_triad)
                tones = home or (chord.root_pitch_class, chord.triad_pitch_classes[1])
            candidates = [i for i, p in enumerate(scale) if p % 12 in tones]
            if not candidates:  # chromatic chord tone outside the scale: use the chord tone itself
                pitch = nearest_pitch(tones[0], pitch)
            else:
                index = min(candidates, key=lambda i: (abs(i - index), i))
                pitch = scale[index]
        accent = 1.0 if on_strong else 0.9
        notes.append(NoteEvent(ctx.time(beat), length * ctx.spb, int(pitch),
                               int(np.clip(velocity * accent + ctx.rng.normal(0, 4), 1, 127)), beat))
    return notes, index


def _melody_scale(ctx: _Context, choice: InstrumentChoice, low: int, high: int) -> list[int]:
    if choice.scale == "blues":
        scale = BLUES_SCALE_MINOR if ctx.mode == "minor" else BLUES_SCALE_MAJOR
    else:
        scale = scale_of(ctx.mode)
    return scale_pitches(ctx.tonic, scale, low, high)


def _melody_part(ctx: _Context, sections: list[Section], chords: list[Chord], choice: InstrumentChoice,
                 skip_sections: set[int]) -> Part:
    low, high = choice.pitch_range or (60, 84)
    density = choice.density if choice.density is not None else 0.5
    scale = _melody_scale(ctx, choice, low, high)
    part = _part_for(choice, "lead", "melody")
    grid = 0.25 if ctx.spec.complexity > 0.75 else 0.5
    motifs: dict[str, _Motif] = {}
    for index, section in enumerate(sections):
        if index in skip_sections or section.name in ("build", "breakdown") and section.energy < 0.5:
            continue
        if section.name in ("intro", "outro") and section.bars < 4 and len(sections) > 2:
            continue
        unit = 2 if section.bars >= 2 else 1
        if section.name not in motifs:
            motifs[section.name] = _make_motif(ctx, density * (0.6 if section.name in ("intro", "outro") else 1.0), unit, grid)
        motif = motifs[section.name]
        start_index = ctx.home_index(scale, above=1 if section.name in ("chorus", "drop") else 0)
        velocity = int(70 + 35 * section.energy)
        index_now = start_index
        for phrase in range(section.bars // unit):
            variant = motif if phrase % 2 == 0 else _vary(ctx, motif, 0.2 + 0.4 * ctx.spec.creativity)
            beat = (section.start_bar + phrase * unit) * ctx.beats_per_bar
            cadence = phrase == section.bars // unit - 1
            notes, index_now = _realise(ctx, variant, beat, chords, scale, start_index if phrase % 2 == 0 else index_now,
                                        cadence, velocity)
            part.notes.extend(notes)
    return part


# -- vocals and lyrics --------------------------------------------------------------------------

def _vocals(ctx: _Context, sections: list[Section], chords: list[Chord]) -> tuple[Part, list[LyricLine], set[int]]:
    from studio.engine.composition import lyrics as lyrics_writer

    spec = ctx.spec
    vocal_indices = [i for i, s in enumerate(sections) if s.name in VOCAL_SECTIONS]
    if not vocal_indices:  # a form without verses (very short, or EDM drops): sing over the loudest sections
        vocal_indices = [i for i, s in enumerate(sections) if s.name in ("drop", "chorus")] or [len(sections) // 2]
    lyrics_options = spec.lyrics
    if lyrics_options is not None and lyrics_options.text:
        given = lyrics_writer.parse_lyrics(lyrics_options.text)
        plan = _assign_given_lyrics(given, [sections[i] for i in vocal_indices])
    else:
        labels = []
        for i in vocal_indices:
            kind = sections[i].name if sections[i].name in VOCAL_SECTIONS else "chorus"
            label = "Chorus" if kind == "chorus" else sections[i].label
            labels.append((label, kind))
        written = lyrics_writer.write_lyrics(lyrics_options.theme if lyrics_options else None, spec.mood, spec.genre,
                                             labels, np.random.default_rng([spec.seed, 2]))
        plan = list(zip((sections[i] for i in vocal_indices), written))

    part = Part(name="vocal melody", stem="vocals", source="sf2", program=VOCAL_PROGRAM, label="Vocal melody (guide)")
    scale = scale_pitches(ctx.tonic, scale_of(ctx.mode), *VOCAL_RANGE)
    lines_out: list[LyricLine] = []
    phrase_cache: dict[tuple[str, int, int], list[tuple[float, float, int]]] = {}
    used: set[int] = set()
    for section, lyric_section in plan:
        used.add(sections.index(section))
        lines = [line for line in lyric_section.lines if line.strip()]
        if not lines:
            continue
        bars_per_line = max(1, section.bars // len(lines))
        fitted = lines[: max(1, section.bars // bars_per_line)]
        for n, line in enumerate(fitted):
            syllables = lyrics_writer.syllables(line) or [line]
            start_beat = (section.start_bar + n * bars_per_line) * ctx.beats_per_bar
            key = (lyric_section.kind, n, len(syllables))
            if key not in phrase_cache:
                phrase_cache[key] = _vocal_phrase(ctx, len(syllables), bars_per_line, start_beat, chords, scale,
                                                  high=lyric_section.kind == "chorus")
            rhythm = phrase_cache[key]
            line_syllables = []
            for text, (offset, length, pitch) in zip(syllables, rhythm):
                beat = start_beat + offset
                start = ctx.time(beat, jitter=False)
                # re-fit pitch to this occurrence's chord on strong beats (chords can differ between repeats)
                chord = _chord_at(chords, beat)
                if offset % 1 == 0 and pitch % 12 not in chord.pitch_classes:
                    pitch = min((p for p in scale if p % 12 in chord.pitch_classes), key=lambda p: abs(p - pitch), default=pitch)
                part.notes.append(NoteEvent(start, length * ctx.spb, int(pitch), 96, beat))
                line_syllables.append(Syllable(text=text, start_s=start, end_s=start + length * ctx.spb, pitch=int(pitch)))
            lines_out.append(LyricLine(section=lyric_section.label, text=line, start_s=line_syllables[0].start_s,
                                       end_s=line_syllables[-1].end_s, syllables=line_syllables))
    return part, lines_out, used


def _assign_given_lyrics(given, vocal_sections: list[Section]):
    """Map the user's lyric sections onto the song's vocal sections by kind, in order."""
    plan = []
    pools = {kind: [s for s in given if s.kind == kind] for kind in {s.kind for s in given}}
    leftovers = list(given)
    for section in vocal_sections:
        pool = pools.get(section.name) or []
        if pool:
            choice = pool.pop(0) if len(pool) > 1 or section.name != "chorus" else pool[0]
        elif leftovers:
            choice = leftovers[0]
        else:
            continue
        if choice in leftovers:
            leftovers.remove(choice)
        plan.append((section, choice))
    return plan


def _vocal_phrase(ctx: _Context, count: int, bars: int, start_beat: float, chords: list[Chord], scale: list[int],
                  high: bool) -> list[tuple[float, float, int]]:
    """One note per syllable over `bars` bars: an 8th-note grid (16ths when the line is long),
    starting on the downbeat, the last syllable held, a breath before the next line."""
    span = bars * ctx.beats_per_bar - 1.0  # leave the last beat to breathe
    grid = 0.5 if count <= span / 0.5 else 0.25
    slots = int(span / grid)
    count = min(count, slots) if slots > 0 else count
    spare = max(slots - count, 0)
    # spread spare slots: some after stressed positions, the rest on the final syllable
    gaps = np.zeros(count, dtype=int)
    if count > 1 and spare:
        internal = min(spare // 2, count - 1)
        for j in ctx.rng.choice(count - 1, size=internal, replace=False):
            gaps[j] += 1
        gaps[-1] += spare - internal
    elif count:
        gaps[-1] += spare
    onsets, lengths = [], []
    position = 0.0
    for i in range(count):
        onsets.append(position)
        lengths.append(grid * (1 + gaps[i]) * 0.95)
        position += grid * (1 + gaps[i])
    steps = [0] + [int(ctx.rng.choice([-2, -1, -1, 0, 1, 1, 2])) for _ in range(count - 1)]
    motif = _Motif(onsets, lengths, steps)
    start_index = ctx.home_index(scale, above=1 if high else 0)
    notes, _ = _realise(ctx, motif, start_beat, chords, scale, start_index, cadence=True, velocity=96)
    return [(n.beat - start_beat, length, n.pitch) for n, length in zip(notes, lengths)]


# -- fx -----------------------------------------------------------------------------------------

def _fx_part(ctx: _Context, sections: list[Section]) -> Part:
    """Noise risers over the bar before each chorus/drop (one long note per riser)."""
    part = Part(name="riser", stem="fx", source="synth", patch="riser", label="Riser")
    if ctx.style.kit != "synth" and ctx.style.energy < 0.6:
        return part
    for previous, section in zip(sections, sections[1:]):
        if section.name in ("chorus", "drop") and previous.bars >= 1:
            beats = min(previous.bars, 2) * ctx.beats_per_bar
            beat = section.start_bar * ctx.beats_per_bar - beats
            part.notes.append(NoteEvent(beat * ctx.spb, beats * ctx.spb, 72, 90, beat))
    return part


# -- extend -------------------------------------------------------------------------------------

def _splice(previous: Score, new_parts: list[Part], join_s: float) -> list[Part]:
    """The old score's notes before the join, the new score's notes from the join on, per part."""
    old = {(p.name, p.stem): p for p in previous.parts}
    merged = []
    for part in new_parts:
        before = [e for e in old[(part.name, part.stem)].notes if e.start_s < join_s] if (part.name, part.stem) in old else []
        after = [e for e in part.notes if e.start_s >= join_s]
        merged.append(Part(**{**part.__dict__, "notes": before + after}))
    for key, part in old.items():
        if key not in {(p.name, p.stem) for p in new_parts}:
            merged.append(Part(**{**part.__dict__, "notes": [e for e in part.notes if e.start_s < join_s]}))
    return merged
