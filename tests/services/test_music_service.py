"""The music service's rules, tested on the service itself: no HTTP, no GUI, no renders.

Jobs run in the test's thread (tests/support/sync_jobs.py) and the engine's render is replaced by
a fake that writes a short tone and a score, so each test takes milliseconds to a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import soundfile as sf
from pydantic import ValidationError

from studio.context import Context
from studio.db import Database, MediaStore
from studio.events import EventBus
from studio.jobs import CANCELLED, COMPLETED, FAILED, QUEUED, JobError, JobStateError, UnknownJob
from studio.services.music import MusicService
from studio.services.music.catalogue import MAX_DURATION_S
from studio.services.music.common import GENERATE_KIND, PLAYLIST_KIND, InsufficientCredits, SingerError
from studio.services.music.credits import CREDITS_PER_MINUTE, credits_for
from studio.services.music.playlists import plan_playlist
from studio.services.voices import UnknownCharacter
from tests.support.sync_jobs import SyncJobQueue

FAKE_RATE_HZ = 22050
SPEC = {"style": "lofi_hip_hop", "duration": 4, "seed": 1, "audio_quality": "draft"}


class FakeSingers:
    """Singers: only 'nova' exists."""

    def singer_options(self, character_id=None, voice_id=None) -> dict[str, Any]:
        if character_id != "nova":
            raise UnknownCharacter(character_id)
        return {"voice": "joe", "character_id": "nova"}


class FakeCharacters:
    """No characters yet: a sung request is sung by the studio's default characters."""

    def list_characters(self, **_filters) -> tuple[int, list[dict[str, Any]]]:
        return 0, []


class FakeVoices:
    """The voices service as the music area uses it: its singers and characters parts."""

    def __init__(self) -> None:
        self.singers = FakeSingers()
        self.characters = FakeCharacters()


