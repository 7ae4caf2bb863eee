import json

from PySide6.QtCore import Qt


def test_settings_dialog_saves_a_change(window, services, qtbot, settings):
    dialog = window.open_settings()
    assert dialog.isVisible()
    assert dialog.fields["port"].value() == services.settings.port
    assert dialog.rate_table.rowCount() == len(services.settings.rate_limits)

    dialog.fields["max_concurrent"].setValue(2)
    dialog.fields["port"].setValue(8123)
    dialog.rate_table.item(0, 1).setText("42")
    group = dialog.rate_table.item(0, 0).text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert not dialog.isVisible()
    result = dialog.last_result
    assert set(result["updated_settings"]) == {"max_concurrent", "port", "rate_limits"}
    assert result["restart_required"] is True and result["restart_fields"] == ["port"]
    assert services.settings.port == 8123 and services.context.jobs.max_concurrent == 2
    assert services.settings.rate_limits[group].requests == 42
    stored = json.loads((settings.home / "settings.json").read_text())
    assert stored["port"] == 8123 and stored["rate_limits"][group]["requests"] == 42
    assert "host" not in stored  # unchanged fields are not written
    assert "Restart Studio" in window.statusBar().currentMessage()
    assert window.restart_notice.isVisible()
    window.restart_notice.accept()


def test_settings_dialog_rejects_a_bad_value(window, services, qtbot, settings, message_boxes):
    before = services.settings.model_dump()
    dialog = window.open_settings()
    dialog.rate_table.item(1, 1).setText("0")
    group = dialog.rate_table.item(1, 0).text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert dialog.isVisible()  # stays open to fix it
    kind, title, text = message_boxes[-1]
    assert kind == "warning" and title == "Settings not saved"
    assert f"Rate limits › {group} › requests" in text and "greater than or equal to 1" in text
    assert services.settings.model_dump() == before
    assert not (settings.home / "settings.json").exists()

    dialog.rate_table.item(1, 1).setText("lots")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "valid integer" in message_boxes[-1][2] and dialog.isVisible()

    dialog.rate_table.item(1, 1).setText("5")
    dialog.soundfont_edit.setText(str(settings.home / "missing.sf2"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "SoundFont: no such file" in message_boxes[-1][2]
    assert services.settings.model_dump() == before
    dialog.reject()


def test_saving_without_changes_writes_nothing(window, settings, qtbot):
    dialog = window.open_settings()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.last_result["updated_settings"] == []
    assert not (settings.home / "settings.json").exists()


def test_folders_and_own_services_the_api_may_reach(window, services, qtbot, settings, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    samples = tmp_path / "samples"
    samples.mkdir()
    dialog = window.open_settings()
    assert dialog.folders_list.count() == 0 and dialog.hosts_edit.text() == ""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(samples)))
    qtbot.mouseClick(dialog.add_folder_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.add_folder_button, Qt.MouseButton.LeftButton)  # the same folder once only
    assert dialog.folders_list.count() == 1
    dialog.hosts_edit.setText("nas.local, 192.168.1.0/24")
    assert dialog.fields["daily_credits"].text() == "unlimited"
    dialog.fields["daily_credits"].setValue(300)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert not dialog.isVisible()
    assert services.settings.allowed_folders == [samples.resolve()]
    assert services.settings.allowed_private_hosts == ["nas.local", "192.168.1.0/24"]
    assert services.music.credits.summary()["daily_allowance"] == 300
    assert services.settings.allowed_path(str(samples / "take.wav"), "audio_path") == samples.resolve() / "take.wav"
    stored = json.loads((settings.home / "settings.json").read_text())
    assert stored["allowed_folders"] == [str(samples.resolve())]

    dialog = window.open_settings()
    assert dialog.folders_list.item(0).text() == str(samples.resolve())
    dialog.folders_list.item(0).setSelected(True)
    qtbot.mouseClick(dialog.remove_folder_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert services.settings.allowed_folders == []


def test_a_system_soundfont_is_offered_and_chosen(window, services, qtbot, tmp_path, monkeypatch):
    from studio.engine.instruments import soundfont as sfmod
    from tests.engine.test_soundfont import build_sf2, sine_sample

    folder = tmp_path / "sf2"
    folder.mkdir()
    font = build_sf2([{"data": sine_sample(440.0, seconds=0.1)}], [("sine", [{sfmod.GEN_SAMPLE_ID: 0}])],
                     [("Piano", 0, 0, [{sfmod.GEN_INSTRUMENT: 0}])], name="Big System GM")
    (folder / "Big.sf2").write_bytes(font)
    monkeypatch.setattr(sfmod, "SYSTEM_SOUNDFONT_DIRS", (str(folder),))

    dialog = window.open_settings()
    choice = dialog.soundfont_choice
    assert [choice.itemText(i) for i in range(choice.count())][0].startswith("Built-in General MIDI")
    index = choice.findData(str(folder / "Big.sf2"))
    assert index > 0 and "Big System GM" in choice.itemText(index)
    choice.setCurrentIndex(index)
    choice.activated.emit(index)
    assert dialog.soundfont_edit.text() == str(folder / "Big.sf2")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert services.settings.soundfont_path == folder / "Big.sf2"

    dialog = window.open_settings()  # reopened, the choice shows the font in use; Built-in clears it
    assert dialog.soundfont_choice.currentIndex() == index
    dialog.soundfont_choice.activated.emit(0)
    assert dialog.soundfont_edit.text() == ""
    dialog.reject()
