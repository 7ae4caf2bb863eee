"""Drafted replies: written by the built-in writer (the phrase bank resources/community/replies.toml)
or by the Ollama model named in Settings, in the voice of a chosen character, and grounded in the
user's real library. A draft is a `community_replies` row with status `draft`; a person approves it
(outbox.py), or the automation does on Discord/Telegram when the user turned it on (live.py).

Built by the entry object as `CommunityDrafts(ctx, music=..., voices=..., settings=...)`.

Public API:
- `async draft_for_message(message_id, *, character_id=None, response_type=None) -> reply`: the
  current draft of a stored message, or a new one (an older draft with other choices is discarded).
- `async respond(*, platform, message_content, user_context, response_type, character_id=None)
  -> {"content", "tone", "personalization_score", "estimated_engagement", "estimated_engagement_basis",
  "draft_id", "grounded_tracks": [{"id", "title"}], "response_type", "character_id", "drafted_by",
  "reasons"}` (seed 000's POST /api/community/respond; the draft is stored, not linked to a message).

How a draft is written:
- The response type is the caller's (aliases in the bank: "helpful_recommendation" ...) or read
  from the message: negative sentiment or a complaint word -> feedback, else the first type in the
  bank's `order` whose `detect` phrases the message uses, else general.
- The character is the caller's, else Settings' `character_id`, else none (a neutral voice). A
  character's words come from the Voices area (`characters.persona`): its vocabulary describes
  the tracks and one of its sign-offs closes the reply.
- Grounding (recommendations): the message and the user context's preferences are matched against
  the style catalogue's keywords ("lo-fi" -> lofi_hip_hop), the moods' keywords and the bank's
  activities ("coding" -> calm). Each library track (`music.library.list_tracks`, the newest
  `MAX_TRACKS_SCANNED`) scores 3 for a wanted style, 2 for a wanted mood, 1 when a wanted word is in its
  title, tags or prompt, and 0 (does not fit) when a style was named and it is neither of that style
  nor carries the style's word; the best `MAX_RECOMMENDED` with a score above 0 are recommended by title
  (ties: most played, then newest). None fits: the draft says so (`empty`), it never invents a
  title. Nothing named: the most played tracks, said as such.
- Ollama (Settings `ollama_url` + `ollama_model`) gets the character, the message, the user context
  and the grounded titles, told to name no other title. When it fails, the built-in writer writes
  the draft and `drafted_by` says "studio (Ollama failed)", with the reason in `reasons`.

Formulas:
- `personalization_score` = 100 × (items of the given user context the reply uses) / (items given),
  one decimal. Items: each key with a value, each element of a list (preferences) counted alone.
  Used: the username appears in the reply; a preference's word appears in the reply or picked a
  recommended track; the join date's month and year appear; the activity level's sentence of the bank
  is in the reply; any other value appears in the reply as written. No context given: null, with the reason.
  With Settings' `personalization.enabled` false the writer uses only the username. A draft for a
  stored message has the author's name as context, and the platform's join date when the platform
  gave one and `personalization.use_member_history` is on.
- `estimated_engagement` = the mean reactions (Discord reactions, YouTube likes) measured on the
  studio's last `ENGAGEMENT_WINDOW` sent replies on that platform (all platforms when that one has
  fewer than `MIN_ENGAGEMENT_SAMPLES`), read back when a poll sees the sent message; null with the
  reason while fewer than `MIN_ENGAGEMENT_SAMPLES` sent replies have a measured count.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, select

from studio.connectors.ollama import OllamaClient, OllamaUnavailable
from studio.db.models import CommunityMember, CommunityMessage, CommunityReply
from studio.engine.datafiles import DataFileError, load_toml, validated
from studio.resources import resource_path
from studio.services.community.common import (
    PLATFORMS,
    CommunityError,
    UnknownMessage,
    new_id,
    reply_dict,
)
from studio.services.community.outbox import MAX_CHARS
from studio.services.voices import UnknownCharacter
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

REPLIES_FILE = resource_path("community", "replies.toml")
MAX_TRACKS_SCANNED = 2000
MAX_RECOMMENDED = 3
ENGAGEMENT_WINDOW = 50
MIN_ENGAGEMENT_SAMPLES = 5
PLACEHOLDERS = {"user", "tracks", "need", "word", "character", "since", "preferences"}
STYLE_SCORE, MOOD_SCORE, WORD_SCORE = 3, 2, 1
OLLAMA_FAILED = "studio (Ollama failed)"

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# --- the phrase bank --------------------------------------------------------------------------------
def _sentences(values: list[str], *, tracks: bool | None = None) -> list[str]:
    for text in values:
        names = set(_PLACEHOLDER.findall(text))
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(f"{text!r} uses unknown placeholder(s) {', '.join(sorted(unknown))}")
        if tracks is True and "tracks" not in names:
            raise ValueError(f"{text!r} must name the {{tracks}}")
        if tracks is False and "tracks" in names:
            raise ValueError(f"{text!r} must not name {{tracks}} (nothing fits)")
    return values


class ReplyType(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tone: str = Field(min_length=1)
    detect: list[str] = []
    openers: list[str] = Field(min_length=1)
    bodies: list[str] = Field(min_length=1)
    closers: list[str] = Field(min_length=1)
    empty: list[str] = []
    popular: list[str] = []

    @field_validator("openers", "closers")
    @classmethod
    def _no_tracks(cls, values: list[str]) -> list[str]:
        return _sentences(values, tracks=False)

    @field_validator("bodies")
    @classmethod
    def _bodies(cls, values: list[str]) -> list[str]:
        return _sentences(values)

    @field_validator("empty")
    @classmethod
    def _empty(cls, values: list[str]) -> list[str]:
        return _sentences(values, tracks=False)

    @field_validator("popular")
    @classmethod
    def _popular(cls, values: list[str]) -> list[str]:
        return _sentences(values, tracks=True)


class Personal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: list[str] = Field(min_length=1)
    regular: list[str] = Field(min_length=1)
    newcomer: list[str] = Field(min_length=1)
    preferences: list[str] = Field(min_length=1)


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(min_length=1)
    signoffs: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class Bank:
    order: list[str]
    types: dict[str, ReplyType]
    aliases: dict[str, str]
    personal: Personal
    activities: dict[str, list[str]]
    defaults: Defaults

    def type_id(self, name: str) -> str:
        key = (name or "").strip().lower().replace("-", "_").replace(" ", "_")
        key = self.aliases.get(key, key)
        if key not in self.types:
            known = sorted({*self.types, *self.aliases})
            raise CommunityError(f"unknown response_type {name!r} (known: {', '.join(known)})")
        return key


def load_bank(path=REPLIES_FILE) -> Bank:
    """The phrase bank, checked: DataFileError names the entry and what is wrong."""
    from studio.engine.composition.styles import moods

    data = load_toml(path)
    unknown = sorted(set(data) - {"order", "types", "aliases", "personal", "activities", "defaults"})
    if unknown:
        raise DataFileError(path, "", f"unknown section(s) {', '.join(unknown)}")
    types = {name: validated(ReplyType, path, f"types.{name}", value)
             for name, value in (data.get("types") or {}).items()}
    if "recommendation" not in types or not types["recommendation"].empty or not types["recommendation"].popular:
        raise DataFileError(path, "types.recommendation", "is needed, with `empty` and `popular` sentences")
    if "general" not in types:
        raise DataFileError(path, "types.general", "is needed (the type when nothing else fits)")
    for name, reply_type in types.items():
        if name != "recommendation" and (reply_type.empty or reply_type.popular):
            raise DataFileError(path, f"types.{name}", "only recommendations have `empty` and `popular`")
    order = data.get("order") or []
    if sorted(order) != sorted(types):
        raise DataFileError(path, "order", "must list every type once")
    aliases = {str(k): str(v) for k, v in (data.get("aliases") or {}).items()}
    for alias, target in aliases.items():
        if target not in types:
            raise DataFileError(path, f"aliases.{alias}", f"names no type ({target!r})")
    known_moods = set(moods())
    activities: dict[str, list[str]] = {}
    for word, mood_ids in (data.get("activities") or {}).items():
        if not isinstance(mood_ids, list) or not mood_ids or set(mood_ids) - known_moods:
            raise DataFileError(path, f"activities.{word}", f"must list moods of resources/music/moods.toml "
                                                            f"({', '.join(sorted(known_moods))})")
        activities[str(word).lower()] = list(mood_ids)
    personal = validated(Personal, path, "personal", data.get("personal"))
    for key in ("since", "regular", "newcomer", "preferences"):
        try:
            _sentences(getattr(personal, key), tracks=False)
        except ValueError as exc:
            raise DataFileError(path, f"personal.{key}", str(exc)) from None
    defaults = validated(Defaults, path, "defaults", data.get("defaults"))
    return Bank(order=list(order), types=types, aliases=aliases, personal=personal, activities=activities,
                defaults=defaults)


@lru_cache(maxsize=1)
def bank() -> Bank:
    return load_bank()


# --- matching words ---------------------------------------------------------------------------------
def _phrase_pattern(phrase: str) -> re.Pattern:
    """A phrase as whole words; spaces and hyphens in it match either ("lo-fi" ~ "lo fi")."""
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", phrase.strip().lower()) if p]
    return re.compile(r"(?<![\w])" + r"[\s\-]*".join(parts) + r"(?![\w])")


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern:
    return _phrase_pattern(phrase)


def uses(text: str, phrase: str) -> bool:
    return found(text, phrase) is not None


def found(text: str, phrase: str) -> str | None:
    """The words of `text` that say `phrase` (as written there), or None."""
    if not phrase.strip():
        return None
    match = _pattern(phrase.lower()).search(text.lower())
    return text[match.start():match.end()] if match else None


@dataclass
class Wanted:
    """What a recommendation request asks for, and the words that asked."""

    styles: dict[str, str] = field(default_factory=dict)  # style id -> the word used
    moods: dict[str, str] = field(default_factory=dict)  # mood id -> the word used
    words: list[str] = field(default_factory=list)  # the request's words, for titles/tags

    def __bool__(self) -> bool:
        return bool(self.styles or self.moods)

    def need(self) -> str:
        style_words = list(dict.fromkeys(self.styles.values()))
        mood_words = list(dict.fromkeys(self.moods.values()))
        if style_words and mood_words:
            return f"{' / '.join(style_words)} for {' and '.join(mood_words)}"
        return " / ".join(style_words or mood_words) or "that"


def wanted_from(texts: list[str], activities: dict[str, list[str]]) -> Wanted:
    from studio.engine.composition.styles import moods, styles

    wanted = Wanted()
    joined = " \n ".join(t for t in texts if t)
    for style in styles().values():
        for keyword in sorted({style.name.lower(), *(k.lower() for k in style.keywords)}, key=len, reverse=True):
            said = found(joined, keyword)
            if said:
                wanted.styles.setdefault(style.id, said)
                break
    for word, mood_ids in activities.items():
        said = found(joined, word)
        if said:
            for mood_id in mood_ids:
                wanted.moods.setdefault(mood_id, said)
    for mood in moods().values():
        for keyword in [mood.id, *mood.keywords]:
            said = found(joined, keyword)
            if said:
                wanted.moods.setdefault(mood.id, said)
                break
    wanted.words = [*dict.fromkeys([*wanted.styles.values(), *wanted.moods.values()])]
    return wanted


def _words_hit(track: dict[str, Any], words) -> bool:
    haystack = " ".join([track.get("title") or "", " ".join(track.get("tags") or []), track.get("prompt") or ""])
    return any(uses(haystack, word) for word in words)


def score_track(track: dict[str, Any], wanted: Wanted) -> int:
    """3 for a wanted style, 2 for a wanted mood, 1 for a wanted word in its title, tags or prompt;
    0 when it does not fit: a named style must be the track's (or the style's word is in its title,
    tags or prompt), a mood alone is enough only when no style was named."""
    style_hit = track.get("style") in wanted.styles
    if wanted.styles and not (style_hit or _words_hit(track, wanted.styles.values())):
        return 0
    return (STYLE_SCORE * style_hit + MOOD_SCORE * (track.get("mood") in wanted.moods)
            + WORD_SCORE * _words_hit(track, wanted.words))


def _quote_titles(titles: list[str]) -> str:
    quoted = [f"'{t}'" for t in titles]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _month_year(value: Any) -> str | None:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            return None
    return day.strftime("%B %Y")


# --- what one draft is made of ----------------------------------------------------------------------
@dataclass
class Draft:
    text: str
    tone: str
    response_type: str
    drafted_by: str
    character_id: str | None
    tracks: list[dict[str, Any]]
    personalization_score: float | None
    reasons: dict[str, str]


class CommunityDrafts:
    def __init__(self, ctx: "Context", *, music: Any, voices: Any, settings: Any) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.music = music
        self.voices = voices
        self.settings = settings

    # --- the two entries ------------------------------------------------------------------------
    async def draft_for_message(self, message_id: str, *, character_id: str | None = None,
                                response_type: str | None = None) -> dict[str, Any]:
        """The message's current draft when it was written with these choices, else a new one."""
        history = {"use_member_history": True, **(self._config().get("personalization") or {})}
        with self.db.session() as s:
            message = s.get(CommunityMessage, message_id)
            if message is None:
                raise UnknownMessage(message_id)
            current = s.scalars(select(CommunityReply).where(CommunityReply.message_id == message_id,
                                                             CommunityReply.status == "draft")
                                .order_by(CommunityReply.created_at.desc())).first()
            if current is not None and (character_id is None or character_id == current.character_id) and (
                    response_type is None or bank().type_id(response_type) == current.response_type):
                return reply_dict(current)
            member = s.get(CommunityMember, message.member_id) if message.member_id else None
            msg = {"platform": message.platform, "channel_id": message.channel_id, "text": message.text,
                   "external_id": message.external_id, "reply_to": message.reply_to_external_id,
                   "author": message.author_name, "compound": message.sentiment_compound}
            context: dict[str, Any] = {"username": message.author_name}
            if history["use_member_history"] and member is not None and member.joined_at is not None:
                context["join_date"] = member.joined_at.date().isoformat()  # the platform's join date
        draft = await self._write(msg["platform"], msg["text"], context, response_type, character_id,
                                  compound=msg["compound"])
        # YouTube answers a thread: a reply to a reply goes to the top-level comment
        reply_to = (msg["reply_to"] or msg["external_id"]) if msg["platform"] == "youtube" else msg["external_id"]
        now = utcnow()
        with self.db.session() as s:
            for old in s.scalars(select(CommunityReply).where(CommunityReply.message_id == message_id,
                                                              CommunityReply.status == "draft")).all():
                old.status, old.updated_at = "discarded", now
            row = self._row(draft, platform=msg["platform"], message_id=message_id, channel_id=msg["channel_id"],
                            reply_to=reply_to, now=now)
            s.add(row)
            s.flush()
            return reply_dict(row)

    async def respond(self, *, platform: str, message_content: str, user_context: dict[str, Any] | None,
                      response_type: str | None, character_id: str | None = None) -> dict[str, Any]:
        if platform not in PLATFORMS:
            raise CommunityError(f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
        text = (message_content or "").strip()
        if not text:
            raise CommunityError("message_content is empty")
        if user_context is not None and not isinstance(user_context, dict):
            raise CommunityError("user_context must be an object (username, join_date, preferences ...)")
        draft = await self._write(platform, text, dict(user_context or {}), response_type, character_id)
        now = utcnow()
        with self.db.session() as s:
            row = self._row(draft, platform=platform, message_id=None, channel_id=None, reply_to=None, now=now)
            s.add(row)
        engagement, basis = self.estimated_engagement(platform)
        reasons = dict(draft.reasons)
        if engagement is None:
            reasons["estimated_engagement"] = basis
        return {"content": draft.text, "tone": draft.tone, "personalization_score": draft.personalization_score,
                "estimated_engagement": engagement, "estimated_engagement_basis": basis, "draft_id": row.id,
                "grounded_tracks": [{"id": t["id"], "title": t["title"]} for t in draft.tracks],
                "response_type": draft.response_type, "character_id": draft.character_id,
                "drafted_by": draft.drafted_by, "reasons": reasons}

    @staticmethod
    def _row(draft: Draft, *, platform: str, message_id: str | None, channel_id: str | None, reply_to: str | None,
             now: datetime) -> CommunityReply:
        return CommunityReply(id=new_id("reply"), message_id=message_id, platform=platform, channel_id=channel_id,
                              reply_to_external_id=reply_to, text=draft.text, drafted_text=draft.text,
                              drafted_by=draft.drafted_by[:100], character_id=draft.character_id,
                              response_type=draft.response_type, tone=draft.tone,
                              personalization_score=draft.personalization_score,
                              grounded_track_ids=[t["id"] for t in draft.tracks], status="draft", auto=0,
                              attempts=0, created_at=now, updated_at=now)

    # --- estimated engagement -------------------------------------------------------------------
    def estimated_engagement(self, platform: str) -> tuple[float | None, str]:
        """(mean reactions on recent sent replies, how it was found) or (None, why not)."""
        r, m = CommunityReply, CommunityMessage
        measured = select(r.platform, r.reactions, m.reactions.label("read_back")).outerjoin(
            m, and_(m.platform == r.platform, m.channel_id == r.channel_id, m.external_id == r.platform_message_id)
        ).where(r.status == "sent").order_by(r.sent_at.desc()).limit(ENGAGEMENT_WINDOW * 4)
        with self.db.session() as s:
            rows = s.execute(measured).all()
        samples: dict[str, list[int]] = {}
        for row in rows:
            value = row.reactions if row.reactions is not None else row.read_back
            if value is not None:
                samples.setdefault(row.platform, []).append(int(value))
        own = samples.get(platform, [])[:ENGAGEMENT_WINDOW]
        scope = platform
        if len(own) < MIN_ENGAGEMENT_SAMPLES:
            own = [v for values in samples.values() for v in values][:ENGAGEMENT_WINDOW]
            scope = "all platforms"
        if len(own) < MIN_ENGAGEMENT_SAMPLES:
            return None, (f"only {len(own)} sent replies have measured reactions so far; {MIN_ENGAGEMENT_SAMPLES} "
                          "are needed (reactions are read back when a poll sees the sent reply)")
        return round(sum(own) / len(own), 1), (f"mean reactions on the last {len(own)} sent replies with a "
                                               f"measured count ({scope})")

    # --- writing --------------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        try:
            return dict(self.settings.config() or {})
        except Exception as exc:  # the settings part not ready: defaults
            log.warning("community config not read (%s): drafting with defaults", exc)
            return {}

    def _character(self, character_id: str | None, reasons: dict[str, str]) -> dict[str, Any] | None:

        if character_id:
            try:
                return self.voices.characters.get_character(character_id)
            except UnknownCharacter:
                raise CommunityError(f"unknown character {character_id!r} (the Voices area lists them; "
                                     "POST /api/voice/initialize creates the defaults)") from None
        configured = self._config().get("character_id")
        if configured:
            try:
                return self.voices.characters.get_character(configured)
            except UnknownCharacter:
                reasons["character"] = f"the configured character {configured!r} no longer exists: neutral voice"
        return None

    def _response_type(self, text: str, response_type: str | None, compound: float | None) -> str:
        phrases = bank()
        if response_type:
            return phrases.type_id(response_type)
        compound = compound if compound is not None else self._sentiment(text)
        for name in phrases.order:
            spec = phrases.types[name]
            hit = any(uses(text, p) for p in spec.detect)
            if name == "feedback":
                if compound <= -0.05 or (hit and compound < 0.05):
                    return name
                continue
            if name == "question" and text.rstrip().endswith("?"):
                return name
            if hit:
                return name
        return "general"

    @staticmethod
    def _sentiment(text: str) -> float:
        return float(_sentiment_model().score(text).compound)

    def _ground(self, text: str, preferences: list[str], reasons: dict[str, str]
                ) -> tuple[list[dict[str, Any]], Wanted, Wanted, str]:
        """(tracks to recommend, what the message wants, what the preferences want, how: fit|popular|empty)."""
        phrases = bank()
        from_message = wanted_from([text], phrases.activities)
        from_prefs = wanted_from(preferences, phrases.activities)
        wanted = Wanted(styles={**from_prefs.styles, **from_message.styles},
                        moods={**from_prefs.moods, **from_message.moods})
        wanted.words = [*dict.fromkeys([*from_message.words, *from_prefs.words])]
        if from_message:  # the request itself decides; preferences only fill in when it names nothing
            wanted = from_message
        total, tracks = self.music.library.list_tracks(limit=MAX_TRACKS_SCANNED)
        tracks = [t for t in tracks if (t.get("title") or "").strip()]
        if not tracks:
            reasons["grounded_tracks"] = "the library has no tracks yet"
            return [], wanted, from_prefs, "empty"
        if not wanted:
            ranked = sorted(tracks, key=lambda t: (-(t.get("play_count") or 0), t.get("created_at") or ""))
            if not any(t.get("play_count") for t in ranked):
                reasons["grounded_tracks"] = ("the request names no style or mood and no track has been played "
                                              "yet: nothing to recommend")
                return [], wanted, from_prefs, "empty"
            reasons["grounded_tracks"] = "the request names no style or mood: the most played tracks"
            return [t for t in ranked if t.get("play_count")][:MAX_RECOMMENDED], wanted, from_prefs, "popular"
        scored = [(score_track(t, wanted), t) for t in tracks]
        fitting = [(score, t) for score, t in scored if score > 0]  # list_tracks gives the newest first
        fitting.sort(key=lambda st: (-st[0], -(st[1].get("play_count") or 0)))  # stable: newest first on ties
        if not fitting:
            scanned = f"the newest {MAX_TRACKS_SCANNED}" if total > MAX_TRACKS_SCANNED else f"all {len(tracks)}"
            reasons["grounded_tracks"] = f"no track fits {wanted.need()} ({scanned} library tracks were compared)"
            return [], wanted, from_prefs, "empty"
        return [t for _s, t in fitting[:MAX_RECOMMENDED]], wanted, from_prefs, "fit"

    async def _write(self, platform: str, text: str, context: dict[str, Any], response_type: str | None,
                     character_id: str | None, *, compound: float | None = None) -> Draft:
        phrases = bank()
        reasons: dict[str, str] = {}
        config = self._config()
        personal = {"enabled": True, "use_member_history": True, "mention_preferences": True,
                    **(config.get("personalization") or {})}
        character = self._character(character_id, reasons)
        type_id = self._response_type(text, response_type, compound)
        spec = phrases.types[type_id]
        user = str(context.get("username") or "").strip() or "there"
        preferences = [str(p) for p in (context.get("preferences") or []) if str(p).strip()] \
            if isinstance(context.get("preferences"), list) else []
        use_prefs = personal["enabled"] and personal["mention_preferences"]
        tracks: list[dict[str, Any]] = []
        how = None
        wanted = Wanted()
        if type_id == "recommendation":
            tracks, wanted, _prefs_wanted, how = self._ground(text, preferences if use_prefs else [], reasons)
        seed = f"{text}|{character['id'] if character else ''}|{type_id}|{user}"
        rng = random.Random(seed)
        vocabulary = list((character or {}).get("words", {}).get("vocabulary") or []) or phrases.defaults.words
        values = {"user": user, "tracks": _quote_titles([t["title"] for t in tracks]), "need": wanted.need(),
                  "word": rng.choice(vocabulary), "character": (character or {}).get("name") or "",
                  "since": "", "preferences": " and ".join(preferences)}
        parts = [rng.choice(spec.openers)]
        if personal["enabled"]:
            since = _month_year(context.get("join_date")) if context.get("join_date") else None
            if since:
                values["since"] = since
                parts.append(rng.choice(phrases.personal.since))
            level = str(context.get("activity_level") or "").lower()
            if level in ("high", "very_high", "active", "regular"):
                parts.append(rng.choice(phrases.personal.regular))
            elif level in ("new", "newcomer", "low"):
                parts.append(rng.choice(phrases.personal.newcomer))
        if type_id == "recommendation":
            body = {"fit": spec.bodies, "popular": spec.popular}.get(how or "", spec.empty)
            parts.append(rng.choice(body))
            if use_prefs and preferences and how == "fit" and not any(uses(" ".join(parts), p) for p in preferences):
                parts.append(rng.choice(phrases.personal.preferences))
        else:
            parts.append(rng.choice(spec.bodies))
        if how != "empty":  # "nothing fits" already closes the thought
            parts.append(rng.choice(spec.closers))
        signoffs = list((character or {}).get("words", {}).get("signoffs") or [])
        parts.append(rng.choice(signoffs) if signoffs else rng.choice(phrases.defaults.signoffs))
        built_in = _fill(" ".join(parts), values)
        drafted_by = "studio"
        written = built_in
        llm = await self._ollama(platform, text, context if personal["enabled"] else {"username": user},
                                 type_id, spec.tone, character, tracks, how, wanted, reasons)
        if llm is not None:
            written, drafted_by = llm, f"ollama:{self.ctx.settings.ollama_model}"
        elif "drafted_by" in reasons:
            drafted_by = OLLAMA_FAILED
        limit = MAX_CHARS.get(platform, 2000)
        if len(written) > limit:
            written = written[: limit - 1].rstrip() + "…"
        score = personalization_score(written, context, tracks, wanted, phrases)
        if score is None:
            reasons["personalization_score"] = "no user context was given"
        return Draft(text=written, tone=spec.tone, response_type=type_id, drafted_by=drafted_by,
                     character_id=(character or {}).get("id"), tracks=tracks, personalization_score=score,
                     reasons=reasons)

    async def _ollama(self, platform: str, text: str, context: dict[str, Any], type_id: str, tone: str,
                      character: dict[str, Any] | None, tracks: list[dict[str, Any]], how: str | None,
                      wanted: Wanted, reasons: dict[str, str]) -> str | None:
        settings = self.ctx.settings
        if not settings.ollama_url:
            return None

        if character:
            traits = character.get("personality_traits") or {}
            system = (f"You are {character['name']}, a {character.get('genre')} music creator. Personality: "
                      f"{character.get('personality')}. Tone: {traits.get('content_tone', 'friendly')}; style: "
                      f"{traits.get('communication_style', 'casual')}. ")
        else:
            system = "You are a music creator answering your community. "
        system += (f"Write one short {platform} reply (at most 3 sentences) with a {tone.replace('_', ' ')} tone. "
                   "No hashtags. Never name a track that is not in the list you are given.")
        if type_id == "recommendation":
            if tracks:
                listed = "; ".join(f"'{t['title']}' ({t.get('style')}, {t.get('mood')})" for t in tracks)
                task = (f"Recommend these tracks from your library by their exact titles: {listed}. "
                        f"They fit {wanted.need()}.")
            else:
                task = (f"Your library has no track for {wanted.need()}: say so honestly and name no track.")
            if how == "popular":
                task += " They are your most played tracks."
        else:
            task = f"Answer as a {type_id} reply."
        details = ", ".join(f"{k}: {v}" for k, v in context.items() if v not in (None, "", []))
        prompt = (f"Message from {context.get('username') or 'a listener'}: {text}\n"
                  f"What you know about them: {details or 'nothing'}\n{task}")
        client = OllamaClient(settings.ollama_url, settings.ollama_model)
        try:
            written = await client.generate(prompt, system=system,
                                            temperature=float((character or {}).get("personality_traits", {})
                                                              .get("temperature", 0.7)), max_tokens=200)
        except OllamaUnavailable as exc:
            log.info("reply from the built-in writer: %s", exc)
            reasons["drafted_by"] = f"Ollama failed ({exc}); the built-in writer wrote this draft"
            return None
        written = re.sub(r"\s+", " ", written.replace("*", "")).strip().strip('"')
        return written or None


def personalization_score(text: str, context: dict[str, Any], tracks: list[dict[str, Any]], wanted: Wanted,
                          phrases: Bank) -> float | None:
    """100 × used items / given items of the user context (see the module docstring); None when none given."""
    given = 0
    used = 0
    grounded = " ".join(" ".join([t.get("style") or "", t.get("mood") or "", " ".join(t.get("tags") or [])])
                        for t in tracks)
    for key, value in context.items():
        if value in (None, "", []) or isinstance(value, dict):
            continue
        if isinstance(value, list):
            for item in value:
                item = str(item).strip()
                if not item:
                    continue
                given += 1
                item_wants = wanted_from([item], phrases.activities)
                picked = bool(tracks) and (
                    any(s in wanted.styles for s in item_wants.styles) or any(m in wanted.moods for m in item_wants.moods)
                    or uses(grounded, item))
                used += uses(text, item) or picked
            continue
        given += 1
        if key == "join_date":
            since = _month_year(value)
            used += bool(since) and since in text
        elif key == "activity_level":
            sentences = [*phrases.personal.regular, *phrases.personal.newcomer]
            used += any(s in text for s in sentences)
        else:
            used += uses(text, str(value))
    if not given:
        return None
    return round(100.0 * used / given, 1)


def _fill(template: str, values: dict[str, str]) -> str:
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=1)
def _sentiment_model() -> Any:
    """The area's sentiment model, for text that is not a stored message (POST /respond)."""
    from studio.services.community.sentiment import SentimentModel

    return SentimentModel()
