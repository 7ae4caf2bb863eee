"""Success bodies of the community area (/api/community/...): the overview figures, sentiment,
members, the inbox (messages), the outbox (drafted and sent replies), the sources (Discord,
Telegram, YouTube comments) and imports of export files.

Figures the studio cannot know are null, with the reason under `reasons` (keyed by the field's
path, e.g. "overview.growth_rate"). Times are ISO 8601 in UTC ("2026-11-01T12:00:00Z").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from studio.server.schemas import Out

Platform = Literal["discord", "telegram", "youtube"]
SentimentLabel = Literal["positive", "neutral", "negative"]
MessageStatus = Literal["new", "read", "answered", "dismissed"]
ReplyStatus = Literal["draft", "approved", "sending", "sent", "failed", "discarded", "unconfirmed"]

REASONS = "Why a figure is null (or how it was limited), keyed by the field's path; empty when all are known"


# --- the overview: initialize, analytics -----------------------------------------------------------
class CommunityInitializeOut(Out):
    message: str
    initialized_at: str = Field(description="When the community area was first initialised")
    already_initialized: bool = Field(description="True when an earlier call initialised it (nothing changed)")
    platforms_connected: int = Field(description="Enabled sources whose last check or poll succeeded")
    platforms: list[Platform] = Field(description="The connected platforms")
    automation_level: float = Field(description="Percent of incoming Discord/Telegram messages answered "
                                                "without approval (0-100)")
    automation_applies_to: list[Platform] = Field(description="The platforms automation may answer on")
    estimated_daily_interactions: float | None = Field(
        description="Messages sent in the last 7 days / 7; null when there are none (see reasons)")
    estimate_basis: str = Field(description="How the estimate is computed")
    reasons: dict[str, str] = Field(description=REASONS)


class CommunityAnalyticsOverview(Out):
    total_members: int
    daily_interactions: float = Field(description="Messages in the period / its days")
    automation_percentage: float | None = Field(
        description="Replies sent automatically / replies sent in the period x 100; null when none was sent")
    sentiment_score: float | None = Field(
        description="Mean sentiment (0-10, 5 neutral) of the community's messages in the period; null without any")
    growth_rate: float | None = Field(
        description="Members first seen in the period / members seen before it x 100; null when none was before")
    engagement_improvement: float | None = Field(
        description="Change of reactions per message against the previous period, in percent; null when there "
                    "is nothing to compare")
    new_members: int = Field(description="Members first seen in the period")
    messages: int = Field(description="Messages sent in the period")
    replies_sent: int = Field(description="Replies the studio sent in the period")


class CommunityPlatformBreakdown(Out):
    platform: Platform
    members: int
    daily_messages: float = Field(description="Messages in the period / its days")
    ai_responses: int = Field(description="Replies the studio drafted that were sent in the period")
    sentiment: float | None = Field(description="Mean sentiment (0-10); null without messages in the period")


class CommunityAnalyticsOut(Out):
    period: str = Field(description="The period as asked, e.g. 30d")
    period_days: int
    overview: CommunityAnalyticsOverview
    platform_breakdown: list[CommunityPlatformBreakdown] = Field(description="One entry per platform")
    reasons: dict[str, str] = Field(description=REASONS)


# --- sentiment -------------------------------------------------------------------------------------
class CommunityOverallSentiment(Out):
    score: float | None = Field(description="Mean sentiment (0-10, 5 neutral); null without messages in the period")
    trend: Literal["improving", "declining", "stable"] | None = Field(
        description="From the change (at least 0.2 either way); null when one of the two periods has no message")
    change: str | None = Field(description="Score minus the previous period's, signed (\"+1.2\"); null like trend")
    messages: int = Field(description="The community's messages in the period")
    previous_score: float | None = Field(description="The previous period's score; null without messages")


class CommunityPlatformSentiment(Out):
    platform: Platform
    score: float | None = Field(description="Mean sentiment (0-10); null without messages in the period")
    positive_mentions: int
    negative_mentions: int
    neutral_mentions: int
    messages: int


class CommunityTrendingTopic(Out):
    topic: str = Field(description="A named topic's id, or the keyword itself")
    label: str = Field(description="The topic's name to show")
    kind: Literal["named", "keyword"] = Field(description="named: one of the studio's topics; keyword: a frequent word")
    mentions: int = Field(description="Messages that mention it")
    sentiment: float = Field(description="Mean sentiment (0-10) of those messages")
    positive: int
    neutral: int
    negative: int


class CommunitySentimentOut(Out):
    period: str
    platform: Literal["all", "discord", "telegram", "youtube"]
    overall_sentiment: CommunityOverallSentiment
    platform_sentiment: list[CommunityPlatformSentiment]
    trending_topics: list[CommunityTrendingTopic] = Field(description="Most mentioned first, at most 10")
    reasons: dict[str, str] = Field(description=REASONS)


# --- messages (the inbox) --------------------------------------------------------------------------
class CommunityMessageAuthor(Out):
    name: str
    member_id: str | None = Field(description="The member who wrote it; null when not linked to a member")


class CommunityMessageSentiment(Out):
    compound: float = Field(description="The sentiment model's compound score, -1 to 1")
    score: float = Field(description="The same on the 0-10 scale, (compound + 1) x 5")
    label: SentimentLabel = Field(description="The effective label: your correction when there is one")
    model_label: SentimentLabel = Field(description="The model's label")
    label_source: Literal["user", "model"]


class CommunityMessage(Out):
    id: str
    platform: Platform
    channel_id: str
    channel_name: str | None
    external_id: str = Field(description="The platform's id of the message")
    author: CommunityMessageAuthor
    text: str
    sent_at: str
    received_at: str = Field(description="When the studio stored it")
    is_mention: bool = Field(description="Addressed to you: a mention, a reply to you or a direct message")
    needs_reply: bool
    from_self: bool = Field(description="Written by your own bot or channel (read back)")
    status: MessageStatus
    reactions: int = Field(description="Reactions (Discord) or likes (YouTube)")
    reply_count: int | None = Field(description="Replies the platform counts (YouTube); null when it gives none")
    reply_to_external_id: str | None = Field(description="The platform id of the message it answers")
    sentiment: CommunityMessageSentiment
    imported_from: str | None = Field(description="The export file it came from; null when read live")
    url: str | None = Field(description="A link to it on its platform, when there is one")
    content_id: str | None = Field(description="The track or generation it is linked to, if any")


class CommunityMessagesOut(Out):
    total: int = Field(description="Messages every filter keeps")
    limit: int
    offset: int
    messages: list[CommunityMessage] = Field(description="Newest first")


# --- replies (the outbox) --------------------------------------------------------------------------
class CommunityReply(Out):
    id: str
    message_id: str | None = Field(description="The stored message it answers; null for a POST /respond draft")
    platform: Platform
    channel_id: str | None
    reply_to_external_id: str | None
    text: str = Field(description="The words to send (edited or as drafted)")
    drafted_text: str | None = Field(description="What the studio wrote; null for a reply a person typed")
    edited: bool = Field(description="A person changed the drafted words")
    drafted_by: str = Field(description="studio, ollama:<model>, 'studio (Ollama failed)' or person")
    character_id: str | None
    response_type: str | None
    tone: str | None
    personalization_score: float | None = Field(
        description="Percent of the given user context the reply uses; null when none was given")
    grounded_track_ids: list[str] = Field(description="Library tracks the reply recommends")
    status: ReplyStatus
    auto: bool = Field(description="Approved by the automation, not a person")
    approved_by: str | None = Field(description="Who approved it (an API key's name, a user, or automation)")
    approved_at: str | None
    send_after: str | None = Field(description="Not sent before this time (response delay, a rate limit)")
    attempts: int = Field(description="Sending attempts so far")
    last_error: str | None = Field(description="Why it failed or waits; null when nothing is wrong")
    sent_at: str | None
    platform_message_id: str | None = Field(description="The platform's id of the sent message")
    reactions: int | None = Field(description="Reactions on the sent reply as last read; null until measured")
    created_at: str


class CommunityReplyOut(Out):
    reply: CommunityReply


class CommunityRepliesOut(Out):
    replies: list[CommunityReply] = Field(description="Newest first")


class CommunityMessageDetail(CommunityMessage):
    thread: list[CommunityMessage] = Field(description="The messages it answers and the stored answers to it, oldest first")
    replies: list[CommunityReply] = Field(description="The drafts and outbox replies written for it, newest first")


class CommunityMessageDetailOut(Out):
    message: CommunityMessageDetail


class CommunityMessageOut(Out):
    message: CommunityMessage


# --- respond ---------------------------------------------------------------------------------------
class CommunityGroundedTrack(Out):
    id: str
    title: str


class CommunityDraftedResponse(Out):
    content: str = Field(description="The drafted reply")
    tone: str
    personalization_score: float | None = Field(
        description="Percent of the given user context the reply uses; null when no context was given")
    estimated_engagement: float | None = Field(
        description="Mean reactions on recent sent replies; null while fewer than 5 have a measured count")
    estimated_engagement_basis: str = Field(description="How the estimate was found, or why there is none")
    draft_id: str = Field(description="The stored draft (GET /api/community/replies/{reply_id})")
    grounded_tracks: list[CommunityGroundedTrack] = Field(description="Library tracks the reply names")
    response_type: str = Field(description="The type used (given, or read from the message)")
    character_id: str | None = Field(description="The voice character it was written as; null: a neutral voice")
    drafted_by: str = Field(description="studio, ollama:<model> or 'studio (Ollama failed)'")
    reasons: dict[str, str] = Field(description=REASONS)


class CommunityRespondOut(Out):
    response: CommunityDraftedResponse


# --- members ---------------------------------------------------------------------------------------
class CommunityMember(Out):
    id: str
    username: str
    platform: Platform
    external_id: str = Field(description="The platform's id of the member")
    joined_at: str | None = Field(description="When the platform says they joined; null when it does not say")
    first_seen: str
    last_seen: str
    total_messages: int
    reactions_received: int
    replies_received: int
    vip_status: bool = Field(description="Your VIP mark")
    notes: str | None
    join_date: str = Field(description="joined_at, else first_seen (see join_date_basis)")
    join_date_basis: Literal["platform", "first_seen"]
    activity_level: Literal["high", "medium", "low", "inactive"] = Field(
        description="high: at least 1 message a day; medium: at least 1 a week; low: fewer; inactive: none in 30 days")
    messages_per_day: float
    activity_window_days: float = Field(description="Days the message rate is measured over (1-30)")
    favorite_genres: list[str] = Field(description="Style ids they name most, at most 3")
    genre_mentions: dict[str, int] = Field(description="Style id -> their messages naming it")
    engagement_score: float | None = Field(
        description="0-10 from the reactions and replies their messages received; null without stored messages")
    reasons: dict[str, str] = Field(description=REASONS)


class CommunityMemberDetail(CommunityMember):
    recent_messages: list[CommunityMessage] = Field(description="Their newest messages, at most 10")


class CommunityMembersOut(Out):
    total_members: int = Field(description="Members of the platform (all platforms without one)")
    active_members: int = Field(description="Of those, seen in the last 30 days")
    matched: int = Field(description="Members every filter keeps (for paging)")
    limit: int
    offset: int
    members: list[CommunityMember] = Field(description="Most recently seen first")


class CommunityMemberOut(Out):
    member: CommunityMemberDetail


# --- configuration ---------------------------------------------------------------------------------
class CommunityResponseDelay(Out):
    min_seconds: float
    max_seconds: float


class CommunityPersonalization(Out):
    enabled: bool
    use_member_history: bool
    mention_preferences: bool


class CommunityContentPromotion(Out):
    enabled: bool
    frequency: Literal["never", "daily", "weekly"]
    max_per_day: int
    target_engagement: float | None = Field(description="0-10; null when not set")


class CommunityConfig(Out):
    automation_level: float = Field(description="Percent of incoming Discord/Telegram messages answered without "
                                                "approval (0-100)")
    response_delay: CommunityResponseDelay = Field(description="An automatic reply waits between these many seconds")
    personalization: CommunityPersonalization
    content_promotion: CommunityContentPromotion = Field(description="Stored; the studio does not post promotions yet")
    character_id: str | None = Field(description="The voice character drafts are written as; null: a neutral voice")
    automation_applies_to: list[Platform]


class CommunityConfigOut(Out):
    config: CommunityConfig


class CommunityConfigUpdatedOut(Out):
    config_updated: bool
    effective_immediately: bool
    estimated_daily_responses: float | None = Field(
        description="Automatic replies a day at this automation level, from the last 7 days; 0 when automation is "
                    "off; null when no Discord/Telegram message addressed to you arrived in 7 days")
    estimate_basis: str
    not_applied: dict[str, str] = Field(description="Settings stored but not acted on yet, with why")
    reasons: dict[str, str] = Field(description=REASONS)
    config: CommunityConfig


# --- sources and platforms -------------------------------------------------------------------------
class CommunitySourceIdentity(Out):
    """Who the token belongs to, as the platform said at the last check; empty until then."""

    id: str | None = Field(default=None, description="The bot's user id (Discord, Telegram)")
    username: str | None = Field(default=None, description="The bot's username (Discord, Telegram)")
    privacy_mode: bool | None = Field(default=None, description="Telegram: the bot sees only messages addressed "
                                                                "to it in groups")
    channel_id: str | None = Field(default=None, description="YouTube: the channel read")


class CommunityDiscordChannel(Out):
    id: str
    name: str | None
    guild_id: str | None


class CommunitySourceConfig(Out):
    """The source's settings; each platform has its own keys."""

    channels: list[CommunityDiscordChannel] | None = Field(default=None, description="Discord: the channels read")
    poll_interval_s: int | None = Field(default=None, description="Discord (5-3600), YouTube (300-86400): "
                                                                  "seconds between polls")
    poll_timeout_s: int | None = Field(default=None, description="Telegram: the long poll's wait, 0-50 s")
    channel_id: str | None = Field(default=None, description="YouTube: your channel id (UC...)")
    video_ids: list[str] | None = Field(default=None, description="YouTube: videos whose comments are read")