class FakeEngine:
    """Stands in for the engine's render: a tone as long as the request, a score file, timings."""

    def __init__(self, generation) -> None:
        self.generation = generation
        self.failing = False
        self.rendered: list[str] = []

    def run(self, job) -> dict[str, Any]:
        if self.failing:
            raise JobError("the fake engine failed on purpose", code="GENERATION_FAILED")
        spec = dict(job.params["spec"])
        duration_s = float(spec["duration_s"])
        if job.params.get("extend_of"):
            duration_s += float(job.params["additional_duration_s"])
        work = self.generation.work_dir(job.job_id)
        work.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(duration_s * FAKE_RATE_HZ)) / FAKE_RATE_HZ
        tone = (0.25 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
        sf.write(work / "track.wav", np.stack([tone, tone], axis=1), FAKE_RATE_HZ, subtype="PCM_16")
        (work / "track.score.json").write_text("{}")
        job.progress(50.0, "rendering")
        self.rendered.append(job.job_id)
        summary = {"files": {"wav": str(work / "track.wav"), "score": str(work / "track.score.json")},
                   "resolved_spec": spec, "duration_s": duration_s, "analysis": {}, "tags": [], "tagger_model": "fake",
                   "master": {}, "sections": [], "timings_s": {"render": 0.01}, "device": "cpu",
                   "quality_metrics": {}, "requested_vs_estimated": {}}
        return {"work_dir": str(work), "summary": summary, "wall_s": 0.01, "realtime_factor": duration_s / 0.01}


@pytest.fixture
def studio(settings):
    """(music service, its job queue, the fake engine, the events published)."""
    settings.ensure_dirs()
    db = Database(settings.effective_database_url)
    db.upgrade()
    events = EventBus()
    jobs = SyncJobQueue(db, events)
    ctx = Context(settings=settings, db=db, store=MediaStore(settings.media_dir), events=events, jobs=jobs)
    music = MusicService(ctx, voices=FakeVoices())
    engine = FakeEngine(music.generation)
    music.generation._run = engine.run  # before the handlers are registered: no real render
    for handler in music.job_handlers():
        jobs.register(handler)
    published: list[tuple[str, dict]] = []
    events.subscribe(music.on_event)
    events.subscribe(lambda name, data: published.append((name, data)))
    yield music, jobs, engine, published
    db.dispose()


def _job_ids(jobs, kind=GENERATE_KIND) -> list[str]:
    return [j["id"] for j in jobs.list(kind=kind, limit=1000)[1]]


# --- credits ------------------------------------------------------------------------------------
def test_credits_follow_the_daily_allowance_and_come_back_for_failures(studio):
    music, jobs, engine, _ = studio
    music.credits.settings.daily_credits = 100
    assert credits_for(60) == CREDITS_PER_MINUTE
    assert music.credits.balance() == 100

    job = music.generation.submit_generation({**SPEC, "duration": 120})
    assert job["credits_used"] == credits_for(120) == 20
    assert music.credits.balance() == 80
    summary = music.credits.summary()
    assert summary["credits"] == 80 and summary["credits_used_today"] == 20 and summary["daily_allowance"] == 100

    engine.failing = True
    jobs.run_pending()
    assert jobs.get(job["id"])["status"] == FAILED
    assert music.credits.balance() == 100  # a failed generation costs nothing

    music.credits.settings.daily_credits = 0
    assert music.credits.balance() is None and music.credits.summary()["credits"] is None and music.credits.summary()["unlimited"] is True


def test_a_generation_past_the_balance_is_refused_and_queues_nothing(studio):
    music, jobs, _, _ = studio
    music.credits.settings.daily_credits = 30
    music.generation.submit_generation({**SPEC, "duration": 120})  # 20 credits
    with pytest.raises(InsufficientCredits) as refused:
        music.generation.submit_generation({**SPEC, "duration": 90})  # 15 > 10 left
    assert refused.value.needed == 15 and refused.value.balance == 10
    assert len(_job_ids(jobs)) == 1


def test_generation_records_a_track_with_its_files(studio):
    music, jobs, _, published = studio
    job = music.generation.submit_generation(SPEC, title="Rainy window", extra={"prompt": "rain"})
    assert job["status"] == QUEUED and job["resolved_spec"]["title"] == "Rainy window"
    assert jobs.run_pending() == 1
    done = jobs.get(job["id"])
    assert done["status"] == COMPLETED and done["result"]["duration_s"] == 4
    track = music.library.track_for_generation(job["id"])
    assert track["title"] == "Rainy window" and track["prompt"] == "rain"
    assert set(track["files_raw"]) == {"wav", "score"}
    path, row = music.library.media_file(track["files_raw"]["wav"])
    assert path.exists() and row["job_id"] == job["id"]
    assert any(name == "generation_progress" and data["generation_id"] == job["id"] for name, data in published)


def test_unknown_singer_is_a_404_before_anything_is_queued(studio):
    music, jobs, _, _ = studio
    with pytest.raises(SingerError) as missing:
        music.generation.submit_generation({**SPEC, "singer": {"character_id": "ghost"}})
    assert missing.value.http_status == 404 and "ghost" in missing.value.message
    assert music.generation.with_singer({**SPEC, "singer": {"character_id": "nova"}})["singer"]["voice"] == "joe"
    assert _job_ids(jobs) == []


# --- batches ------------------------------------------------------------------------------------
def test_batch_records_its_group_and_releases_held_slots(studio):
    music, jobs, engine, published = studio
    items = [{"fields": {**SPEC, "seed": seed}, "title_suffix": f"v{seed}"} for seed in (1, 2, 3)]
    batch = music.batches.submit_batch(items, concurrency=1, notify_when_all_complete=True,
                                       webhook={"url": "http://example.test/hook", "events": ["batch_completed"]})
    ids = [j["id"] for j in batch["jobs"]]
    assert batch["batch_id"].startswith("batch_") and all(i.startswith("gen_") for i in ids)
    assert len(set(ids)) == 3 and batch["credits_used"] == round(3 * credits_for(4), 2)
    for job_id in ids:
        params = jobs.get(job_id)["params"]
        assert params["batch_id"] == batch["batch_id"]
        assert params["batch"] == {"generation_ids": ids, "concurrency": 1, "notify_when_all_complete": True}
    # One slot: the first is with the workers, the others are held queued with a stage saying why.
    assert jobs.pending == 1
    assert [jobs.get(i)["stage"] for i in ids[1:]] == ["waiting for a batch slot (1 at a time)"] * 2
    assert batch["jobs"][1]["resolved_spec"]["title"].endswith("(v2)")

    assert jobs.run_pending(limit=1) == 1  # the first finishes and frees its slot for the second
    assert jobs.get(ids[1])["stage"] is None and jobs.pending == 1
    assert jobs.get(ids[2])["status"] == QUEUED and jobs.get(ids[2])["stage"].startswith("waiting")
    jobs.run_pending()
    assert engine.rendered == ids  # in order, one at a time
    finished = [data for name, data in published if name == "batch_completed"]
    assert len(finished) == 1
    assert finished[0]["batch_id"] == batch["batch_id"] and finished[0]["completed"] == 3
    assert finished[0]["webhook"]["url"] == "http://example.test/hook"


def test_a_cancelled_batch_member_frees_its_slot(studio):
    music, jobs, engine, published = studio
    items = [{"fields": {**SPEC, "seed": seed}} for seed in (1, 2)]
    batch = music.batches.submit_batch(items, concurrency=1, notify_when_all_complete=False)
    first, second = (j["id"] for j in batch["jobs"])
    jobs.cancel(first)
    assert jobs.get(second)["stage"] is None  # released by the cancellation
    jobs.run_pending()
    assert engine.rendered == [second]
    done = [data for name, data in published if name == "batch_completed"]
    assert done[0]["cancelled"] == 1 and done[0]["completed"] == 1 and done[0]["webhook"] is None


def test_a_batch_is_paid_and_validated_whole_or_not_queued(studio):
    music, jobs, _, _ = studio
    music.credits.settings.daily_credits = 10
    items = [{"fields": {**SPEC, "duration": 40}} for _ in range(2)]  # 2 x 6.67 credits > 10
    with pytest.raises(InsufficientCredits):
        music.batches.submit_batch(items, concurrency=2, notify_when_all_complete=False)
    with pytest.raises(ValidationError) as invalid:
        music.batches.submit_batch([{"fields": SPEC}, {"fields": {**SPEC, "duration": MAX_DURATION_S + 1}}],
                                   concurrency=2, notify_when_all_complete=False)
    assert invalid.value.batch_index == 1  # names the item, for the route's 422
    assert _job_ids(jobs) == []


# --- extend -------------------------------------------------------------------------------------
def test_extend_continues_a_track_and_charges_only_the_new_seconds(studio):
    music, jobs, _, _ = studio
    music.generation.submit_generation(SPEC)
    jobs.run_pending()
    track = music.library.list_tracks()[1][0]

    job = music.generation.submit_extend(track["id"], 3.0, seed=7)
    params = jobs.get(job["id"])["params"]
    assert params["extend_of"] == track["id"] and params["additional_duration_s"] == 3.0 and params["extend_seed"] == 7
    assert job["credits_used"] == credits_for(3.0)
    assert job["resolved_spec"]["title"] == track["spec"]["title"]
    jobs.run_pending()
    longer = music.library.track_for_generation(job["id"])
    assert longer["parent_track_id"] == track["id"] and longer["duration_s"] == pytest.approx(7.0)
    assert jobs.get(job["id"])["title"] == f"{track['title']} (extended)"

    with pytest.raises(ValueError, match="longest track"):
        music.generation.submit_extend(track["id"], MAX_DURATION_S)


def test_a_track_without_a_score_cannot_be_extended(studio):
    music, jobs, _, _ = studio
    music.generation.submit_generation(SPEC)
    jobs.run_pending()
    track = music.library.list_tracks()[1][0]
    with music.library.db.session() as s:
        from studio.db.models import Track

        row = s.get(Track, track["id"])
        row.files = {k: v for k, v in row.files.items() if k != "score"}
    with pytest.raises(ValueError, match="no stored score"):
        music.generation.submit_extend(track["id"], 3.0)


# --- retries ------------------------------------------------------------------------------------
def test_only_failed_or_cancelled_generations_are_retried_with_the_same_parameters(studio):
    music, jobs, engine, _ = studio
    engine.failing = True
    failed = music.generation.submit_generation(SPEC)
    jobs.run_pending()
    assert jobs.get(failed["id"])["status"] == FAILED

    engine.failing = False
    retry = music.generation.retry_generation(failed["id"])
    assert retry["retry_of"] == failed["id"] and retry["params"] == jobs.get(failed["id"])["params"]
    assert retry["queue_position"] == 1 and retry["estimated_time_s"] > 0
    jobs.run_pending()
    assert jobs.get(retry["id"])["status"] == COMPLETED

    with pytest.raises(JobStateError, match="completed"):
        music.generation.retry_generation(retry["id"])
    queued = music.generation.submit_generation(SPEC)
    with pytest.raises(JobStateError, match="still running"):
        music.generation.retry_generation(queued["id"])
    jobs.cancel(queued["id"])
    assert jobs.get(queued["id"])["status"] == CANCELLED
    assert music.generation.retry_generation(queued["id"])["retry_of"] == queued["id"]
    with pytest.raises(UnknownJob):
        music.generation.retry_generation("gen_ffffffffffffffff")


def test_a_retry_is_refused_when_the_budget_is_spent(studio):
    music, jobs, engine, _ = studio
    engine.failing = True
    failed = music.generation.submit_generation({**SPEC, "duration": 60})
    jobs.run_pending()
    music.credits.settings.daily_credits = 5
    with pytest.raises(InsufficientCredits):
        music.generation.retry_generation(failed["id"])
    assert len(_job_ids(jobs)) == 1


# --- playlists ----------------------------------------------------------------------------------
PLAN = dict(track_count=3, total_duration_s=10.0, cohesion="high", transition_style="crossfade", transition_s=1.0,
            tempo_range=(80.0, 100.0), allow_key_changes=False, tempo_variation_bpm=0.0,
            instrumentation_variation=False, seed=5)


def test_plan_playlist_fits_the_total_and_repeats_with_the_seed():
    base = {"style": "lofi_hip_hop", "audio_quality": "draft"}
    tracks, plan = plan_playlist(base, **PLAN)
    assert (tracks, plan) == plan_playlist(base, **PLAN)
    assert len(tracks) == 3 and len({t["seed"] for t in tracks}) == 3
    # The tracks overlap at each of the two transitions: 3 x 4 s - 2 x 1 s = 10 s of mix.
    assert all(t["duration"] == 4.0 for t in tracks) and plan["track_duration_s"] == 4.0
    assert len({t["key"] for t in tracks}) == 1  # no key changes asked for
    tempos = [t["tempo"] for t in tracks]
    assert tempos == sorted(tempos) and 80 <= tempos[0] and tempos[-1] <= 100  # high cohesion climbs
    assert plan["transition"] == {"style": "crossfade", "seconds": 1.0}
    with pytest.raises(ValueError, match="total_duration"):
        plan_playlist(base, **{**PLAN, "total_duration_s": 3 * MAX_DURATION_S})


def test_playlist_queues_its_tracks_then_mixes_them_once_they_finish(studio):
    music, jobs, _, published = studio
    tracks, plan = plan_playlist({"style": "lofi_hip_hop", "audio_quality": "draft"}, **PLAN)
    playlist = music.playlists.submit_playlist(name="Night drive", description=None, tracks=tracks, plan=plan)
    playlist_id = playlist["playlist_id"]
    ids = [j["id"] for j in playlist["jobs"]]
    assert playlist_id.startswith("playlist_") and playlist["credits_used"] == round(3 * credits_for(4.0), 2)
    assert [jobs.get(i)["params"]["playlist_position"] for i in ids] == [1, 2, 3]
    assert all(jobs.get(i)["params"]["playlist_id"] == playlist_id for i in ids)
    assert [j["resolved_spec"]["title"] for j in playlist["jobs"]][0] == "Night drive - 01"
    mix = jobs.get(playlist_id)
    assert mix["kind"] == PLAYLIST_KIND and mix["stage"] == "waiting for the playlist's tracks"
    assert jobs.pending == 3  # the mix is held until the tracks are done

    jobs.run_pending()
    state = music.playlists.playlist(playlist_id)
    assert [t["id"] for t in state["tracks"]] == ids and state["mix"]["status"] == COMPLETED
    result = state["mix"]["result"]
    assert set(result["files"]) == {"wav", "mp3"} and result["duration_s"] == pytest.approx(10.0, abs=0.01)
    assert [t["generation_id"] for t in result["tracks"]] == ids and result["skipped"] == []
    assert music.library.media_file(result["files"]["mp3"])[1]["kind"] == "playlist_mix"
    done = [data for name, data in published if name == "playlist_completed"]
    assert len(done) == 1 and done[0]["playlist_id"] == playlist_id and done[0]["status"] == COMPLETED
    with pytest.raises(UnknownJob):
        music.playlists.playlist(ids[0])  # a track is not a playlist


def test_a_playlist_is_paid_whole_or_not_queued(studio):
    music, jobs, _, _ = studio
    music.credits.settings.daily_credits = 1
    tracks, plan = plan_playlist({"style": "lofi_hip_hop"}, **PLAN)
    with pytest.raises(InsufficientCredits):
        music.playlists.submit_playlist(name="Too much", description=None, tracks=tracks, plan=plan)
    assert _job_ids(jobs) == [] and _job_ids(jobs, PLAYLIST_KIND) == []


# --- statistics -----------------------------------------------------------------------------------
def test_estimates_use_the_measured_speed_once_there_is_one(studio):
    music, jobs, _, _ = studio
    assert "assuming" in music.statistics.estimate_basis()
    music.generation.submit_generation(SPEC)
    jobs.run_pending()
    assert music.statistics.measured_realtime_factor() == pytest.approx(400.0)
    assert "median speed" in music.statistics.estimate_basis()
    stats = music.statistics.analytics(30)
    assert stats["total_generations"] == 1 and stats["successful_generations"] == 1
    assert stats["top_styles"][0]["style_id"] == "lofi_hip_hop"
