import pytest
from PySide6.QtCore import Qt

from studio.ui.panels.music.create import CreatePanel
from studio.ui.panels.music.spec_form import EXAMPLE_PROMPTS

GENERATION_TIMEOUT_MS = 180_000


def small(panel: CreatePanel) -> None:
    """Tiny real generations: 4 s at draft quality."""
    panel.form.duration_spin.setValue(4)
    panel.form.quality_combo.setCurrentIndex(panel.form.quality_combo.findData("draft"))


def test_preview_shows_what_the_prompt_is_understood_as(window):
    panel = window.show_panel("create")
    assert isinstance(panel, CreatePanel)
    panel.set_prompt("dark trap beat with 808s in F minor, 140 bpm")
    spec = panel.update_preview()
    assert spec["style"] == "trap" and spec["key"] == "F_minor" and spec["tempo_bpm"] == 140
    assert "808" in spec["instruments"]
    assert "F minor" in panel.preview_box.labels["key"].text()
    assert "prompt" in panel.preview_box.labels["tempo_bpm"].text()  # says where the value came from
    assert "random" in panel.preview_box.labels["seed"].text()

    panel.form.tempo_spin.setValue(100)
    panel.form.key_combo.setCurrentIndex(panel.form.key_combo.findData("A_minor"))
    panel.form.seed_lock.setChecked(True)
    panel.form.seed_spin.setValue(4242)
    spec = panel.update_preview()
    assert spec["tempo_bpm"] == 100 and spec["sources"]["tempo_bpm"] == "explicit"
    assert spec["key"] == "A_minor" and spec["seed"] == 4242
    assert "4242" in panel.preview_box.labels["seed"].text()

    # the preview follows edits by itself (debounced)
    panel.form.prompt_edit.setPlainText("calm lo-fi hip hop")
    panel.form.tempo_spin.setValue(panel.form.tempo_spin.minimum())  # back to Auto
    assert panel.form.tempo_spin.text() == "Auto"
    assert panel.preview_timer.isActive()
    panel.preview_timer.timeout.emit()
    assert panel.preview_spec["style"] == "lofi_hip_hop"


def test_style_search_examples_and_lyrics_controls(window):
    panel = window.show_panel("create")
    completer = panel.form.style_combo.completer()
    assert completer.filterMode() == Qt.MatchFlag.MatchContains
    panel.form.style_combo.setEditText("Lo-fi hip hop")
    assert panel.form.style_value() == "lofi_hip_hop"
    panel.form.style_combo.setEditText(panel.form.style_combo.itemText(0))
    assert panel.form.style_value() is None

    actions = panel.form.examples_button.menu().actions()
    assert [a.text() for a in actions] == list(EXAMPLE_PROMPTS)
    actions[1].trigger()
    assert panel.form.prompt_edit.toPlainText() == EXAMPLE_PROMPTS[1]

    panel.form.theme_edit.setText("the sea at night")
    assert panel.fields()["lyrics"] == {"enabled": True, "theme": "the sea at night"}
    panel.form.own_radio.setChecked(True)
    assert panel.form.lyrics_edit.isVisibleTo(panel) and not panel.form.theme_edit.isVisibleTo(panel)
    panel.form.lyrics_edit.setPlainText("line one\nline two")
    assert panel.fields()["lyrics"] == {"enabled": True, "text": "line one\nline two"}
    assert panel.update_preview()["instrumental"] is False

    panel.form.vocals_combo.setCurrentIndex(panel.form.vocals_combo.findData("instrumental"))
    assert not panel.form.lyrics_edit.isEnabled()
    fields = panel.fields()
    assert fields["instrumental"] is True and "lyrics" not in fields


