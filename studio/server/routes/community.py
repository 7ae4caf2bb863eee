"""Seed 000 "Automated Community Empire API": /api/community/... (the `{"status": ...}` family).

The nine seed paths (initialize, analytics, respond, sentiment, members, config, platforms,
engagement, training-data) plus what the Community panel does, for scripting: the inbox (messages,
one message with its thread, label and status corrections, a draft for a message), the outbox
(replies: list, edit, approve, discard), a member's VIP mark, the sources (list, enable/configure/
token, poll now) and importing an export file. Every handler is a thin shell over
`services.community` (settings, inbox, members, insights, training, drafts, outbox, sources, live,
imports); the formulas are documented in those modules and shown with the endpoints here (/docs).

The whole family is one rate-limit group, `/api/community/` (200 per hour by default, like the seed;
`rate_limits` in the settings). Numbers the studio cannot know are `null` with a `reasons` entry;
tokens are write-only. A reply is approved in the caller's name (the API key's name or the
signed-in user), which the training-data export shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server.errors import ApiError, not_found, ok
from studio.server.keys import IDENTITY, SERVICES
from studio.server.multipart import FileTooLargeError, FormError, read_form
from studio.server.routing import CREDENTIAL_PATTERN, MAX_OFFSET, RouteTable
from studio.server.schemas.community import (
    CommunityAnalyticsOut,
    CommunityConfigOut,
    CommunityConfigUpdatedOut,
    CommunityEngagementOut,
    CommunityImportPreviewOut,
    CommunityImportResultOut,
    CommunityInitializeOut,
    CommunityMemberOut,
    CommunityMembersOut,
    CommunityMessageDetailOut,
    CommunityMessageOut,
    CommunityMessagesOut,
    CommunityPlatformsOut,
    CommunityPollOut,
    CommunityRepliesOut,
    CommunityReplyOut,
    CommunityRespondOut,
    CommunitySentimentOut,
    CommunitySourceOut,
    CommunitySourcesOut,
    CommunityTrainingDataOut,
)
from studio.services.community.common import (
    MESSAGE_STATUSES,
    REPLY_STATUSES,
    SENTIMENT_LABELS,
    CommunityError,
    UnknownMember,
    UnknownMessage,
    UnknownReply,
    UnknownSource,
)
from studio.services.community.imports import MAX_IMPORT_BYTES
from studio.services.community.insights import UnknownContent
from studio.services.community.settings import MAX_DELAY_S, PROMOTION_FREQUENCIES
from studio.services.music.statistics import parse_period_days

routes = RouteTable()
TAGS = ["community"]
NOT_FOUND = ((UnknownMessage, "message"), (UnknownReply, "reply"), (UnknownMember, "member"),
             (UnknownSource, "source"), (UnknownContent, "content"))
Platform = Literal["all", "discord", "telegram", "youtube"]
NOT_BLANK = r"\S"  # the services strip text: one of only spaces is refused
REPLY_STATUS_LIST = (r"^\s*({0})\s*(,\s*({0})\s*)*$".format("|".join(REPLY_STATUSES)))


def _community(request: web.Request):
    return request.app[SERVICES].community


@contextmanager
def _errors(parameter: str | None = None) -> Iterator[None]:
    """The service's errors in the documented shape: 422 with its message, 404 for an unknown id."""
    try:
        yield
    except CommunityError as exc:
        raise ApiError(422, str(exc), details={"parameter": parameter} if parameter else None) from None
    except KeyError as exc:
        for kind, what in NOT_FOUND:
            if isinstance(exc, kind):
                raise not_found(what, str(exc.args[0]) if exc.args else "?") from None
        raise


def _days(value: str, parameter: str) -> int:
    try:
        return parse_period_days(value)
    except ValueError as exc:
        raise ApiError(422, str(exc), details={"parameter": parameter, "value": value}) from None


def _caller(request: web.Request) -> str:
    """Who approves: the API key's name ("<name> (API key)") or the signed-in user's name."""
    identity = request.get(IDENTITY)
    if identity is None:
        return "unknown caller"
    if identity.kind == "api_key":
        names = {k["id"]: k["name"] for k in request.app[SERVICES].auth.list_keys(include_revoked=True)}
        return f"{names.get(identity.subject, identity.subject)} (API key)"
    return identity.subject


# --- the seed's nine paths ---------------------------------------------------------------------
@routes.post("/api/community/initialize", summary="Initialize community management", tags=TAGS,
             response=CommunityInitializeOut)
