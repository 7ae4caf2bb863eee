import filecmp

import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from studio.db.models import Track
from studio.ui.dialogs.export_dialog import export_plan
from studio.ui.dialogs.track_edit import EditTrackDialog, parse_tags
from studio.ui.panels.music.library import LibraryPanel
from studio.ui.widgets.stem_mixer import StemMixer

GENERATION_TIMEOUT_MS = 180_000


def add_track(services, track_id, title, style="pop", tempo=100.0, duration=30.0, **extra):
    """A library row without audio (the list, search and sort need no files)."""
    with services.context.db.session() as s:
        s.add(Track(id=track_id, title=title, prompt=extra.pop("prompt", title), style=style, genre="Pop",
                    mood="calm", tempo_bpm=tempo, key="C_major", duration_s=duration, seed=1, **extra))


def generate(window, qtbot, prompt, **form):
    create = window.show_panel("create")
    create.set_prompt(prompt)
    create.form.duration_spin.setValue(4)
    create.form.quality_combo.setCurrentIndex(create.form.quality_combo.findData("draft"))
    if "theme" in form:
        create.form.theme_edit.setText(form["theme"])
    jobs = create.generate()
    assert len(jobs) == 1
    card = create.jobs_view.cards[jobs[0]["id"]]
    qtbot.waitUntil(lambda: card.job["status"] in ("completed", "failed"), timeout=GENERATION_TIMEOUT_MS)
    assert card.job["status"] == "completed", card.job.get("error")
    return card.track_id


def test_empty_library_says_so(window):
    panel = window.show_panel("library")
    assert isinstance(panel, LibraryPanel)
    assert panel.track_list.currentIndex() == 1 and "No tracks yet" in panel.track_list.list_empty.text()
    assert panel.details.currentWidget() is panel.details.none_page
    panel.primary_action()  # nothing selected: nothing happens
    assert panel.delete_selected() is False and panel.export_selected() is None


def test_search_filter_sort_and_live_updates(window, services, qtbot):
    add_track(services, "trk_a", "Alpha Rain", style="lofi_hip_hop", tempo=80, duration=20)
    add_track(services, "trk_b", "Bravo Drive", style="synthwave", tempo=110, duration=90)
    add_track(services, "trk_c", "Charlie Night", style="synthwave", tempo=95, duration=45, prompt="night drive")
    panel = window.show_panel("library")
    panel.refresh()
    assert sorted(panel.track_ids()) == ["trk_a", "trk_b", "trk_c"]
    assert panel.filters.count_label.text() == "3 tracks"

    panel.filters.search_edit.setText("drive")  # title or prompt
    qtbot.waitUntil(lambda: sorted(panel.track_ids()) == ["trk_b", "trk_c"], timeout=3000)
    panel.filters.search_edit.clear()
    panel.filters.style_filter.setCurrentIndex(panel.filters.style_filter.findData("synthwave"))
    assert sorted(panel.track_ids()) == ["trk_b", "trk_c"]
    panel.filters.style_filter.setCurrentIndex(panel.filters.style_filter.findData("jazz"))
    assert panel.track_ids() == [] and "No track matches" in panel.track_list.list_empty.text()
    panel.filters.style_filter.setCurrentIndex(0)

    panel.filters.sort_combo.setCurrentIndex(panel.filters.sort_combo.findText("Title A–Z"))
    assert panel.track_ids() == ["trk_a", "trk_b", "trk_c"]
    panel.track_list.table.horizontalHeader().sectionClicked.emit(2)  # BPM, fastest first
    assert panel.track_ids() == ["trk_b", "trk_c", "trk_a"]
    panel.track_list.table.horizontalHeader().sectionClicked.emit(2)  # again: slowest first
    assert panel.track_ids() == ["trk_a", "trk_c", "trk_b"]
    assert panel.filters.sort_combo.currentText() == "Slowest"
    panel.track_list.table.horizontalHeader().sectionClicked.emit(3)  # Length, longest first
    assert panel.track_ids() == ["trk_b", "trk_c", "trk_a"]

    assert panel.select_track("trk_c")
    assert panel.track["id"] == "trk_c" and panel.details.detail_title.text() == "Charlie Night"
    assert not panel.details.play_button.isEnabled()  # no audio file
    assert not panel.details.extend_button.isEnabled()  # no stored score
    assert "no audio file" in panel.details.waveform.empty_label.text()
    assert "No chord chart" in panel.details.chords_text.toPlainText()
    assert panel.details.stem_mixer.names == [] and panel.details.stem_mixer.empty_label.isVisibleTo(panel.details.stem_mixer)

    # edits and deletions made elsewhere (the API, another panel) arrive through the bus
    services.music.library.update_track("trk_c", {"title": "Charlie Midnight", "tags": ["late"]})
    qtbot.waitUntil(lambda: panel.details.detail_title.text() == "Charlie Midnight", timeout=3000)
    qtbot.waitUntil(lambda: any(panel.track_list.table.item(r, 0).text() == "Charlie Midnight"
                                for r in range(panel.track_list.table.rowCount())), timeout=3000)
    assert "late" in panel.details.overview.fact_labels["tags"].text()
    services.music.library.delete_track("trk_c")
    qtbot.waitUntil(lambda: "trk_c" not in panel.track_ids(), timeout=3000)
    assert panel.track is None and panel.details.currentWidget() is panel.details.none_page

    # selecting a track hidden by the search clears the search
    panel.filters.search_edit.setText("alpha")
    panel.refresh()
    assert panel.select_track("trk_b") and panel.filters.search_edit.text() == ""