def test_apply_fields_is_the_template_hook(window):
    panel = window.show_panel("create")
    panel.apply_fields({"prompt": "a walk in the park", "style": "jazz", "mood": "happy", "tempo": 120,
                        "key": "Bb minor", "duration": 30, "instrumental": True, "primary_instruments": ["piano"],
                        "complexity": 0.7, "creativity": 0.2, "seed": 77, "tags": ["demo"],
                        "output_formats": ["wav", "midi"], "audio_quality": "standard"}, title="Park")
    fields = panel.fields()
    assert fields == {
        "prompt": "a walk in the park", "style": "jazz", "mood": "happy", "tempo": 120, "key": "Bb_minor",
        "duration": 30, "instrumental": True, "primary_instruments": ["piano"], "complexity": 0.7,
        "creativity": 0.2, "seed": 77, "tags": ["demo"], "output_formats": ["wav", "midi"],
        "audio_quality": "standard",
    }
    assert panel.form.title_edit.text() == "Park"
    assert panel.form.seed_lock.isChecked() and panel.form.seed_spin.isEnabled()
    panel.apply_fields({"genre": "electronic", "subgenre": "synthwave", "tempo": 100})  # a template's parameters
    assert panel.fields()["style"] == "synthwave" and panel.fields()["tempo"] == 100
    panel.reset_form()
    assert panel.fields().keys() == {"complexity", "creativity", "output_formats", "audio_quality"}
    assert not panel.form.seed_spin.isEnabled()


def test_invalid_fields_open_a_dialog_naming_the_field(window, services, message_boxes):
    panel = window.show_panel("create")
    panel.set_prompt("anything")
    panel.form.style_combo.setEditText("polka-stomp")
    assert panel.update_preview() is None
    assert "Style" in panel.preview_box.error_label.text()
    assert panel.generate() == []
    kind, title, text = message_boxes[-1]
    assert kind == "warning" and title == "Check Style"
    assert "Style: unknown style 'polka-stomp'" in text
    assert services.context.jobs.list()[0] == 0

    panel.form.style_combo.setCurrentIndex(0)
    panel.form.lyrics_edit.setPlainText("x" * 5001)
    panel.form.own_radio.setChecked(True)
    assert panel.generate() == []
    assert message_boxes[-1][1] == "Check Lyrics"


def test_credits_problem_is_reported(window, services, message_boxes, monkeypatch):
    monkeypatch.setattr(services.settings, "daily_credits", 1)
    panel = window.show_panel("create")
    panel.set_prompt("calm piano")
    panel.form.duration_spin.setValue(60)  # 10 credits
    assert "1 credits left today" in (panel.update_preview() and panel.cost_label.text())
    assert panel.generate() == []
    _kind, title, text = message_boxes[-1]
    assert title == "Not enough credits" and "needs 10 credits" in text


def test_variations_queue_one_job_per_seed(window, services, qtbot):
    panel = window.show_panel("create")
    panel.set_prompt("happy synthwave")
    small(panel)
    panel.form.seed_lock.setChecked(True)
    panel.form.seed_spin.setValue(1000)
    panel.variations_spin.setValue(3)
    assert "3 tracks" in (panel.update_preview() and panel.cost_label.text())
    jobs = panel.generate()
    try:
        assert [j["resolved_spec"]["seed"] for j in jobs] == [1000, 1001, 1002]
        assert {j["resolved_spec"]["style"] for j in jobs} == {"synthwave"}
        assert len(panel.jobs_view.cards) == 3 and not panel.jobs_view.jobs_empty.isVisibleTo(panel)
        assert all(panel.jobs_view.cards[j["id"]].spec_label.text().endswith(f"seed {j['resolved_spec']['seed']}")
                   for j in jobs)
    finally:
        for job in jobs:
            services.context.jobs.cancel(job["id"])

    panel.form.seed_lock.setChecked(False)
    panel.variations_spin.setValue(2)
    jobs = panel.generate()
    try:
        seeds = [j["resolved_spec"]["seed"] for j in jobs]
        assert len(seeds) == 2 and seeds[0] != seeds[1]  # random seeds, one each
    finally:
        for job in jobs:
            services.context.jobs.cancel(job["id"])
    qtbot.waitUntil(lambda: all(c.job["status"] == "cancelled" for c in panel.jobs_view.cards.values()),
                    timeout=GENERATION_TIMEOUT_MS)
    assert all(c.result_label.text() == "Cancelled." for c in panel.jobs_view.cards.values())