class CommunitySource(Out):
    name: Platform
    label: str
    enabled: bool
    has_token: bool = Field(description="A token (YouTube: an API key or a Google sign-in) is stored")
    token_masked: str | None = Field(description="The token's last characters (\"••••abcd\"); never the token")
    status: Literal["disabled", "connecting", "ok", "error"]
    identity: CommunitySourceIdentity
    error: str | None = Field(description="Why the status is error; null otherwise")
    last_poll: str | None
    messages_total: int = Field(description="Messages stored from it")
    sent_total: int = Field(description="Replies sent on it")
    errors_total: int = Field(description="Polls that failed")
    quota_used: int | None = Field(description="YouTube: units spent today; null for the other platforms")
    quota_limit: int | None = Field(description="YouTube: units a day; null for the other platforms")
    quota_basis: str
    config: CommunitySourceConfig
    instructions: list[str] = Field(description="The set-up steps")
    can_automate: bool = Field(description="Automation may answer here (Discord and Telegram bots)")
    can_reply: bool
    reply_basis: str | None = Field(description="Why it cannot reply yet; null when it can")
    has_oauth_client: bool | None = Field(default=None, description="YouTube only: a Google OAuth client is stored")
    signed_in: bool | None = Field(default=None, description="YouTube only: signed in with Google (needed to reply)")


