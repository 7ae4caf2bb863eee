"""What the community parts share: platforms, the errors callers catch, the 0-10 sentiment scale,
and the one serialisation of each stored row (message, member, reply) that every part, route and
panel uses.

Errors (each has `http_status` for the API layer):
- `CommunityError(ValueError)` 422: input the user can fix (bad config, unknown label, empty reply,
  unreadable import file; the message says what).
- `UnknownMessage`, `UnknownReply`, `UnknownMember`, `UnknownSource` (KeyError) 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from studio.connectors.messages import PLATFORMS
from studio.db.models import CommunityMember, CommunityMessage, CommunityReply
from studio.timeutil import iso

__all__ = ["PLATFORMS"]

SENTIMENT_LABELS = ("positive", "neutral", "negative")
MESSAGE_STATUSES = ("new", "read", "answered", "dismissed")
REPLY_STATUSES = ("draft", "approved", "sending", "sent", "failed", "discarded", "unconfirmed")
# Only bots may answer without a person's approval (platform rules: a YouTube reply is posted as the user).
AUTOMATABLE_PLATFORMS = ("discord", "telegram")
IMPORT_CHUNK = 2000  # messages stored per transaction by the ingest


class CommunityError(ValueError):
    """Input the user can fix; the message says what."""

    http_status = 422


class UnknownMessage(KeyError):
    http_status = 404


class UnknownReply(KeyError):
    http_status = 404


class UnknownMember(KeyError):
    http_status = 404


class UnknownSource(KeyError):
    http_status = 404


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def scale10(compound: float) -> float:
    """The seed's 0-10 sentiment scale: VADER's compound score (-1..1) mapped linearly,
    (compound + 1) * 5, so 5.0 is neutral, 0 the most negative and 10 the most positive."""
    return round((float(compound) + 1.0) * 5.0, 1)


def effective_label(row: CommunityMessage) -> str:
    """The user's correction when there is one, else the model's label."""
    return row.label_override or row.sentiment_label


def message_dict(row: CommunityMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "platform": row.platform,
        "channel_id": row.channel_id,
        "channel_name": row.channel_name,
        "external_id": row.external_id,
        "author": {"name": row.author_name, "member_id": row.member_id},
        "text": row.text,
        "sent_at": iso(row.sent_at),
        "received_at": iso(row.received_at),
        "is_mention": bool(row.is_mention),
        "needs_reply": bool(row.needs_reply),
        "from_self": bool(row.from_self),
        "status": row.status,
        "reactions": row.reactions,
        "reply_count": row.reply_count,
        "reply_to_external_id": row.reply_to_external_id,
        "sentiment": {
            "compound": round(row.sentiment_compound, 4),
            "score": scale10(row.sentiment_compound),
            "label": effective_label(row),
            "model_label": row.sentiment_label,
            "label_source": "user" if row.label_override else "model",
        },
        "imported_from": row.imported_from,
        "url": row.url,
        "content_id": row.content_id,
    }


def member_basics(row: CommunityMember) -> dict[str, Any]:
    """The stored part of a member; members.py adds the computed profile (activity, genres, score)."""
    return {
        "id": row.id,
        "username": row.username,
        "platform": row.platform,
        "external_id": row.external_id,
        "joined_at": iso(row.joined_at),
        "first_seen": iso(row.first_seen_at),
        "last_seen": iso(row.last_seen_at),
        "total_messages": row.message_count,
        "reactions_received": row.reactions_received,
        "replies_received": row.replies_received,
        "vip_status": bool(row.vip),
        "notes": row.notes,
    }


def reply_dict(row: CommunityReply) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "platform": row.platform,
        "channel_id": row.channel_id,
        "reply_to_external_id": row.reply_to_external_id,
        "text": row.text,
        "drafted_text": row.drafted_text,
        "edited": row.drafted_text is not None and row.text != row.drafted_text,
        "drafted_by": row.drafted_by,
        "character_id": row.character_id,
        "response_type": row.response_type,
        "tone": row.tone,
        "personalization_score": row.personalization_score,
        "grounded_track_ids": list(row.grounded_track_ids or []),
        "status": row.status,
        "auto": bool(row.auto),
        "approved_by": row.approved_by,
        "approved_at": iso(row.approved_at),
        "send_after": iso(row.send_after),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "sent_at": iso(row.sent_at),
        "platform_message_id": row.platform_message_id,
        "reactions": row.reactions,
        "created_at": iso(row.created_at),
    }