def test_ctrl_enter_generates_and_the_card_shows_what_came_out(window, services, qtbot):
    panel = window.show_panel("create")
    panel.set_prompt("calm lo-fi hip hop with piano")
    small(panel)
    panel.form.vocals_combo.setCurrentIndex(panel.form.vocals_combo.findData("instrumental"))
    window.primary_action.trigger()  # Ctrl+Enter
    assert len(panel.last_jobs) == 1
    job = panel.last_jobs[0]
    assert job["resolved_spec"]["duration_s"] == 4 and job["resolved_spec"]["sample_rate_hz"] == 22050
    card = panel.jobs_view.cards[job["id"]]
    assert "Lo-fi hip hop" in card.spec_label.text()
    qtbot.waitUntil(lambda: card.job["status"] == "completed", timeout=GENERATION_TIMEOUT_MS)
    assert card.progress.value() == 100
    assert card.result_label.text().startswith("Measured: tempo")
    assert card.track_id and card.library_button.isEnabled()
    assert services.music.library.track_row(card.track_id)["prompt"] == "calm lo-fi hip hop with piano"

    card.reuse_button.click()
    assert panel.form.seed_lock.isChecked() and panel.form.seed_spin.value() == job["resolved_spec"]["seed"]
    assert panel.fields()["style"] == "lofi_hip_hop"

    card.library_button.click()
    library = window.current_panel
    assert library.key == "library"
    qtbot.waitUntil(lambda: library.track is not None and library.track["id"] == card.track_id, timeout=5000)


def test_sung_by_reaches_the_spec(window, services):
    """"Sung by": Automatic infers the singer (and the preview says who and why), a character or
    the instrumental lead goes into the spec the job is queued with."""
    panel = window.show_panel("create")
    combo = panel.form.singer_combo
    panel.set_prompt("dreamy synthwave night drive with female vocals")
    assert combo.currentData() is None and "singer" not in panel.fields()  # Automatic
    spec = panel.update_preview()
    assert spec["singer"]["name"] == "Nova" and spec["sources"]["singer"].startswith("prompt word 'female' -> Nova")
    assert "Nova" in panel.preview_box.labels["singer"].text() and "female" in panel.preview_box.labels["singer"].text()
    assert "sung by Nova" in panel.preview_box.labels["instrumental"].text()

    combo.setCurrentIndex(combo.findData("instrument"))
    assert panel.fields()["singer"] == "instrument"
    spec = panel.update_preview()
    assert spec["singer"] is None and not spec["instrumental"]
    assert "lead instrument" in panel.preview_box.labels["singer"].text()
    assert "lead instrument" in panel.form.lyrics_note.text()

    services.voices.characters.initialize()
    panel.form.refresh_singers()
    combo.setCurrentIndex(combo.findData("rex_rock"))
    assert panel.fields()["singer"] == {"character_id": "rex_rock"}
    small(panel)
    jobs = panel.generate()
    try:
        spec = jobs[0]["resolved_spec"]
        assert spec["singer"]["name"] == "Rex" and spec["sources"]["singer"] == "explicit character_id 'rex_rock' -> Rex sings"
    finally:
        for job in jobs:
            services.context.jobs.cancel(job["id"])
    panel.apply_fields({"prompt": "x", "singer": "instrument"})
    assert combo.currentData() == "instrument"
    panel.reset_form()
    assert combo.currentData() is None


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_prompt_still_resolves(window, text):
    panel = window.show_panel("create")
    panel.set_prompt(text)
    spec = panel.update_preview()
    assert spec["style"] == "pop" and "default" in spec["sources"]["style"]


def test_template_gallery_fills_the_form_and_the_job_records_it(window, services, qtbot):
    panel = window.show_panel("create")
    panel.templates_button.click()
    gallery = panel.gallery
    assert gallery.isVisibleTo(panel) and len(gallery.template_ids()) == len(services.music.templates.templates)
    assert all(not card.usage_label.text() for card in gallery.cards.values())  # never used: no figures
    gallery.set_category("electronic")
    assert set(gallery.template_ids()) == {t.id for t in services.music.templates.search(category="electronic")}
    gallery.search_edit.setText("synthwave night")
    gallery.refresh()
    assert gallery.template_ids() == ["ai_template_001"]
    card = gallery.cards["ai_template_001"]
    assert "Synthwave" in card.name_label.text() and "electronic" in card.meta_label.text()
    assert "sung lyrics" in card.meta_label.text()
    card.use_button.click()
    template = services.music.templates.get("ai_template_001")
    fields = panel.fields()
    assert fields["style"] == "synthwave" and fields["mood"] == template.parameters["mood"]
    assert fields["tempo"] == template.parameters["tempo"] and fields["key"] == template.parameters["key"]
    assert panel.template_id == "ai_template_001" and panel.form.template_row.isVisibleTo(panel)
    assert template.name in panel.form.template_label.text() and card.use_button.text() == "Use again" and "in use" in card.name_label.text()

    small(panel)
    jobs = panel.generate()
    assert len(jobs) == 1 and jobs[0]["params"]["template_id"] == "ai_template_001"
    card_job = panel.jobs_view.cards[jobs[0]["id"]]
    qtbot.waitUntil(lambda: card_job.job["status"] in ("completed", "failed"), timeout=GENERATION_TIMEOUT_MS)
    assert card_job.job["status"] == "completed", card_job.job.get("error")
    assert services.music.templates.usage()["ai_template_001"]["completed"] == 1
    panel.show_gallery(True)  # reopening re-reads the real usage
    assert gallery.cards["ai_template_001"].usage_label.text() == "Used 1 time here"
    panel.reset_form()
    assert panel.template_id is None and not panel.form.template_row.isVisibleTo(panel)