class CommunitySourcesOut(Out):
    sources: list[CommunitySource]


class CommunitySourceOut(Out):
    source: CommunitySource


class CommunityPlatformStatus(Out):
    name: Platform
    label: str
    status: Literal["connected", "connecting", "error", "disabled"] = Field(
        description="connected: the last check or poll succeeded")
    enabled: bool
    error: str | None
    identity: CommunitySourceIdentity
    last_poll: str | None
    members: int
    messages_total: int
    daily_messages: float = Field(description="Messages of the last 24 hours")
    last_message: str | None
    last_response: str | None = Field(description="The newest reply sent there; null when none (see reasons)")
    reasons: dict[str, str] = Field(description=REASONS)
    bot_online: bool | None = Field(description="Discord, Telegram: on, and its last check or poll succeeded; "
                                                "null for YouTube (no bot)")
    quota_used: int | None = Field(default=None, description="YouTube only: units spent today")
    quota_limit: int | None = Field(default=None, description="YouTube only: units a day")


class CommunityPlatformsOut(Out):
    platforms: list[CommunityPlatformStatus]


class CommunityPollResult(Out):
    name: Platform
    new: int = Field(description="Messages stored")
    duplicates: int = Field(description="Messages read that were stored before")
    mentions: int = Field(description="New messages addressed to you")
    auto_approved: int = Field(description="Of those, answered by the automation")
    error: str | None = Field(description="Why the platform refused, or what is missing; null when all went well")
    retry_after_s: float | None = Field(description="The platform asked to wait this long; null otherwise")
    fatal: bool = Field(description="The error stops polling until the source is changed (e.g. a rejected token)")
    polled_at: str