async def community_initialize(request: web.Request) -> web.Response:
    """Marks the community area initialised (the first call only; later calls change nothing and say
    so) and reports where it stands. platforms_connected = enabled sources whose last check or poll
    succeeded; automation_level = the configured share of Discord/Telegram messages answered without
    approval; estimated_daily_interactions = messages sent in the last 7 days / 7 (null, with the
    reason under `reasons`, when there are none)."""
    return ok(_community(request).settings.initialize())


# days, weeks, months (30 days) or years; hours round up to a day (parse_period_days)
PERIOD_DAYS = r"^\s*[0-9]+[hdwmyHDWMY]\s*$"


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(default="7d", max_length=40, pattern=PERIOD_DAYS,
                        description="A number and a unit: h (rounded up to a day), d, w, m (30 days), y; "
                                    "e.g. 1d, 7d, 30d, 12w, 1y; at most 5 years")


@routes.get("/api/community/analytics", summary="Community overview: members, interactions, sentiment, growth",
            tags=TAGS, query=AnalyticsQuery, response=CommunityAnalyticsOut,
            responses={422: "Invalid parameter, or a period that is not a number and a unit or is over 5 years"})
async def community_analytics(request: web.Request, query: AnalyticsQuery) -> web.Response:
    """Figures over the period (the messages sent within it) and the one before it. Sentiment uses a
    0-10 scale (5 neutral). total_members = members stored; daily_interactions = messages in the
    period / its days; automation_percentage = replies sent automatically / replies sent x 100;
    sentiment_score = mean sentiment of the community's messages; growth_rate = members first seen in
    the period / members seen before it x 100; engagement_improvement = the change of reactions per
    message against the previous period, in percent. Per platform: members, daily_messages,
    ai_responses (replies the studio drafted that were sent) and sentiment. A figure that cannot be
    computed is null, with the reason under `reasons`."""
    days = _days(query.period, "period")
    with _errors("period"):
        result = _community(request).insights.overview(days)
    return ok({"period": query.period, **result})


class UserContextIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    username: str | None = Field(default=None, max_length=200)
    join_date: str | None = Field(default=None, max_length=40)
    activity_level: str | None = Field(default=None, max_length=40)
    preferences: list[str] | None = Field(default=None, max_length=50)


class RespondIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Literal["discord", "telegram", "youtube"]
    message_content: str = Field(min_length=1, max_length=20000, pattern=NOT_BLANK,
                                 description="The message to answer (not only spaces).")
    user_context: UserContextIn | None = None
    response_type: str | None = Field(default=None, max_length=64,
                                      description="e.g. helpful_recommendation; read from the message when absent.")
    character_id: str | None = Field(default=None, max_length=64, description="A voice character (GET /api/voice/list).")


@routes.post("/api/community/respond", summary="Draft a reply (stored as a draft; a person approves it)",
             tags=TAGS, body=RespondIn, response=CommunityRespondOut,
             responses={422: "Invalid parameter, or an unknown character_id or response_type"})
async def respond(request: web.Request, body: RespondIn) -> web.Response:
    """The built-in writer (or the Ollama model in Settings) drafts in a character's voice, grounded in
    the Library. personalization_score = share of the given user context the reply uses;
    estimated_engagement = mean reactions on recent sent replies, or null with the reason."""
    context = body.user_context.model_dump(exclude_none=True) if body.user_context else None
    with _errors():
        response = await _community(request).drafts.respond(
            platform=body.platform, message_content=body.message_content, user_context=context,
            response_type=body.response_type, character_id=body.character_id)
    return ok({"response": response})


class SentimentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Platform = "all"
    period: str = Field(default="24h", max_length=40, pattern=r"^\s*\d{1,5}\s*[hdwmyHDWMY]\s*$",
                        description="A number and a unit: h, d, w, m (30 days), y; e.g. 24h, 7d, 2w, 1m, 1y; "
                                    "at most 5 years")


@routes.get("/api/community/sentiment", summary="Sentiment per platform, its trend and trending topics",
            tags=TAGS, query=SentimentQuery, response=CommunitySentimentOut,
            responses={422: "Invalid parameter, or a period over 5 years"})
async def sentiment(request: web.Request, query: SentimentQuery) -> web.Response:
    """Over the messages the community sent in the period (your own left out), on a 0-10 scale (5
    neutral): score = their mean; change = score minus the previous period's score ("+1.2"); trend =
    improving or declining when the change is at least 0.2 either way, else stable (null when one of
    the two periods has no message). Per platform the messages are counted by their label (your
    correction when there is one). trending_topics: the studio's named topics and, after them,
    frequent keywords, most mentioned first, each with its mean sentiment."""
    with _errors("period"):
        return ok(_community(request).insights.sentiment(query.platform, query.period))


class MembersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Platform = "all"
    status: Literal["active", "inactive", "vip"] | None = None
    search: str | None = Field(default=None, max_length=200, description="Part of a username.")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@routes.get("/api/community/members", summary="Members with their computed profile", tags=TAGS,
            query=MembersQuery, response=CommunityMembersOut)
async def members(request: web.Request, query: MembersQuery) -> web.Response:
    """The people seen writing, most recently seen first. total_members and active_members (seen in the
    last 30 days) count the platform's members (all platforms without one); matched counts those every
    filter keeps. Each profile: join_date = the platform's join date when it gave one, else the first
    message seen; activity_level from the messages per day over the last 30 days (high: at least 1 a
    day, medium: at least 1 a week, low: fewer, inactive: none); favorite_genres = the styles they
    name most (at most 3); engagement_score = 10 x r / (r + 1), r = reactions and replies their
    messages received per message (0-10, 5.0 at one per message); vip_status = your mark."""
    with _errors():
        return ok(_community(request).members.list_members(
            platform=query.platform, status=query.status, search=query.search, limit=query.limit,
            offset=query.offset))


class ResponseDelayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_seconds: float | None = Field(default=None, ge=0, le=MAX_DELAY_S)
    max_seconds: float | None = Field(default=None, ge=0, le=MAX_DELAY_S)


class PersonalizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    use_member_history: bool | None = None
    mention_preferences: bool | None = None


class ContentPromotionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    frequency: Literal[tuple(PROMOTION_FREQUENCIES)] | None = None  # type: ignore[valid-type]
    max_per_day: int | None = Field(default=None, ge=0, le=100)
    target_engagement: float | None = Field(default=None, ge=0, le=10)


class CommunityConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    automation_level: float | None = Field(
        default=None, ge=0, le=100, description="Percent of incoming Discord/Telegram messages answered without "
                                                "approval (0 by default; YouTube replies always wait for a person).")
    response_delay: ResponseDelayIn | None = None
    personalization: PersonalizationIn | None = None
    content_promotion: ContentPromotionIn | None = Field(
        default=None, description="Stored; the studio does not post promotions on its own yet (see not_applied).")
    character_id: str | None = Field(default=None, max_length=64)


@routes.put("/api/community/config", summary="Automation level, response delay, personalisation", tags=TAGS,
            body=CommunityConfigIn, response=CommunityConfigUpdatedOut,
            responses={422: "Invalid parameter, no setting sent, or settings that contradict each other "
                            "(e.g. response_delay.max_seconds below min_seconds)"})