def test_edit_dialog_reports_only_changes(qtbot):
    dialog = EditTrackDialog({"id": "t", "title": "Old", "description": None, "tags": ["a"], "is_public": False})
    qtbot.addWidget(dialog)
    assert dialog.changes() == {}
    dialog.title_edit.setText("  New  ")
    dialog.tags_edit.setText("a, b,, b")
    assert dialog.changes() == {"title": "New", "tags": ["a", "b"]}
    dialog.title_edit.setText(" ")
    assert not dialog.save_button.isEnabled()
    assert parse_tags(",x , y,x") == ["x", "y"]


def test_stem_mixer_widget(qtbot):
    mixer = StemMixer()
    qtbot.addWidget(mixer)
    mixer.set_stems(["drums", "bass", "vocals"])
    assert mixer.audible() == ["drums", "bass", "vocals"]
    mixer.set_muted("drums", True)
    assert mixer.audible() == ["bass", "vocals"] and "bass, vocals" in mixer.summary.text()
    mixer.set_solo("vocals", True)
    assert mixer.audible() == ["vocals"]
    mixer.set_solo("drums", True)  # soloed but muted: still silent
    assert mixer.audible() == ["vocals"]
    mixer.set_level("vocals", 50)
    assert mixer.gains() == {"vocals": 0.5}
    mixer.set_muted("vocals", True)
    assert mixer.audible() == [] and not mixer.play_button.isEnabled()
    mixer.reset()
    assert mixer.gains() == {"drums": 1.0, "bass": 1.0, "vocals": 1.0}


