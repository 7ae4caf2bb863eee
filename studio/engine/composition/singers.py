"""Who sings a track with vocals: the singer the request names, else one inferred from the prompt
(a character's name, a voice word such as "female", a rap word) or the style's default character.

The words and the style defaults are data (resources/music/singers.toml). The characters to choose
from come from the caller: the voices service passes its characters; without any, the studio's
default characters (resources/voices/characters.toml) sing. `choose_singer` is the one place the
choice is made; spec.py calls it from `resolve_spec`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from studio.engine.composition.styles import Style, styles
from studio.engine.datafiles import DataFileError, load_toml, validated
from studio.resources import resource_path

if TYPE_CHECKING:
    from studio.engine.composition.spec import SingerOptions

RULES_FILE = resource_path("music", "singers.toml")
CHARACTERS_FILE = resource_path("voices", "characters.toml")
LEAD_INSTRUMENT = "instrument"  # a request's singer value: the lead instrument plays the vocal melody


class SingerWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrumental: list[str] = Field(min_length=1)
    vocals: list[str] = []
    female: list[str] = Field(min_length=1)
    male: list[str] = Field(min_length=1)
    rap: list[str] = Field(min_length=1)


class SingerRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: SingerWords
    styles: dict[str, list[str]]  # style id -> character ids, the default first


class SingerCandidate(BaseModel):
    """A character that can sing: who it is, its voice (female/male/None) and the engine's
    SingerOptions for it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    genre: str = ""
    style: str | None = None  # the character's own style
    voice: Literal["female", "male"] | None = None
    options: Any  # SingerOptions (typed loosely: spec.py imports this module)


@lru_cache(maxsize=1)
def singer_rules() -> SingerRules:
    rules = validated(SingerRules, RULES_FILE, "", load_toml(RULES_FILE))
    known = styles()
    for style_id, ids in rules.styles.items():
        if style_id not in known:
            raise DataFileError(RULES_FILE, f"styles.{style_id}", "is not a style of resources/music/styles.toml")
        if not ids:
            raise DataFileError(RULES_FILE, f"styles.{style_id}", "names no character")
    return rules


def find_words(text: str, words: Sequence[str]) -> list[str]:
    """The words of `words` that `text` contains whole (any case, plural included), in `words` order."""
    low = f" {text.lower()} "
    return [w for w in words if re.search(rf"(?<![a-z0-9]){re.escape(w.lower())}s?(?![a-z0-9])", low)]


def voice_of(voice_quality: str | None) -> Literal["female", "male"] | None:
    """"dreamy_female" -> "female", "warm_male" -> "male", anything else -> None."""
    text = re.sub(r"[_\-]+", " ", voice_quality or "")
    words = singer_rules().words
    if find_words(text, words.female):
        return "female"
    if find_words(text, words.male):
        return "male"
    return None


def candidate(character: dict[str, Any], options: dict[str, Any] | SingerOptions) -> SingerCandidate:
    """A candidate from a character (the voices service's dict or a characters.toml entry with its
    `id`) and the SingerOptions its voice sings with."""
    from studio.engine.composition.spec import SingerOptions

    return SingerCandidate(id=character["id"], name=character["name"], genre=character.get("genre") or "",
                           style=character.get("style"), voice=voice_of(character.get("voice_quality")),
                           options=SingerOptions.model_validate(options))


@lru_cache(maxsize=1)
def default_singers() -> tuple[SingerCandidate, ...]:
    """The studio's default characters (resources/voices/characters.toml) as singers: who sings
    where no voices service passes its own (the engine as a library, `studio generate`)."""
    from studio.engine.composition.spec import SingerOptions

    out = []
    for char_id, data in load_toml(CHARACTERS_FILE)["characters"].items():
        voice = {k: v for k, v in (data.get("voice") or {}).items() if k in SingerOptions.model_fields}
        out.append(candidate({**data, "id": char_id}, {"name": data["name"], "character_id": char_id, **voice}))
    return tuple(out)


def find_singer(text: str, candidates: Sequence[SingerCandidate] | None = None) -> SingerCandidate | None:
    """The candidate whose id or name (any case) is `text`; None when none is."""
    key = text.strip().lower()
    for c in default_singers() if candidates is None else candidates:
        if key in (c.id.lower(), c.name.lower()):
            return c
    return None


def _raps(style_id: str | None) -> bool:
    style = styles().get(style_id or "")
    return style is not None and style.vocal_delivery == "rap"


def _label(c: SingerCandidate) -> str:
    return f"{c.name} ({c.genre})" if c.genre else c.name


def asks_for_vocals(prompt: str) -> str | None:
    """Why the prompt asks for a sung track ("prompt word 'rap'"), or None."""
    from studio.engine.composition.styles import prompt_words

    words = singer_rules().words
    found = find_words(prompt, [*prompt_words().vocals, *words.vocals])
    if found:
        return f"prompt asks for vocals ({found[0]!r})"
    found = find_words(prompt, words.rap)
    return f"prompt asks for rap ({found[0]!r})" if found else None


def asks_for_instrumental(prompt: str) -> str | None:
    found = find_words(prompt, singer_rules().words.instrumental)
    return f"prompt word {found[0]!r}" if found else None


def choose_singer(prompt: str, style: Style, candidates: Sequence[SingerCandidate] | None = None
                  ) -> tuple[SingerOptions | None, str]:
    """The singer of a sung track whose request names none, and why: a character named in the
    prompt, else the first character of the voice ("female"/"male") and/or rapping the prompt asks
    for (the style's own characters first), else the style's default character. (None, why) when
    there is no character to sing: a lead instrument plays the vocal melody."""
    pool = list(default_singers() if candidates is None else candidates)
    if not pool:
        return None, "a lead instrument plays the vocal melody (no voice characters to sing)"
    for c in pool:  # a name as written ("Luna"), or an id in any case ("luna_lofi")
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(c.name)}(?![A-Za-z0-9])", prompt) or find_words(prompt, [c.id]):
            return c.options, f"prompt names {c.name} -> {_label(c)}"
    preferred = singer_rules().styles.get(style.id, [])
    by_id = {c.id: c for c in pool}
    # the style's characters in its order, then characters of the style, then everyone else
    ranked = [by_id[i] for i in preferred if i in by_id]
    ranked += [c for c in pool if c.style == style.id and c not in ranked]
    ranked += [c for c in pool if c not in ranked]
    words = singer_rules().words
    female, male, rap = (find_words(prompt, words.female), find_words(prompt, words.male),
                         find_words(prompt, words.rap))
    wanted = "female" if female and not male else "male" if male and not female else None
    asked = []
    if wanted:
        asked.append(female[0] if wanted == "female" else male[0])
        matching = [c for c in ranked if c.voice == wanted]
        ranked = matching or ranked
        if not matching:
            asked = []  # no character has that voice: say so below
    if rap and not _raps(style.id):  # a rap style's own characters rap already
        rappers = [c for c in ranked if _raps(c.style)]
        if rappers:
            ranked, asked = rappers, [*asked, rap[0]]
    chosen = ranked[0]
    if asked:
        what = " and ".join(repr(w) for w in asked)
        return chosen.options, f"prompt word{'s' if len(asked) > 1 else ''} {what} -> {_label(chosen)}"
    if chosen.id in preferred:
        how = f"style default for {style.name}"
    elif chosen.style == style.id:
        how = f"a character of {style.name}"
    else:
        how = f"first voice character (no default for {style.name} among them)"
    if wanted:
        how += f"; no {wanted} voice character"
    return chosen.options, f"{how} -> {_label(chosen)}"