class CommunityPollOut(Out):
    poll: CommunityPollResult


# --- engagement ------------------------------------------------------------------------------------
class CommunityEngagement(Out):
    total_interactions: int = Field(description="likes + comments")
    likes: int = Field(description="Reactions on the messages referring to it")
    comments: int = Field(description="Messages referring to it not written by you")
    shares: int | None = Field(description="Always null: no connected platform reports shares to the studio")
    saves: int | None = Field(description="Always null: no connected platform reports saves to the studio")
    engagement_rate: float | None = Field(
        description="Members who wrote about it / members on those platforms x 100; null when no message refers to it")


class CommunityEngagementByPlatform(Out):
    platform: Platform
    reactions: int
    comments: int
    shares: int | None = Field(description="Always null: no connected platform reports shares")


class CommunityEngagementOut(Out):
    content_id: str
    track_id: str | None = Field(description="The Library track; null when only messages refer to the id")
    title: str | None = Field(description="The track's title; null when it is not in the Library")
    engagement: CommunityEngagement
    platform_breakdown: list[CommunityEngagementByPlatform]
    messages: int = Field(description="Messages referring to it")
    members_reached: int = Field(description="Distinct members who wrote about it")
    recommendations_sent: int = Field(description="Sent replies that recommended the track")
    basis: str = Field(description="How the figures are computed")
    reasons: dict[str, str] = Field(description=REASONS)


