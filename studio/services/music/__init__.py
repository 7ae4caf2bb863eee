"""Music area: generation jobs, the track library, credits, batches, playlists and statistics.

One service behind the GUI's Create/Library panels and both documented API families (seed 000
`/api/music/...`, seed 001 `/api/v1/ai/...`). `MusicService` is the area's entry object (what
`services.music` is); callers go through its parts (`services.music.library.list_tracks(...)`),
each a focused class that gets only what it uses, one module each:

- catalogue.py (`catalogue`): what the engine offers (styles, keys, qualities, limits).
- credits.py (`credits`): the daily compute budget.
- statistics.py (`statistics`): time estimates and analytics by period.
- library.py (`library`): finished tracks and their files.
- generation.py (`generation`): submit, run, record, extend, retry, singers.
- batches.py (`batches`): variations queued together with a concurrency cap.
- playlists.py (`playlists`): planned tracks and their continuous mix.
- templates.py (`templates`): the generation templates of seed 001 and how often each was used.
- holds.py (internal): queued rows kept off the workers (batch slots, playlist mixes).

Module-level names callers use live with the part they belong to: job kinds, file facts and
exceptions in `common`, `credits_for` in `credits`, `parse_period_days` and
`measured_realtime_factor` in `statistics`, `plan_playlist` in `playlists`. The entry object
itself only gives the composition root the area's job handlers and its event subscriber.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.jobs import JobHandler
from studio.services.music.batches import MusicBatches
from studio.services.music.catalogue import MusicCatalogue
from studio.services.music.common import GENERATE_KIND, PLAYLIST_KIND
from studio.services.music.credits import MusicCredits
from studio.services.music.generation import MusicGeneration
from studio.services.music.holds import HeldJobs
from studio.services.music.library import MusicLibrary
from studio.services.music.playlists import MusicPlaylists
from studio.services.music.statistics import MusicStatistics
from studio.services.music.templates import TemplateService

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices import VoicesService


class MusicService:
    def __init__(self, ctx: "Context", *, voices: "VoicesService") -> None:
        holds = HeldJobs(ctx.db, ctx.jobs, ctx.events)  # batch slots and playlist mixes waiting their turn
        self.catalogue = MusicCatalogue()
        self.credits = MusicCredits(ctx.db, ctx.settings)
        self.statistics = MusicStatistics(ctx.db, ctx.jobs)
        self.library = MusicLibrary(ctx.db, ctx.store, ctx.events)
        self.generation = MusicGeneration(settings=ctx.settings, db=ctx.db, store=ctx.store, jobs=ctx.jobs,
                                          voices=voices, credits=self.credits, library=self.library,
                                          statistics=self.statistics, holds=holds)
        self.batches = MusicBatches(generation=self.generation, credits=self.credits, holds=holds, events=ctx.events)
        self.playlists = MusicPlaylists(generation=self.generation, credits=self.credits, holds=holds,
                                        library=self.library, db=ctx.db, store=ctx.store, jobs=ctx.jobs,
                                        events=ctx.events)
        self.templates = TemplateService(ctx)
        self._holds = holds

    def job_handlers(self) -> list[JobHandler]:
        return [self.generation.job_handler(), self.playlists.job_handler()]

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber: free batch slots, start playlist mixes, announce finished groups."""
        if name not in ("job_completed", "job_failed", "job_cancelled"):
            return
        if name == "job_cancelled":
            self._holds.forget(data["id"])
        params = data.get("params") or {}
        if data.get("kind") == GENERATE_KIND:
            self.batches.on_member_finished(data["id"], params)
            if params.get("playlist_id"):
                self.playlists.on_track_finished(params["playlist_id"], data["id"])
        elif data.get("kind") == PLAYLIST_KIND:
            self.playlists.on_mix_finished(data)
