"""What the community talks about: named topics (resources/community/topics.toml) and, as the
fallback, free keywords, each with its mentions and sentiment.

`CommunityTopics(ctx, clock=utcnow)`; public API:
- `topics(period_s, platform=None, limit=10) -> [{"topic", "label", "kind" ("named" | "keyword"),
  "mentions", "sentiment", "positive", "neutral", "negative"}]`, most mentioned first.

How the figures are computed, over the messages sent in the last `period_s` seconds (on one
platform or all; the newest `MAX_MESSAGES` = 20 000 of them when there are more), the user's own
messages (their bot's or channel's) left out:
- A message mentions a named topic when its text holds one of the topic's keywords as whole words
  (case-insensitive; "lo-fi", "lo fi" and "Lo_Fi" are the same words). `mentions` = the number of
  such messages (a message counts once per topic, and may count in several topics).
- When fewer than `limit` named topics were mentioned, free keywords fill the list: words of at
  least `min_length` letters used in at least `min_messages` messages, minus the stopwords and
  the named topics' keywords; `mentions` = the messages that use the word.
- `sentiment` = the mean of those messages' sentiment on the 0-10 scale, (compound + 1) x 5 of
  the model's VADER compound score, one decimal; `positive`/`neutral`/`negative` count them by
  their effective label (the user's correction when there is one).

The keyword matching (`PhraseMatcher`) is shared with the member profiles (genre words).
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import func, select

from studio.db.models import CommunityMessage
from studio.resources import resource_path
from studio.services.community.common import PLATFORMS, CommunityError, scale10
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context

TOPICS_FILE = resource_path("community", "topics.toml")
MAX_PERIOD_S = 5 * 365 * 86400
MAX_MESSAGES = 20_000  # the newest of the period read: ~0.3 s of matching, enough to rank topics
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Words: letters, digits, & (r&b, d&b) and apostrophes inside (doesn't); the rest separates.
_WORD = re.compile(r"[0-9a-z&]+(?:'[0-9a-z]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def words(text: str) -> list[str]:
    """The words of `text` as the matcher reads them (lower case; "Lo-Fi" -> ["lo", "fi"])."""
    return _WORD.findall(text.lower().translate(_APOSTROPHES))


class PhraseMatcher:
    """Finds whole-word keywords and phrases in text: each keyword maps to a key (a topic id, a style id).
    Matching looks up the text's 1..n word sequences in a dict, so it costs the same for 10 or
    1000 keywords."""

    def __init__(self, terms: Mapping[str, str]) -> None:
        self._keys: dict[str, str] = {}
        for term, key in terms.items():
            phrase = " ".join(words(term))
            if phrase:
                self._keys[phrase] = key
        self._longest = max((p.count(" ") + 1 for p in self._keys), default=0)
        self._starts = {p.split(" ", 1)[0] for p in self._keys if " " in p}  # first words of phrases

    def __contains__(self, phrase: str) -> bool:
        return phrase in self._keys

    def matches(self, text: str) -> list[str]:
        """The key of every keyword occurrence in `text`, in order (repeats kept)."""
        return self.match_words(words(text))

    def match_words(self, tokens: list[str]) -> list[str]:
        """`matches` on text already split by `words`; the longest phrase at a position wins and
        its words are not read again ("lo-fi hip hop" is one match, not also "hip hop")."""
        found: list[str] = []
        keys, starts, longest = self._keys, self._starts, self._longest
        i, end = 0, len(tokens)
        while i < end:
            token, key, size = tokens[i], None, 1
            if token in starts:
                for n in range(min(longest, end - i), 1, -1):
                    key = keys.get(" ".join(tokens[i:i + n]))
                    if key is not None:
                        size = n
                        break
            if key is None:
                key = keys.get(token)
            if key is not None:
                found.append(key)
            i += size
        return found


@dataclass(frozen=True)
class TopicsConfig:
    labels: dict[str, str]  # topic id -> label
    keywords: dict[str, str]  # keyword -> topic id
    min_length: int
    min_messages: int
    stopwords: frozenset[str]
    genre_ignore: frozenset[str]  # style-catalogue words not read as genres in chat


def load_topics(path: Path | None = None) -> TopicsConfig:
    """Read and check topics.toml; ValueError naming the entry to fix."""
    path = path or TOPICS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    topics = data.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise ValueError(f"{path.name}: no [topics.<id>] tables")
    labels: dict[str, str] = {}
    keywords: dict[str, str] = {}
    for topic_id, entry in topics.items():
        where = f"{path.name}: [topics.{topic_id}]"
        if not _TOPIC_ID.match(topic_id):
            raise ValueError(f"{where}: ids are lower case letters, digits and underscores")
        if not isinstance(entry, dict) or set(entry) - {"label", "keywords"}:
            raise ValueError(f"{where}: only `label` and `keywords` are read")
        label, terms = entry.get("label"), entry.get("keywords")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{where}: `label` must be a non-empty string")
        if not isinstance(terms, list) or not terms:
            raise ValueError(f"{where}: `keywords` must be a non-empty list of strings")
        labels[topic_id] = label.strip()
        for term in terms:
            if not isinstance(term, str) or not words(term) or term != term.lower():
                raise ValueError(f"{where}: keyword {term!r} must be lower-case text with at least one word")
            phrase = " ".join(words(term))
            if phrase in keywords and keywords[phrase] != topic_id:
                raise ValueError(f"{where}: keyword {term!r} is already in [topics.{keywords[phrase]}]")
            keywords[phrase] = topic_id
    free = data.get("keywords", {})
    min_length, min_messages = free.get("min_length", 4), free.get("min_messages", 2)
    if not isinstance(min_length, int) or not 2 <= min_length <= 20:
        raise ValueError(f"{path.name}: [keywords] min_length must be an integer 2-20")
    if not isinstance(min_messages, int) or min_messages < 1:
        raise ValueError(f"{path.name}: [keywords] min_messages must be an integer >= 1")
    stopwords = free.get("stopwords", [])
    ignore = data.get("genres", {}).get("ignore", [])
    for name, values in (("[keywords] stopwords", stopwords), ("[genres] ignore", ignore)):
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError(f"{path.name}: {name} must be a list of non-empty strings")
    return TopicsConfig(labels=labels, keywords=keywords, min_length=min_length, min_messages=min_messages,
                        stopwords=frozenset(w.replace("'", "") for w in stopwords),
                        genre_ignore=frozenset(" ".join(words(v)) for v in ignore))


_config_lock = threading.Lock()
_config: TopicsConfig | None = None


def topics_config() -> TopicsConfig:
    """topics.toml, read once per process."""
    global _config
    with _config_lock:
        if _config is None:
            _config = load_topics()
        return _config


def check_platform(platform: str | None) -> str | None:
    """None/"all" -> None (every platform); a known platform; CommunityError otherwise."""
    if platform in (None, "", "all"):
        return None
    if platform not in PLATFORMS:
        raise CommunityError(f"platform must be 'all' or one of: {', '.join(PLATFORMS)} (got {platform!r})")
    return platform


def count_topics(rows: Iterable[tuple[str, float, str]], config: TopicsConfig, limit: int) -> list[dict[str, Any]]:
    """The topic list from (text, compound, effective label) rows: pure, for tests and the service."""
    matcher = PhraseMatcher(config.keywords)
    named: dict[str, list] = defaultdict(list)
    texts: list[tuple[list[str], float, str]] = []
    for text, compound, label in rows:
        tokens = words(text)
        texts.append((tokens, compound, label))
        for topic_id in set(matcher.match_words(tokens)):
            named[topic_id].append((compound, label))
    result = [_topic(topic_id, config.labels[topic_id], "named", hits) for topic_id, hits in named.items()]
    result.sort(key=lambda t: (-t["mentions"], t["topic"]))
    if len(result) < limit:
        free: dict[str, list] = defaultdict(list)
        for tokens, compound, label in texts:
            for word in {w.replace("'", "") for w in tokens if len(w) >= config.min_length}:
                if word.isalpha() and word not in config.stopwords and word not in matcher:
                    free[word].append((compound, label))
        extra = [_topic(word, word, "keyword", hits) for word, hits in free.items()
                 if len(hits) >= config.min_messages]
        extra.sort(key=lambda t: (-t["mentions"], t["topic"]))
        result.extend(extra)
    return result[:limit]


def _topic(topic: str, label: str, kind: str, hits: list[tuple[float, str]]) -> dict[str, Any]:
    labels = Counter(label for _compound, label in hits)
    mean = sum(compound for compound, _label in hits) / len(hits)
    return {"topic": topic, "label": label, "kind": kind, "mentions": len(hits), "sentiment": scale10(mean),
            "positive": labels["positive"], "neutral": labels["neutral"], "negative": labels["negative"]}


class CommunityTopics:
    def __init__(self, ctx: "Context", *, clock: Callable[[], datetime] = utcnow) -> None:
        self._ctx = ctx
        self.clock = clock

    def topics(self, period_s: int, platform: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        if not 0 < int(period_s) <= MAX_PERIOD_S:
            raise CommunityError("the period must be between 1 second and 5 years")
        if not 1 <= limit <= 100:
            raise CommunityError("limit must be 1-100")
        platform = check_platform(platform)
        since = self.clock() - timedelta(seconds=int(period_s))
        m = CommunityMessage
        query = (select(m.text, m.sentiment_compound, func.coalesce(m.label_override, m.sentiment_label))
                 .where(m.sent_at >= since, m.from_self == 0).order_by(m.sent_at.desc()).limit(MAX_MESSAGES))
        if platform:
            query = query.where(m.platform == platform)
        with self._ctx.db.session() as session:
            rows = session.execute(query).all()
        return count_topics(rows, topics_config(), limit)
