"""The training-data export (seed 000 GET /api/community/training-data): what the community wrote
and what was answered, and the sentiment labels the user corrected, as JSON, JSONL or CSV.

`TrainingData(ctx, clock=utcnow)`; public API:
- `export(format, period_days) -> (media_type, body)`: `format` "json" -> ("application/json", dict),
  "jsonl" -> ("application/x-ndjson", bytes), "csv" -> ("text/csv; charset=utf-8", bytes). The
  JSON dict: `{"period_days", "total_interactions", "successful_responses", "training_samples",
  "labelled_messages", "skipped", "basis", "reasons"}`. JSONL holds one object per line, samples
  (`"kind": "reply"`) then corrections (`"kind": "label"`); CSV the same rows under `CSV_COLUMNS`.

A training sample is one answered message, answered within the period:
- a reply the studio kept and sent (`community_replies`, status sent): `drafted_by` is who wrote the
  text ("studio", "ollama:<model>", or "person" for one typed in the studio), `drafted_by_studio`
  whether the studio wrote it, `edited` whether a person changed the studio's draft before sending,
  `approved_by` who approved it (an API key's name or the signed-in user) and `auto` whether it
  went out without approval (automation on a Discord/Telegram bot);
- a reply the user wrote on the platform itself, read back (their bot's or channel's message
  answering a stored one, not one the studio sent): `drafted_by` "person (on the platform)",
  `approved_by` null.
`input` is the message answered; `input_sentiment` its effective label and `label_source` whether the
user corrected it. `engagement` = the reactions the sent reply received as last read from the
platform, or on its copy read back with the channel's messages (null until either exists). Replies drafted for POST /api/community/respond have no stored
message to pair with: they are counted under `skipped`.
`total_interactions` = messages from the community sent in the period; `successful_responses` =
the samples. `labelled_messages` = messages of the period whose label the user corrected:
`{"text", "label" (the user's), "model_label", "platform", "labelled_at"}`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from studio.db.models import CommunityMessage, CommunityReply
from studio.services.community.common import CommunityError, effective_label
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

FORMATS = {"json": "application/json", "jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
MAX_PERIOD_DAYS = 5 * 365
MAX_ROWS = 100_000  # samples and corrections each: the newest first
CSV_COLUMNS = ("kind", "platform", "input", "response", "engagement", "drafted_by", "drafted_by_studio", "edited",
               "drafted_text", "approved_by", "auto", "input_sentiment", "label_source", "model_label",
               "response_type", "character_id", "sent_at", "message_id", "reply_id")
PERSON_ON_PLATFORM = "person (on the platform)"


class TrainingData:
    def __init__(self, ctx: "Context", *, clock: Callable[[], datetime] = utcnow) -> None:
        self._ctx = ctx
        self.clock = clock

    def export(self, format: str, period_days: int) -> tuple[str, Any]:
        if format not in FORMATS:
            raise CommunityError(f"format must be one of: {', '.join(FORMATS)}")
        if not 1 <= period_days <= MAX_PERIOD_DAYS:
            raise CommunityError(f"the period must be 1-{MAX_PERIOD_DAYS} days")
        data = self.collect(period_days)
        if format == "json":
            return FORMATS["json"], data
        rows = [{"kind": "reply", **s} for s in data["training_samples"]]
        rows += [{"kind": "label", "input": item["text"], "input_sentiment": item["label"], "label_source": "user",
                  "model_label": item["model_label"], "platform": item["platform"], "sent_at": item["sent_at"],
                  "message_id": item["message_id"]} for item in data["labelled_messages"]]
        if format == "jsonl":
            body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            return FORMATS["jsonl"], body.encode("utf-8")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return FORMATS["csv"], out.getvalue().encode("utf-8")

    def collect(self, period_days: int) -> dict[str, Any]:
        since = self.clock() - timedelta(days=period_days)
        m, r = CommunityMessage, CommunityReply
        own = aliased(CommunityMessage)
        with self._ctx.db.session() as session:
            interactions = session.scalar(select(func.count()).select_from(m)
                                          .where(m.sent_at >= since, m.from_self == 0)) or 0
            studio_rows = session.execute(
                select(r, m).join(m, r.message_id == m.id)
                .where(r.status == "sent", r.sent_at >= since).order_by(r.sent_at.desc()).limit(MAX_ROWS)).all()
            skipped = session.scalar(select(func.count()).select_from(r).where(
                r.status == "sent", r.sent_at >= since, r.message_id.is_(None))) or 0
            # the user's own messages read back that answer a stored message of the same channel
            own_rows = session.execute(
                select(own, m).join(m, and_(m.platform == own.platform, m.channel_id == own.channel_id,
                                            m.external_id == own.reply_to_external_id))
                .where(own.from_self == 1, own.sent_at >= since).order_by(own.sent_at.desc()).limit(MAX_ROWS)).all()
            corrected = session.scalars(select(m).where(m.label_override.is_not(None), m.sent_at >= since)
                                        .order_by(m.sent_at.desc()).limit(MAX_ROWS)).all()
        # a reply the studio sent comes back from the platform as the user's own message: its
        # reactions are the reply's engagement, and it is not a second sample
        read_back = {(a.platform, a.channel_id, a.external_id): a.reactions for a, _m in own_rows}
        samples = []
        sent_keys = set()
        for reply, message in studio_rows:
            key = (reply.platform, reply.channel_id, reply.platform_message_id)
            sent_keys.add(key)
            samples.append(self._studio_sample(reply, message, read_back.get(key)))
        samples += [self._own_sample(answer, message) for answer, message in own_rows
                    if (answer.platform, answer.channel_id, answer.external_id) not in sent_keys]
        samples.sort(key=lambda s: s["sent_at"] or "", reverse=True)
        samples = samples[:MAX_ROWS]
        reasons = {}
        if not samples:
            reasons["training_samples"] = "no reply was sent in the period (approve drafts in the Community inbox)"
        return {
            "period_days": period_days,
            "total_interactions": interactions,
            "successful_responses": len(samples),
            "training_samples": samples,
            "labelled_messages": [{"text": row.text, "label": row.label_override, "model_label": row.sentiment_label,
                                   "platform": row.platform, "labelled_at": iso(row.labelled_at),
                                   "sent_at": iso(row.sent_at), "message_id": row.id} for row in corrected],
            "skipped": {"replies_without_stored_message": skipped},
            "basis": ("samples: replies sent in the period (by the studio after approval or automatically, or "
                      "written by you on the platform) paired with the message they answer; engagement = "
                      "reactions on the sent reply as last read"),
            "reasons": reasons,
        }

    @staticmethod
    def _input(message: CommunityMessage) -> dict[str, Any]:
        return {"input": message.text, "platform": message.platform, "input_sentiment": effective_label(message),
                "label_source": "user" if message.label_override else "model", "model_label": message.sentiment_label,
                "message_id": message.id}

    def _studio_sample(self, reply: CommunityReply, message: CommunityMessage,
                       read_back_reactions: int | None) -> dict[str, Any]:
        engagement = reply.reactions if reply.reactions is not None else read_back_reactions
        return {**self._input(message), "response": reply.text, "engagement": engagement,
                "drafted_by": reply.drafted_by, "drafted_by_studio": reply.drafted_by != "person",
                "edited": reply.drafted_text is not None and reply.text != reply.drafted_text,
                "drafted_text": reply.drafted_text, "approved_by": reply.approved_by, "auto": bool(reply.auto),
                "response_type": reply.response_type, "character_id": reply.character_id,
                "sent_at": iso(reply.sent_at), "reply_id": reply.id}

    def _own_sample(self, answer: CommunityMessage, message: CommunityMessage) -> dict[str, Any]:
        return {**self._input(message), "response": answer.text, "engagement": answer.reactions,
                "drafted_by": PERSON_ON_PLATFORM, "drafted_by_studio": False, "edited": False, "drafted_text": None,
                "approved_by": None, "auto": False, "response_type": None, "character_id": None,
                "sent_at": iso(answer.sent_at), "reply_id": None}
