"""Community area: one inbox for Discord, Telegram and YouTube comments (read live or imported from
export files), sentiment, members, topics, and replies the studio drafts and a person approves.

`CommunityService(ctx, *, music, voices)` is the area's entry object (what `services.community`
is); callers go through its parts, one module each:

- ingest.py (`ingest`): the one path that stores messages: dedupe, sentiment, members, what needs a reply.
- sentiment.py (`sentiment`): VADER patched with the music-creator lexicon in resources/community/.
- settings.py (`settings`): initialise the area, its configuration (automation level, response delay...).
- inbox.py (`inbox`): the message query behind the inbox, threads, label corrections, statuses.
- members.py (`members`): members and their computed profile (activity, favourite genres, engagement).
- topics.py (`topics`): what people talk about, with mentions and sentiment.
- insights.py (`insights`): the overview, sentiment over time, engagement per content id.
- training.py (`training`): the training-data export (JSON, JSONL, CSV).
- sources.py (`sources`): the platforms, their tokens (OS keyring), status and set-up.
- live.py (`live`): polling the enabled platforms while the studio runs.
- outbox.py (`outbox`): approved replies sent once each, kept across crashes and restarts.
- drafts.py (`drafts`): replies written by the built-in writer (or Ollama) in a character's voice,
  grounded in the library.
- imports.py (`imports`): DiscordChatExporter, Telegram Desktop and CSV files.
- common.py: errors, constants, the one serialisation of each row.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from studio.services.community.drafts import CommunityDrafts
from studio.services.community.imports import CommunityImports
from studio.services.community.inbox import CommunityInbox
from studio.services.community.ingest import Ingest
from studio.services.community.insights import CommunityInsights
from studio.services.community.live import LivePoller
from studio.services.community.members import CommunityMembers
from studio.services.community.outbox import CommunityOutbox
from studio.services.community.sentiment import SentimentModel
from studio.services.community.settings import CommunitySettings
from studio.services.community.sources import CommunitySources
from studio.services.community.topics import CommunityTopics
from studio.services.community.training import TrainingData

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.music import MusicService
    from studio.services.voices import VoicesService


class CommunityService:
    def __init__(self, ctx: "Context", *, music: "MusicService", voices: "VoicesService") -> None:
        self.sentiment = SentimentModel()
        self.ingest = Ingest(ctx, sentiment=self.sentiment)
        self.settings = CommunitySettings(ctx)
        self.inbox = CommunityInbox(ctx)
        self.members = CommunityMembers(ctx, music=music)
        self.topics = CommunityTopics(ctx)
        self.training = TrainingData(ctx)
        self.sources = CommunitySources(ctx)
        self.insights = CommunityInsights(ctx, topics=self.topics, music=music, sources=self.sources)
        self.outbox = CommunityOutbox(ctx, sources=self.sources)
        self.drafts = CommunityDrafts(ctx, music=music, voices=voices, settings=self.settings)
        self.live = LivePoller(ctx, sources=self.sources, ingest=self.ingest, drafts=self.drafts,
                               outbox=self.outbox, settings=self.settings)
        self.imports = CommunityImports(ctx, ingest=self.ingest)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """At start-up: send what was approved before the last exit, then poll the enabled platforms."""
        self.outbox.resume(loop)
        self.live.start(loop)

    def close(self) -> None:
        """Stop polling and sending; a reply cut off mid-send stays `sending` and is settled at the next start."""
        self.live.close()
        self.outbox.close()
