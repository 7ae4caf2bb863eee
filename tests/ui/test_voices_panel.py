"""The Voices panel: create the default characters, make one speak and hear it, tune a voice,
write and voice an introduction, and refuse bad recordings for voice matching."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from studio.ui.panels.voices import MatchVoiceDialog, VoicesPanel

TIMEOUT_MS = 120_000


def test_characters_speak_and_write(window, services, qtbot, sink, message_boxes):
    panel = window.show_panel("voices")
    assert isinstance(panel, VoicesPanel)
    assert panel.character_ids() == [] and panel.empty.isVisibleTo(panel)

    panel.initialize()
    assert len(panel.character_ids()) == 8 and not panel.empty.isVisibleTo(panel)
    assert not panel.init_button.isVisibleTo(panel)  # all eight exist
    assert panel.select_character("zara_trap")
    assert panel.name_label.text() == "Zara · Trap" and "Confident" in panel.about_label.text()
    assert panel.pitch_spin.value() == -1.5 and panel.emotion_combo.currentText() == "excited"
    # the base voice combo: built-in male and female voices; Zara is a transform of the female one
    bases = [panel.base_voice_combo.itemData(i) for i in range(panel.base_voice_combo.count())]
    assert bases[:2] == ["en_US-joe-medium", "hibari-heart"]
    assert panel.base_voice_combo.currentData() == "hibari-heart"
    assert "female" in panel.base_voice_combo.currentText()

    # speak: the job runs, the piece lands in the history and plays in the player bar
    panel.say_edit.setText("It's Zara, let's get it!")
    row = panel.speak()
    assert row["id"].startswith("synth_") and panel.content_table.rowCount() == 1
    qtbot.waitUntil(lambda: window.player_bar.playing and sink.frames > 0, timeout=TIMEOUT_MS)
    assert panel.content_rows[0]["status"] == "completed" and panel.status_label.text() == "Done"
    window.player_bar.stop()

    # empty text: a clear message, nothing queued
    panel.say_edit.setText("   ")
    assert panel.speak() is None and "text is empty" in panel.last_error
    assert panel.content_table.rowCount() == 1

    # tune the voice and save it
    panel.pitch_spin.setValue(5.5)
    panel.emotion_combo.setCurrentText("confident")
    assert set(panel.save_voice()) == {"voice"}
    assert services.voices.characters.get_character("zara_trap")["voice_settings"]["pitch_semitones"] == 5.5
    panel.base_voice_combo.setCurrentIndex(panel.base_voice_combo.findData("en_US-joe-medium"))
    assert set(panel.save_voice()) == {"voice"}
    assert services.voices.characters.get_character("zara_trap")["voice_settings"]["base_voice"] == "en_US-joe-medium"
    assert panel.voice_form()["base_voice"] == "en_US-joe-medium"

    # write and voice an introduction: the script shows at once, the audio follows
    panel.type_combo.setCurrentIndex(panel.type_combo.findData("introduction"))
    panel.topic_edit.setText("my new mixtape")
    panel.duration_spin.setValue(5)
    panel.write_and_voice()
    qtbot.waitUntil(lambda: panel.last_script is not None, timeout=10_000)
    assert "my new mixtape" in panel.script_view.toPlainText()
    qtbot.waitUntil(lambda: all(r["status"] == "completed" for r in panel.content_rows) and len(panel.content_rows) == 2,
                    timeout=TIMEOUT_MS)
    assert panel.content_rows[0]["type"] == "introduction"


def test_match_dialog_refuses_bad_recordings(window, services, qtbot, tmp_path):
    panel = window.show_panel("voices")
    panel.initialize()
    dialog = MatchVoiceDialog(services.voices, panel.characters, "luna_lofi", panel)
    qtbot.addWidget(dialog)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000 * 5, dtype=np.float32), 16000)
    dialog.set_paths([silent])
    assert "silent" in dialog.sample_table.item(0, 3).text() and "cannot be used" in dialog.total_label.text()
    dialog.name_edit.setText("Me")
    assert dialog.submit() is None and "silent" in dialog.error_label.text()
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    dialog.set_paths([notes])
    assert dialog.submit() is None and "unsupported" in dialog.error_label.text()
    assert services.voices.catalog.list_voices() == []


def test_create_panel_offers_characters_as_singers(window, services, qtbot):
    create = window.show_panel("create")
    assert create.form.singer_combo.count() == 2  # Automatic and the lead instrument before characters exist
    window.show_panel("voices").initialize()
    qtbot.waitUntil(lambda: create.form.singer_combo.count() == 10, timeout=5000)
    create.apply_fields({"prompt": "summer pop song", "style": "pop", "duration": 8, "instrumental": False,
                         "lyrics": {"enabled": True, "theme": "summer nights"},
                         "singer": {"character_id": "aria_classical"}})
    assert create.form.singer_combo.currentData() == "aria_classical"
    assert create.fields()["singer"] == {"character_id": "aria_classical"}
    spec = create.update_preview()
    assert spec["singer"]["name"] == "Aria"
    assert "sung by Aria" in create.preview_box.labels["instrumental"].text()
    assert "sung by Aria" in create.form.lyrics_note.text()
    # hip-hop raps its lyrics, and the form says so
    create.apply_fields({"prompt": "late night cypher", "style": "boom_bap", "duration": 8, "instrumental": False,
                         "lyrics": {"enabled": True, "theme": "the city"}, "singer": {"character_id": "aria_classical"}})
    spec = create.update_preview()
    assert spec["sources"]["singer"] == "explicit character_id 'aria_classical' -> Aria raps"
    assert "rapped by Aria" in create.preview_box.labels["instrumental"].text()
    assert "rapped by Aria" in create.form.lyrics_note.text()


def test_create_edit_delete_preview_script_and_batch(window, services, qtbot, sink, message_boxes, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from studio.ui.dialogs.character_dialog import CharacterDialog

    panel = window.show_panel("voices")
    panel.initialize()

    # a new character through the dialog (a missing name is refused in the dialog)
    dialog = panel.open_character_dialog(None)
    assert isinstance(dialog, CharacterDialog)
    assert dialog.save() is None and "name" in dialog.error_label.text()
    dialog.name_edit.setText("Milo")
    dialog.genre_edit.setText("Folk")
    dialog.style_combo.setCurrentIndex(dialog.style_combo.findData("folk"))
    dialog.summary_edit.setText("Wandering folk singer")
    dialog.trait_sliders["humor"].setValue(80)
    dialog.greetings_edit.setPlainText("Hello there, Milo here.\nEvening, friends.")
    dialog.vocabulary_edit.setText("earthy, gentle, warm")
    milo = dialog.save()
    assert milo["id"] == "milo_folk" and milo["personality_traits"]["humor"] == 0.8
    assert milo["words"]["greetings"] == ["Hello there, Milo here.", "Evening, friends."]
    assert "milo_folk" in panel.character_ids() and panel.character["id"] == "milo_folk"

    # edit: the dialog opens filled in
    dialog = panel.open_character_dialog(panel.character)
    assert dialog.name_edit.text() == "Milo" and dialog.trait_sliders["humor"].value() == 80
    dialog.backstory_edit.setPlainText("Grew up by the sea.")
    dialog.save()
    assert services.voices.characters.get_character("milo_folk")["backstory"] == "Grew up by the sea."

    # preview unsaved voice settings: plays, nothing is stored
    panel.pitch_spin.setValue(4.0)
    panel.preview_voice()
    qtbot.waitUntil(lambda: window.player_bar.playing and sink.frames > 0, timeout=60_000)
    assert window.player_bar.title == "Milo: preview"
    window.player_bar.stop()
    assert services.voices.characters.get_character("milo_folk")["voice_settings"]["pitch_semitones"] == 0.0
    assert panel.content_table.rowCount() == 0

    # write a script into the editor, edit it, speak it
    panel.topic_edit.setText("the harvest fair")
    panel.duration_spin.setValue(8)
    panel.write_script()
    qtbot.waitUntil(lambda: "harvest fair" in panel.script_view.toPlainText(), timeout=10_000)
    assert panel.script_view.toPlainText().startswith(("Hello there, Milo here.", "Evening, friends."))
    panel.script_view.setPlainText("Evening, friends. Tonight we sing by the fire.")
    row = panel.speak_script()
    assert row["text"] == "Evening, friends. Tonight we sing by the fire."
    qtbot.waitUntil(lambda: panel.content_rows and panel.content_rows[0]["status"] == "completed", timeout=120_000)

    # batch: two characters x one piece
    batch = panel.open_batch_dialog()
    batch.set_selection(["luna_lofi", "kai_lofi"], ["outro"])
    batch.duration_spin.setValue(4)
    batch.submit()
    qtbot.waitUntil(lambda: batch.result is not None, timeout=10_000)
    assert len(batch.result["operations"]) == 2
    empty = panel.open_batch_dialog()
    empty.submit()
    qtbot.waitUntil(lambda: bool(empty.error_label.text()), timeout=5000)
    assert "characters is empty" in empty.error_label.text()
    for op in batch.result["operations"]:
        qtbot.waitUntil(lambda op=op: services.voices.content.get_content(op["content_id"])["status"] != "processing",
                        timeout=120_000)

    # delete, after confirming
    panel.select_character("milo_folk")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert panel.delete_character()
    assert "milo_folk" not in panel.character_ids()


def test_match_wizard_shows_the_fit_and_saves_the_voice(window, services, qtbot, tmp_path):
    """Recordings of a made-up speaker (the built-in voice reshaped) through the wizard: facts per
    sample, then the fitted transform and similarity before/after; the voice becomes Nova's."""
    from studio.engine.instruments.voice import VoiceSettings, speak

    panel = window.show_panel("voices")
    panel.initialize()
    panel.select_character("nova_synthwave")
    paths = []
    for i, text in enumerate(("Welcome to the late show, where the city never sleeps and neither do we.",
                              "Tonight I have three new songs for you, all recorded on old tape machines.")):
        audio, rate = speak(text, VoiceSettings(pitch_semitones=4.0, formant_shift=1.1), deterministic=True)
        paths.append(tmp_path / f"take{i}.wav")
        sf.write(paths[-1], audio, rate)
    dialog = panel.open_match_dialog()
    dialog.set_paths(paths)
    assert dialog.sample_table.rowCount() == 2 and dialog.sample_table.item(0, 3).text() == "ok"
    assert "s of usable audio" in dialog.total_label.text()
    dialog.name_edit.setText("Late show voice")
    assert dialog.character_combo.currentData() == "nova_synthwave"
    assert dialog.submit()["samples_uploaded"] == 2 and not dialog.match_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=240_000)
    assert "Similarity to your recordings" in dialog.progress_label.text() and "Saved" in dialog.progress_label.text()
    qtbot.waitUntil(lambda: panel.voice_combo.currentData() == dialog.outcome["voice_id"], timeout=5000)
    assert "matched" in panel.voice_note.text() and "after" in panel.voice_note.text()
