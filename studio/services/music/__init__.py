"""Music area: generation jobs, the track library, credits, batches, playlists and statistics.

One service behind the GUI's Create/Library panels and both documented API families (seed 000
`/api/music/...`, seed 001 `/api/v1/ai/...`). `MusicService` is the area's entry point; each
part is a focused class that gets only what it uses:

- `catalogue`  (catalogue.MusicCatalogue): what the engine offers (styles, keys, qualities, limits)
- `credits`    (credits.MusicCredits): the daily compute budget
- `statistics` (statistics.MusicStatistics): time estimates and analytics by period
- `library`    (library.MusicLibrary): finished tracks and their files
- `generation` (generation.MusicGeneration): submit, run, record, extend, retry, singers
- `batches`    (batches.MusicBatches): variations queued together with a concurrency cap
- `playlists`  (playlists.MusicPlaylists): planned tracks and their continuous mix

Module-level names callers use live with the part they belong to: job kinds, file facts and
exceptions in `common`, `credits_for` in `credits`, `parse_period_days` and
`measured_realtime_factor` in `statistics`, `plan_playlist` in `playlists`.
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
        self._holds = holds

    def job_handlers(self) -> list[JobHandler]:
        return [self.generation.job_handler(), self.playlists.job_handler()]

    def on_job_event(self, name: str, data: dict[str, Any]) -> None:
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