def test_generated_track_in_the_library(window, services, qtbot, sink, tmp_path, monkeypatch):
    library = window.panel("library")
    track_id = generate(window, qtbot, "calm lo-fi hip hop with piano", theme="walking home in the rain")
    # it arrives without a refresh: job_completed through the bridge
    qtbot.waitUntil(lambda: track_id in library.track_ids(), timeout=5000)
    window.show_panel("library")
    assert library.select_track(track_id)
    track = library.track
    assert library.details.detail_title.text() == track["title"] == "calm lo-fi hip hop with piano"
    qtbot.waitUntil(lambda: library.details.waveform.has_data, timeout=10000)
    xs, highs = library.details.waveform.high_curve.getData()
    assert len(xs) > 100 and 0.3 < highs.max() <= 1.0
    assert library.details.waveform.duration_s == pytest.approx(track["duration_s"], abs=0.05)
    assert len(library.details.waveform.markers) == len(track["analysis"]["sections"])
    assert "measured" in library.details.overview.fact_labels["tempo"].text() and "LUFS" in library.details.overview.fact_labels["loudness"].text()
    assert library.details.overview.quality_bars["overall_quality"].value() == round(100 * track["quality"]["overall_quality"])
    assert track["analysis"]["tags"][0]["tag"] in library.details.overview.tags_label.text()
    assert "Key:" in library.details.chords_text.toPlainText()
    assert library.details.lyrics.lines and library.details.lyrics.lyrics_list.count() > len(library.details.lyrics.lines)  # + section headers
    assert library.details.stem_mixer.names == list(track["files_raw"]["stems"])

    # play through the player bar (null sink)
    player = window.player_bar
    library.play_selected()
    qtbot.waitUntil(lambda: player.playing and sink.frames > 0, timeout=10000)
    assert player.title == track["title"] and library.player_track_id == track_id
    assert library.details.play_button.text() == "Pause"
    first = library.details.lyrics.lines[0]
    player.seek(first["start"] + 0.05)
    qtbot.waitUntil(lambda: library.details.lyrics.current == 0, timeout=3000)
    assert library.current_lyric_text() == first["text"]
    library.toggle_play()
    assert not player.playing and library.details.play_button.text() == "Play"

    # the stem mixer: solo the bass, play the mix
    library.details.stem_mixer.set_solo("bass", True)
    library.details.stem_mixer.play_button.click()
    qtbot.waitUntil(lambda: player.title.endswith("(bass)") and player.playing, timeout=10000)
    assert library.player_source == "stems" and library.player_track_id == track_id
    library.stop()
    assert not player.playing

    # export through the dialog's underlying method, then through its worker
    dialog = library.export_selected()
    dialog.set_selection(["wav", "midi", "chords_txt"], ["drums"])
    dialog.set_folder(tmp_path / "out")
    written = dialog.export()
    names = sorted(p.name for p in written)
    title = track["title"]
    assert names == sorted([f"{title}.wav", f"{title}.mid", f"{title}.chords.txt", f"{title} (drums).wav"])
    source, _row = services.music.library.media_file(track["files_raw"]["wav"])
    assert filecmp.cmp(source, tmp_path / "out" / f"{title}.wav", shallow=False)
    assert len(export_plan(track, ["wav", "nope"], ["nope"])) == 1  # unknown formats and stems are skipped
    # FLAC was not rendered: the dialog offers it, encoded from the WAV master while exporting
    assert "flac" not in track["files_raw"] and "master" in dialog.format_checks["flac"].text()
    dialog.set_selection(["flac"])
    flac = dialog.export()[0]
    assert flac.name == f"{title}.flac" and sf.info(str(flac)).format == "FLAC"
    assert sf.info(str(flac)).frames == sf.info(str(source)).frames
    flac.unlink()
    dialog.set_selection(["wav", "midi", "chords_txt"], ["drums"])
    with qtbot.waitSignal(dialog.exported, timeout=10000) as exported:
        dialog.ok_button.click()
    assert (tmp_path / "out" / f"{title} (2).wav").is_file()  # never overwrites
    assert len(exported.args[0]) == 4 and not dialog.isVisible()
    assert library.last_export == exported.args[0]

    # reveal: the folder of its audio file
    opened = []
    monkeypatch.setattr("studio.ui.panels.music.library.QDesktopServices.openUrl", lambda url: opened.append(url) or True)
    assert library.reveal_selected()
    assert opened[0].toLocalFile() == str(source.parent)

    # rename through the service the dialog calls; the list follows
    library.save_edit(track_id, {"title": "Rainy Walk", "tags": ["demo"]})
    qtbot.waitUntil(lambda: library.details.detail_title.text() == "Rainy Walk", timeout=3000)

    # extend: a new, longer track
    job = library.extend_selected(seconds=2)
    assert job is not None
    qtbot.waitUntil(lambda: services.context.jobs.get(job["id"])["status"] in ("completed", "failed"),
                    timeout=GENERATION_TIMEOUT_MS)
    assert services.context.jobs.get(job["id"])["status"] == "completed"
    longer = services.context.jobs.get(job["id"])["result"]["track_id"]
    qtbot.waitUntil(lambda: longer in library.track_ids(), timeout=5000)
    assert library.track["id"] == track_id  # the selection stays
    assert services.music.library.track_row(longer)["duration_s"] > track["duration_s"]

    # delete while it plays: cancel first, then confirm
    library.play_selected()
    qtbot.waitUntil(lambda: player.playing, timeout=10000)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert library.delete_selected() is False and track_id in library.track_ids()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert library.delete_selected() is True
    assert not player.playing and library.player_track_id is None
    assert track_id not in library.track_ids() and library.track is None
    with pytest.raises(KeyError):
        services.music.library.track_row(track_id)
    assert not source.exists()
    assert library.track_ids() == [longer]


