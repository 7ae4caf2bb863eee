from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox


def test_api_panel_shows_url_and_server_state(window, services):
    panel = window.show_panel("api")
    assert panel.url_field.value == services.settings.api_base_url
    assert "Not running" in panel.state_label.text()
    assert not panel.docs_button.isEnabled()
    window.set_api_status(True, "listening", "http://127.0.0.1:8765")
    assert panel.url_field.value == "http://127.0.0.1:8765"
    assert panel.state_label.text() == "Running on http://127.0.0.1:8765"
    assert panel.docs_button.isEnabled()
    panel.url_field.copy()
    assert QGuiApplication.clipboard().text() == "http://127.0.0.1:8765"


def test_create_and_revoke_a_key(window, services, qtbot, monkeypatch):
    panel = window.show_panel("api")
    assert panel.keys_table.rowCount() == 0 and panel.keys_empty.isVisible()

    qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
    dialog = panel.create_dialog
    assert dialog.isVisible() and not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.name_edit, "ci-bot")
    dialog.role_combo.setCurrentIndex(dialog.role_combo.findData("user"))
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    shown = panel.created_dialog
    assert shown is not None and shown.isVisible()
    key = shown.key_field.value
    assert key.startswith("sk_")
    identity = services.auth.verify_key(key)
    assert identity is not None and identity.role == "user"
    assert [k["name"] for k in services.auth.list_keys()] == ["ci-bot"]
    assert panel.keys_table.rowCount() == 1
    assert panel.keys_table.item(0, 0).text() == "ci-bot"
    assert panel.keys_table.item(0, 2).text() == "user"
    assert key not in " ".join(panel.keys_table.item(0, c).text() for c in range(panel.keys_table.columnCount()))
    shown.key_field.copy()
    assert QGuiApplication.clipboard().text() == key
    shown.accept()

    # revoke asks first; "Cancel" keeps the key
    panel.keys_table.selectRow(0)
    assert panel.revoke_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(panel.revoke_button, Qt.MouseButton.LeftButton)
    assert services.auth.verify_key(key) is not None

    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.revoke_button, Qt.MouseButton.LeftButton)
    assert "ci-bot" in asked[0]
    assert services.auth.verify_key(key) is None
    assert services.auth.list_keys() == []
    assert panel.keys_table.rowCount() == 0

    panel.show_revoked.setChecked(True)
    assert panel.keys_table.rowCount() == 1
    assert panel.keys_table.item(0, 5).text() == "revoked"
    panel.keys_table.selectRow(0)
    assert not panel.revoke_button.isEnabled()