def test_playlist_mode_queues_tracks_and_plays_the_mix(window, services, qtbot, sink):
    panel = window.show_panel("create")
    panel.set_prompt("calm lo-fi hip hop with piano")
    small(panel)
    panel.form.vocals_combo.setCurrentIndex(panel.form.vocals_combo.findData("instrumental"))
    panel.playlist_button.click()
    assert panel.mode == "playlist" and panel.form.playlist_options.isVisibleTo(panel)
    assert not panel.variations_spin.isVisibleTo(panel) and panel.generate_button.text() == "Generate playlist"
    options = panel.form.playlist_options
    options.name_edit.setText("Study Mix")
    options.count_spin.setValue(2)
    options.total_spin.setValue(7)
    options.cohesion_combo.setCurrentIndex(options.cohesion_combo.findData("high"))
    options.tempo_check.setChecked(True)
    options.tempo_lo.setValue(70)
    options.tempo_hi.setValue(90)
    options.keys_check.setChecked(True)
    options.transition_combo.setCurrentIndex(options.transition_combo.findData("crossfade"))
    options.transition_seconds.setValue(1.0)
    spec = panel.update_preview()
    plan = panel.preview_plan
    assert spec["duration_s"] == 4 and plan["track_duration_s"] == 4
    assert len(plan["tracks"]) == 2 and plan["tracks"][0]["key"] != plan["tracks"][1]["key"]  # relative key
    assert all(70 <= t["tempo"] <= 90 for t in plan["tracks"]) and panel.preview_box.plan_label.isVisibleTo(panel)
    assert "2 tracks" in panel.cost_label.text()

    options.total_spin.setValue(1)  # 1 s over two tracks with a 1 s crossfade: impossible
    assert panel.update_preview() is None and "total_duration" in panel.preview_box.error_label.text()
    options.total_spin.setValue(7)

    jobs = window.primary_action.trigger() or panel.last_jobs
    playlist = panel.last_playlist
    assert len(jobs) == 2 and playlist["playlist_id"] in panel.jobs_view.playlist_cards
    assert [j["params"]["playlist_id"] for j in jobs] == [playlist["playlist_id"]] * 2
    assert [j["resolved_spec"]["tempo_bpm"] for j in jobs] == [t["tempo"] for t in plan["tracks"]]
    card = panel.jobs_view.playlist_cards[playlist["playlist_id"]]
    assert not card.play_button.isEnabled()
    qtbot.waitUntil(lambda: card.mix_status in ("completed", "failed", "cancelled"), timeout=2 * GENERATION_TIMEOUT_MS)
    assert card.mix_status == "completed", card.state["mix"].get("error")
    assert card.status_label.text() == "completed" and card.progress.value() == 100
    assert len(card.track_ids) == 2 and card.play_button.isEnabled()

    card.play_button.click()
    player = window.player_bar
    qtbot.waitUntil(lambda: player.playing and sink.frames > 0, timeout=10000)
    assert player.title == "Study Mix (mix)" and panel.mix_playlist_id == playlist["playlist_id"]
    mix = services.music.playlists.playlist(playlist["playlist_id"])["mix"]["result"]
    assert player.player.duration_s == pytest.approx(mix["duration_s"], abs=0.1)
    player.stop()

    card.library_button.click()
    library = window.current_panel
    assert library.key == "library" and library.filters.search_edit.text() == "Study Mix"
    qtbot.waitUntil(lambda: set(card.track_ids) <= set(library.track_ids()), timeout=5000)
    assert library.track is not None and library.track["id"] == card.track_ids[0]
    assert library.track["title"] == "Study Mix - 01"