async def update_community_config(request: web.Request, body: CommunityConfigIn) -> web.Response:
    """Stores the settings sent (all of them or none) and answers with the whole configuration.
    automation_level (0-100, 0 by default) is the share of incoming Discord and Telegram messages the
    studio answers without approval (YouTube replies always wait for a person); an automatic reply
    waits between response_delay.min_seconds and max_seconds. content_promotion is stored but not
    acted on yet (see not_applied). estimated_daily_responses = the Discord/Telegram messages
    addressed to you in the last 7 days / 7 x automation_level / 100: 0 when automation is off, null
    (with the reason) when no such message arrived in 7 days."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(422, "send at least one setting: " + ", ".join(CommunityConfigIn.model_fields),
                       details={"parameter": "body"})
    with _errors("body"):
        return ok(_community(request).settings.update_config(changes))


@routes.get("/api/community/config", summary="The community configuration", tags=TAGS,
            response=CommunityConfigOut)
async def community_config(request: web.Request) -> web.Response:
    return ok({"config": _community(request).settings.config()})


@routes.get("/api/community/platforms", summary="Platform connection status and activity", tags=TAGS,
            response=CommunityPlatformsOut)
async def community_platforms(request: web.Request) -> web.Response:
    """status: connected (the last check or poll succeeded), connecting, error (with `error`), disabled.
    bot_online (Discord, Telegram): the source is on and its last check or poll succeeded.
    daily_messages = messages of the last 24 h; last_response = the newest reply sent there."""
    return ok({"platforms": _community(request).insights.platforms()})


class EngagementQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK,
                            description="A track id (trk_...) or generation id (gen_...).")


@routes.get("/api/community/engagement", summary="Community engagement with one track", tags=TAGS,
            query=EngagementQuery, response=CommunityEngagementOut,
            responses={404: "The id is neither a Library track or generation nor referred to by any message"})
async def engagement(request: web.Request, query: EngagementQuery) -> web.Response:
    """The messages that refer to the track: linked to it, or naming its id or its title (titles of at
    least 4 characters). comments = those not written by you; likes = the reactions on all of them;
    total_interactions = likes + comments; engagement_rate = distinct members who wrote about it /
    members on those platforms x 100. shares and saves are null: no connected platform reports them.
    recommendations_sent = sent replies that recommended the track."""
    with _errors("content_id"):
        return ok(_community(request).insights.engagement(query.content_id))


class TrainingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "jsonl", "csv"] = "json"
    period: str = Field(default="30d", max_length=40, pattern=PERIOD_DAYS,
                        description="A number and a unit: h (rounded up to a day), d, w, m (30 days), y; "
                                    "e.g. 7d, 30d, 12w, 1y; at most 5 years")


@routes.get("/api/community/training-data", summary="Messages and the replies sent to them, for training",
            tags=TAGS, query=TrainingQuery, response=CommunityTrainingDataOut,
            media={"application/x-ndjson": "text", "text/csv": "text"},
            responses={422: "Invalid parameter, or a period over 5 years"})
async def training_data(request: web.Request, query: TrainingQuery) -> web.StreamResponse:
    """format=json answers with the figures and the samples as JSON; jsonl (one object a line: samples
    with "kind": "reply", then label corrections with "kind": "label") and csv (the same rows) answer
    with a file to save. A training sample is a message answered within the period, with the reply
    sent: by the studio (after approval, or automatically) or written by you on the platform.
    engagement = the reactions the sent reply received as last read (null until read).
    total_interactions = messages from the community in the period; successful_responses = the
    samples; labelled_messages = messages whose sentiment label you corrected."""
    days = _days(query.period, "period")
    with _errors("format"):
        media_type, body = _community(request).training.export(query.format, days)
    if query.format == "json":
        return ok({"period": query.period, **body})
    content_type, _, params = media_type.partition(";")
    charset = params.split("=", 1)[1].strip() if "charset=" in params else None
    filename = f"community-training-{query.period}.{query.format}"
    return web.Response(body=body, content_type=content_type.strip(), charset=charset,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the inbox ----------------------------------------------------------------------------------
class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Platform = "all"
    needs_reply: bool | None = None
    mentions: bool | None = None
    sentiment: Literal[tuple(SENTIMENT_LABELS)] | None = None  # type: ignore[valid-type]
    status: Literal[tuple(MESSAGE_STATUSES)] | None = None  # type: ignore[valid-type]
    search: str | None = Field(default=None, max_length=200, description="Part of the text or the author's name.")
    member_id: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@routes.get("/api/community/messages", summary="The inbox: messages of every platform, newest first", tags=TAGS,
            query=MessagesQuery, response=CommunityMessagesOut)
async def messages(request: web.Request, query: MessagesQuery) -> web.Response:
    with _errors():
        return ok(_community(request).inbox.messages(**query.model_dump()))


@routes.get("/api/community/messages/{message_id}", summary="One message, its thread and its drafted replies",
            tags=TAGS, response=CommunityMessageDetailOut, responses={404: "No message with that id"})
async def message(request: web.Request) -> web.Response:
    with _errors():
        return ok({"message": _community(request).inbox.message(request.match_info["message_id"])})


class MessagePatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Literal[tuple(SENTIMENT_LABELS)] | None = Field(  # type: ignore[valid-type]
        default=None, description="Your sentiment label (null: back to the model's); kept and exported.")
    status: Literal[tuple(MESSAGE_STATUSES)] | None = None  # type: ignore[valid-type]


@routes.patch("/api/community/messages/{message_id}", summary="Correct a message's sentiment label or status",
              tags=TAGS, body=MessagePatchIn, response=CommunityMessageOut,
              responses={404: "No message with that id",
                         422: "Invalid parameter, neither label nor status sent, or status null"})
async def patch_message(request: web.Request, body: MessagePatchIn) -> web.Response:
    message_id = request.match_info["message_id"]
    inbox = _community(request).inbox
    if not body.model_fields_set & {"label", "status"}:
        raise ApiError(422, "send label and/or status", details={"parameter": "body"})
    with _errors():
        result = None
        if "label" in body.model_fields_set:
            result = inbox.set_label(message_id, body.label)
        if "status" in body.model_fields_set:
            if body.status is None:
                raise ApiError(422, f"status must be one of: {', '.join(MESSAGE_STATUSES)}",
                               details={"parameter": "status"})
            result = inbox.set_status(message_id, body.status)
    return ok({"message": result})


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    character_id: str | None = Field(default=None, max_length=64)
    response_type: str | None = Field(default=None, max_length=64)


@routes.post("/api/community/messages/{message_id}/draft", summary="Draft a reply to a stored message", tags=TAGS,
             body=DraftIn, response=CommunityReplyOut,
             responses={404: "No message with that id",
                        422: "Invalid parameter, or an unknown character_id or response_type"})
async def draft(request: web.Request, body: DraftIn) -> web.Response:
    with _errors():
        reply = await _community(request).drafts.draft_for_message(
            request.match_info["message_id"], character_id=body.character_id, response_type=body.response_type)
    return ok({"reply": reply})


# --- the outbox ---------------------------------------------------------------------------------
class RepliesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(default=None, max_length=200, pattern=REPLY_STATUS_LIST,
                               description="One status or several, comma-separated: " + ", ".join(REPLY_STATUSES))
    message_id: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=500)


@routes.get("/api/community/replies", summary="Drafted, queued and sent replies, newest first", tags=TAGS,
            query=RepliesQuery, response=CommunityRepliesOut)
async def replies(request: web.Request, query: RepliesQuery) -> web.Response:
    if query.status:
        unknown = [s for s in (p.strip() for p in query.status.split(",")) if s not in REPLY_STATUSES]
        if unknown:
            raise ApiError(422, f"unknown status {unknown[0]!r}; statuses: {', '.join(REPLY_STATUSES)}",
                           details={"parameter": "status"})
    outbox = _community(request).outbox
    return ok({"replies": outbox.list_replies(query.status, message_id=query.message_id, limit=query.limit)})


class ReplyTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20000, pattern=NOT_BLANK,
                      description="The new words (not only spaces; at most 2000 characters on Discord, 4096 on "
                                  "Telegram, 10000 on YouTube).")


@routes.get("/api/community/replies/{reply_id}", summary="One reply: its text, status and where it was sent",
            tags=TAGS, response=CommunityReplyOut, responses={404: "No reply with that id"})
async def get_reply(request: web.Request) -> web.Response:
    with _errors():
        return ok({"reply": _community(request).outbox.get(request.match_info["reply_id"])})


@routes.patch("/api/community/replies/{reply_id}", summary="Edit a reply not yet sent", tags=TAGS,
              body=ReplyTextIn, response=CommunityReplyOut,
              responses={404: "No reply with that id",
                         422: "Invalid parameter, a text longer than the platform takes, or a reply that is "
                              "already sending, sent or discarded"})
async def edit_reply(request: web.Request, body: ReplyTextIn) -> web.Response:
    with _errors("text"):
        return ok({"reply": _community(request).outbox.edit(request.match_info["reply_id"], body.text)})


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, min_length=1, max_length=20000, pattern=NOT_BLANK,
                             description="The edited words (not only spaces); the draft's when absent.")


@routes.post("/api/community/replies/{reply_id}/approve", summary="Approve a reply: it is sent once", tags=TAGS,
             body=ApproveIn, response=CommunityReplyOut,
             responses={404: "No reply with that id",
                        422: "Invalid parameter; a reply that is not a draft, failed or unconfirmed; a draft of "
                             "POST /respond (it answers no stored message); or a text longer than the platform "
                             "takes"})
async def approve(request: web.Request, body: ApproveIn) -> web.Response:
    """Queues the reply for sending (status approved); the outbox sends it once, when its source is on.
    approved_by = the caller (the API key's name or the signed-in user)."""
    with _errors("text"):
        reply = _community(request).outbox.approve(request.match_info["reply_id"], text=body.text,
                                                   approved_by=_caller(request))
    return ok({"reply": reply})


@routes.post("/api/community/replies/{reply_id}/discard", summary="Discard a reply", tags=TAGS,
             response=CommunityReplyOut,
             responses={404: "No reply with that id",
                        422: "The reply is sending, sent or already discarded"})
async def discard(request: web.Request) -> web.Response:
    with _errors():
        return ok({"reply": _community(request).outbox.discard(request.match_info["reply_id"])})


# --- members --------------------------------------------------------------------------------------
@routes.get("/api/community/members/{member_id}", summary="One member's profile and latest messages", tags=TAGS,
            response=CommunityMemberOut, responses={404: "No member with that id"})
async def member(request: web.Request) -> web.Response:
    with _errors():
        return ok({"member": _community(request).members.member(request.match_info["member_id"])})


class MemberPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vip: bool


@routes.patch("/api/community/members/{member_id}", summary="Mark or unmark a member as VIP", tags=TAGS,
              body=MemberPatchIn, response=CommunityMemberOut, responses={404: "No member with that id"})
async def patch_member(request: web.Request, body: MemberPatchIn) -> web.Response:
    with _errors():
        return ok({"member": _community(request).members.set_vip(request.match_info["member_id"], body.vip)})


# --- sources --------------------------------------------------------------------------------------
@routes.get("/api/community/sources", summary="Discord, Telegram and YouTube sources (tokens never shown)",
            tags=TAGS, response=CommunitySourcesOut)
async def community_sources(request: web.Request) -> web.Response:
    return ok({"sources": _community(request).sources.list_sources()})


class CommunitySourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = Field(default=None, description="Nothing is read from the platform until it is on.")
    config: dict | None = Field(default=None, description="discord: channels, poll_interval_s; telegram: "
                                                          "poll_timeout_s; youtube: channel_id, video_ids, poll_interval_s.")
    token: str | None = Field(default=None, max_length=2000, pattern=CREDENTIAL_PATTERN,
                              description="Write-only bot token (YouTube: API key), printable ASCII without spaces; "
                                          "an empty string removes it.")
    verify: bool = Field(default=False, description="Ask the platform who the token belongs to, now.")


@routes.put("/api/community/sources/{name}", summary="Enable, configure or set the token of a source", tags=TAGS,
            body=CommunitySourceIn, response=CommunitySourceOut,
            responses={404: "No source of that name (discord, telegram, youtube)",
                       422: "Invalid parameter: a config key the platform does not have or a bad value, or a "
                            "token with spaces"})
async def configure_community_source(request: web.Request, body: CommunitySourceIn) -> web.Response:
    name = request.match_info["name"]
    sources = _community(request).sources
    with _errors("config"):
        if body.token is not None:
            if body.token.strip():
                sources.set_token(name, body.token)
            else:
                sources.clear_token(name)
        source = sources.configure(name, enabled=body.enabled, config=body.config)
        if body.verify:
            source = await sources.verify(name)
    return ok({"source": source})


@routes.post("/api/community/sources/{name}/poll", summary="Read a source now", tags=TAGS,
             response=CommunityPollOut,
             responses={404: "No source of that name (discord, telegram, youtube)",
                        422: "The source is turned off"})
async def poll(request: web.Request) -> web.Response:
    """new, duplicates, mentions, auto_approved, and the error with its reason when the platform refused."""
    with _errors():
        return ok({"poll": await _community(request).live.poll(request.match_info["name"])})


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preview: bool = Field(default=False, description="Read the file and show what it holds without storing it.")


@routes.post("/api/community/import", summary="Import messages: DiscordChatExporter JSON, Telegram result.json, CSV",
             tags=TAGS, query=ImportQuery, form={"file": "file"}, wrap=False,
             response=CommunityImportPreviewOut | CommunityImportResultOut,
             responses={400: "Not a multipart/form-data body, or a broken one",
                        413: "The file is over 512 MB (or the body over the server's limit)",
                        422: "Invalid parameter, no file in the field 'file', or a file that is none of the "
                             "formats read (the message says which line or entry, and what to fix)"})
async def import_messages(request: web.Request, query: ImportQuery) -> web.Response:
    """CSV columns: platform, author, time (ISO 8601), text; optional id, channel, reply_to, reactions.
    Imported messages are labelled with the file's name; importing a file again stores nothing new."""
    try:
        files, _fields = await read_form(request, ("file",), MAX_IMPORT_BYTES, example="curl -F file=@export.json")
    except FileTooLargeError as exc:
        raise ApiError(413, exc.message, details=exc.details) from None
    except FormError as exc:
        raise ApiError(400, exc.message, details=exc.details) from None
    if not files:
        raise ApiError(422, "send the export file in the multipart field 'file'", details={"parameter": "file"})
    data, filename = files[0]
    imports = _community(request).imports
    with _errors("file"):
        if query.preview:
            return ok({"preview": await asyncio.to_thread(imports.preview, data, filename)})
        return ok(await imports.import_file(data, filename))