def test_double_click_and_ctrl_enter_play(window, services, qtbot, sink):
    library = window.panel("library")
    track_id = generate(window, qtbot, "happy pop")
    window.show_panel("library")
    qtbot.waitUntil(lambda: track_id in library.track_ids(), timeout=5000)
    library.select_track(track_id)
    row = library.track_ids().index(track_id)
    rect = library.track_list.table.visualItemRect(library.track_list.table.item(row, 0))
    qtbot.mouseClick(library.track_list.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(library.track_list.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.player_bar.playing, timeout=10000)
    window.primary_action.trigger()  # Ctrl+Enter in the Library: play / pause
    assert not window.player_bar.playing


def test_variations_and_dragging_a_track_out(window, services, qtbot, monkeypatch):
    import studio.ui.panels.music.track_list as track_list_module

    library = window.panel("library")
    track_id = generate(window, qtbot, "happy synthwave")
    window.show_panel("library")
    qtbot.waitUntil(lambda: track_id in library.track_ids(), timeout=5000)
    assert library.select_track(track_id)
    track = library.track
    assert library.details.variations_button.isEnabled()

    # the drag carries the best audio file (WAV here) as a file URL
    data = library.drag_mime_data(track_id)
    assert data.hasUrls() and len(data.urls()) == 1
    dragged = data.urls()[0].toLocalFile()
    source, _row = services.music.library.media_file(track["files_raw"]["wav"])
    assert dragged.endswith(".wav") and filecmp.cmp(dragged, source, shallow=False)
    assert track["title"] in dragged  # named after the track, not the store's id
    row = library.track_ids().index(track_id)
    assert library.track_list.table.mimeData([library.track_list.table.item(row, 0)]).urls() == data.urls()
    execs = []
    monkeypatch.setattr(track_list_module.QDrag, "exec", lambda self, *a, **k: execs.append(self.mimeData().urls()))
    library.track_list.table.startDrag(Qt.DropAction.CopyAction)
    assert execs == [data.urls()]

    # variations: N new takes of its spec, each with its own new seed
    jobs = library.variations_selected(3)
    try:
        assert len(jobs) == 3
        seeds = [j["resolved_spec"]["seed"] for j in jobs]
        assert len(set(seeds)) == 3 and track["seed"] not in seeds
        for job in jobs:
            spec = job["resolved_spec"]
            assert (spec["style"], spec["key"], spec["tempo_bpm"], spec["duration_s"]) == (
                track["style"], track["key"], track["tempo_bpm"], track["spec"]["duration_s"])
            assert spec["sample_rate_hz"] == track["spec"]["sample_rate_hz"]
            assert job["params"]["variation_of"] == track_id and job["params"]["batch_id"]
        assert jobs[0]["title"] == f"{track['title']} (take 2)"
    finally:
        for job in jobs:
            services.context.jobs.cancel(job["id"])


def test_tag_and_date_filters_narrow_the_list(window, services):
    from datetime import timedelta

    from studio.timeutil import utcnow

    add_track(services, "trk_a", "Alpha Rain", tags=["chill", "study"])
    add_track(services, "trk_b", "Bravo Lift", tags=["gym"], created_at=utcnow() - timedelta(days=40))
    assert services.music.library.list_tracks(tag="chill")[0] == 1
    assert services.music.library.list_tracks(search="gym")[0] == 1  # search covers tags too
    panel = window.show_panel("library")
    panel.refresh()
    assert [panel.filters.tag_filter.itemData(i) for i in range(panel.filters.tag_filter.count())] == ["", "chill", "gym", "study"]
    panel.filters.tag_filter.setCurrentIndex(panel.filters.tag_filter.findData("gym"))
    assert panel.track_ids() == ["trk_b"]
    panel.filters.tag_filter.setCurrentIndex(0)
    panel.filters.date_filter.setCurrentIndex(panel.filters.date_filter.findData(30))
    assert panel.track_ids() == ["trk_a"]


def test_an_answer_to_a_trend_links_to_it(window, services, qtbot):
    """Issue #15: a track made for a trend says so in its overview, and the link opens Trends on it
    (an older trend too, one no longer among the current ones)."""
    from datetime import timedelta

    from studio.connectors.charts import ChartEntry
    from studio.db.models import TrendAnswer
    from studio.timeutil import utcnow

    trends = services.trends
    now = utcnow()

    def chart(item_id, title, artist):
        return [ChartEntry(source="deezer", chart="deezer:chart:0", item_id=item_id, title=title, artist=artist,
                           rank=1)]

    (old_id,), _ = trends.scanner.ingest(chart("201", "Old Flame", "Mira"), source="deezer",
                                         scanned_at=now - timedelta(days=5))
    fresh, _ = trends.scanner.ingest(chart("202", "Fresh Cut", "Kilo"), source="deezer", scanned_at=now)
    trends.catalog.rescore([old_id, *fresh], now)
    add_track(services, "trk_plain", "Plain Song")
    add_track(services, "trk_answer", "Answer to Old Flame", generation_id="gen_answer")
    add_track(services, "trk_orphan", "Answer to Gone", generation_id="gen_orphan")
    with services.context.db.session() as s:
        s.add(TrendAnswer(id="hijack_a", trend_id=old_id, job_id="gen_answer", strategy="fast_follower"))
        s.add(TrendAnswer(id="hijack_b", trend_id="trend_gone", job_id="gen_orphan", strategy="fast_follower"))
    panel = window.show_panel("library")
    panel.refresh()
    made_for = panel.details.overview.fact_labels["made_for"]
    caption = panel.details.overview.fact_captions["made_for"]

    assert panel.select_track("trk_plain")
    assert not made_for.isVisibleTo(panel) and not caption.isVisibleTo(panel)

    assert panel.select_track("trk_answer")
    assert made_for.isVisibleTo(panel) and caption.text() == "Made for"
    assert "Answer to the trend “Old Flame” by Mira" in made_for.text() and f"href='{old_id}'" in made_for.text()
    made_for.linkActivated.emit(old_id)  # what clicking the link does
    shown = window.current_panel
    assert shown.key == "trends" and shown.current["id"] == old_id
    assert "Old Flame" in shown.detail.detail_title.text()
    qtbot.wait(700)  # the panel's refresh on showing: the trend stays shown though it is not a current one
    assert [t["id"] for t in shown.trends] == fresh and shown.current["id"] == old_id

    panel = window.show_panel("library")
    assert panel.select_track("trk_orphan")
    assert made_for.isVisibleTo(panel) and "a trend no longer stored" in made_for.text()
    assert "href" not in made_for.text()
    assert panel.select_track("trk_plain") and not made_for.isVisibleTo(panel)