# --- training data ---------------------------------------------------------------------------------
class CommunityTrainingSample(Out):
    input: str = Field(description="The message answered")
    platform: Platform
    input_sentiment: SentimentLabel = Field(description="Its effective label")
    label_source: Literal["user", "model"]
    model_label: SentimentLabel
    message_id: str
    response: str = Field(description="The reply sent")
    engagement: int | None = Field(description="Reactions on the sent reply as last read; null until read")
    drafted_by: str = Field(description="studio, ollama:<model>, person, or 'person (on the platform)'")
    drafted_by_studio: bool
    edited: bool = Field(description="A person changed the studio's draft before sending")
    drafted_text: str | None
    approved_by: str | None = Field(description="Who approved it; null for a reply written on the platform")
    auto: bool = Field(description="Sent without approval (automation)")
    response_type: str | None
    character_id: str | None
    sent_at: str | None
    reply_id: str | None = Field(description="The studio's reply; null for a reply written on the platform")


class CommunityLabelledMessage(Out):
    text: str
    label: SentimentLabel = Field(description="Your correction")
    model_label: SentimentLabel
    platform: Platform
    labelled_at: str | None
    sent_at: str
    message_id: str


class CommunityTrainingSkipped(Out):
    replies_without_stored_message: int = Field(description="Sent replies drafted by POST /respond (no message "
                                                            "to pair with)")


class CommunityTrainingDataOut(Out):
    period: str
    period_days: int
    total_interactions: int = Field(description="Messages from the community sent in the period")
    successful_responses: int = Field(description="The training samples")
    training_samples: list[CommunityTrainingSample] = Field(description="Newest first")
    labelled_messages: list[CommunityLabelledMessage] = Field(description="Messages whose sentiment label you corrected")
    skipped: CommunityTrainingSkipped
    basis: str
    reasons: dict[str, str] = Field(description=REASONS)


# --- imports ---------------------------------------------------------------------------------------
ImportFormat = Literal["discord_chat_exporter", "telegram_export", "csv"]
ImportPlatform = Literal["discord", "telegram", "youtube", "mixed", ""]
IMPORT_PLATFORM = ("The file's platform; 'mixed' for a CSV naming several, empty when every row was skipped")


class CommunityPreviewMessage(Out):
    platform: Platform
    channel_id: str
    channel_name: str | None
    external_id: str
    author: str
    text: str
    sent_at: str
    reply_to_external_id: str | None
    reactions: int
    imported_from: str | None = Field(description="The file's name")


class CommunityImportPreview(Out):
    file: str = Field(description="The file's name (without folders)")
    format: ImportFormat
    platform: ImportPlatform = Field(description=IMPORT_PLATFORM)
    channel_name: str | None = Field(description="The one channel or chat the file holds; null when several")
    total: int = Field(description="Messages in the file")
    skipped: int = Field(description="Entries that are not messages someone wrote (notices, empty text)")
    messages: list[CommunityPreviewMessage] = Field(description="The first 20 messages")


class CommunityImportPreviewOut(Out):
    """With preview=true: what the file holds; nothing is stored."""

    status: Literal["success"]
    preview: CommunityImportPreview


class CommunityImportResultOut(Out):
    """The file was imported."""

    status: Literal["success"]
    file: str = Field(description="The file's name (without folders)")
    format: ImportFormat
    platform: ImportPlatform = Field(description=IMPORT_PLATFORM)
    total: int = Field(description="Messages in the file")
    imported: int = Field(description="Messages stored now")
    duplicates: int = Field(description="Messages stored before (importing a file again stores nothing new)")
    skipped: int = Field(description="Entries that are not messages someone wrote (notices, empty text)")
