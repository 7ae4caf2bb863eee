"""Issue #19's medium findings: a request may not make the studio read a local file outside the
folders the user allowed, nor fetch from or call back to this machine or a private network."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
import soundfile as sf
from aiohttp import web

from studio.connectors.outbound import AddressPolicy
from studio.db.models import MediaFile, Voice


def _wav(seconds: float = 4.0) -> bytes:
    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 180 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    out = io.BytesIO()
    sf.write(out, tone, rate, format="WAV")
    return out.getvalue()


@pytest.fixture
async def user_api(running_services, aiohttp_client):
    from studio.server.app import build_app

    key, _ = running_services.auth.create_key("low", role="user")
    client = await aiohttp_client(build_app(running_services))
    client.auth_headers = {"Authorization": f"Bearer {key}"}
    running_services.voices.characters.initialize()  # the default characters, one of which gets the voice
    return client


@pytest.fixture
async def listener(aiohttp_server):
    """A server on loopback that counts what reaches it (nothing should)."""
    hits: list[str] = []

    async def any_path(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/hop":
            raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/sample.wav")
        return web.Response(body=_wav(), content_type="audio/wav")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", any_path)
    server = await aiohttp_server(app)
    server.hits = hits
    return server


def test_the_policy_refuses_inside_addresses_in_every_spelling():
    policy = AddressPolicy()
    for url in ("http://127.0.0.1/", "http://localhost:8000/", "http://2130706433/", "http://[::1]/",
                "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://10.1.2.3/", "http://192.168.0.9/",
                "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://100.64.0.1/",
                "http://224.0.0.1/", "file:///etc/passwd", "gopher://example.com/", "http:///nohost"):
        assert policy.refusal(url), url
    assert policy.refusal("http://8.8.8.8/x") is None and policy.refusal("https://[2606:4700::1111]/") is None
    mine = AddressPolicy(["192.168.0.0/24", "nas.local", " [::1] "])
    assert mine.refusal("http://192.168.0.9/") is None and mine.refusal("http://[::1]:9/") is None
    assert mine.refusal("http://nas.local/feed") is None  # a listed name is not even resolved
    assert mine.refusal("http://192.168.1.9/") and mine.refusal("http://127.0.0.1/")
    assert "allowed_private_hosts" in policy.refusal("http://127.0.0.1/")


async def test_a_user_key_cannot_copy_local_files_into_the_store(user_api, running_services, tmp_path):
    secret = tmp_path / "elsewhere" / "private.wav"
    secret.parent.mkdir()
    secret.write_bytes(_wav())
    allowed = tmp_path / "samples"
    allowed.mkdir()
    (allowed / "link.wav").symlink_to(secret)  # a link inside the allowed folder leading out of it
    (allowed / "mine.wav").write_bytes(_wav())
    path = "/api/characters/luna_lofi/voice/clone"

    for given in (str(secret), str(allowed / "link.wav"), "samples/mine.wav", str(allowed / ".." / "elsewhere" / "private.wav")):
        resp = await user_api.post(path, json={"name": "x", "audio_path": given}, headers=user_api.auth_headers)
        body = await resp.json()
        assert resp.status == 403 if given.startswith("/") else resp.status in (400, 403), (given, body)
        assert "outside the folders" in body["error"]["message"] or "full path" in body["error"]["message"]
        assert str(tmp_path) not in body["error"]["message"]  # the answer does not echo where files live
    running_services.settings.allowed_folders = [allowed]
    for given in (str(allowed / "link.wav"),):
        resp = await user_api.post(path, json={"name": "x", "audio_path": given}, headers=user_api.auth_headers)
        assert resp.status == 403
    with running_services.context.db.session() as s:
        assert s.query(Voice).count() == 0 and s.query(MediaFile).filter_by(kind="voice_sample").count() == 0

    resp = await user_api.post(path, json={"name": "Mine", "audio_path": str(allowed / "mine.wav")},
                               headers=user_api.auth_headers)
    assert resp.status == 202, await resp.text()


async def test_sample_urls_on_this_machine_are_not_fetched(user_api, running_services, listener):
    port = listener.port
    path = "/api/characters/luna_lofi/voice/clone"
    for url in (f"http://127.0.0.1:{port}/sample.wav", f"http://localhost:{port}/sample.wav",
                f"http://2130706433:{port}/sample.wav", f"http://[::ffff:127.0.0.1]:{port}/sample.wav",
                "http://169.254.169.254/latest/meta-data/iam.wav"):
        resp = await user_api.post(path, json={"name": "x", "audio_url": url}, headers=user_api.auth_headers)
        body = await resp.json()
        assert resp.status == 400 and "private network" in body["error"]["message"], (url, body)
    assert listener.hits == []

    # A host the user allowed may redirect, but only to somewhere that is allowed too.
    running_services.settings.allowed_private_hosts = ["localhost"]
    resp = await user_api.post(path, json={"name": "x", "audio_url": f"http://localhost:{port}/hop"},
                               headers=user_api.auth_headers)
    body = await resp.json()
    assert resp.status == 400 and "127.0.0.1" in body["error"]["message"], body
    assert listener.hits == ["/hop"]  # the redirect's target was never asked

    # A closed port and an open one that does not speak HTTP read the same: no port map from errors.
    async def hang_up(reader, writer):
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    other = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    open_port = other.sockets[0].getsockname()[1]
    running_services.settings.allowed_private_hosts = ["127.0.0.1"]
    texts = set()
    try:
        for url in ("http://127.0.0.1:1/a.wav", f"http://127.0.0.1:{open_port}/a.wav"):
            resp = await user_api.post(path, json={"name": "x", "audio_url": url}, headers=user_api.auth_headers)
            assert resp.status == 400
            texts.add((await resp.json())["error"]["message"])
    finally:
        other.close()
    assert len(texts) == 1, texts
    with running_services.context.db.session() as s:
        assert s.query(Voice).count() == 0


async def test_callbacks_to_this_machine_are_refused_when_asked(api, running_services, listener):
    url = f"http://127.0.0.1:{listener.port}/hook"
    body = {"parameters": {"genre": "lofi", "duration": 3, "audio_quality": "draft", "output_formats": ["wav"]},
            "callback_url": url}
    resp = await api.post("/api/v1/ai/generate", json=body, headers=api.auth_headers)
    answer = await resp.json()
    assert resp.status == 400 and "callback_url" in answer["error"]["message"], answer

    from aiohttp import FormData

    form = FormData()
    form.add_field("files[]", _wav(1.0), filename="a.wav", content_type="audio/wav")
    form.add_field("webhook_url", url)
    resp = await api.post("/api/v1/batch-predict", data=form, headers=api.auth_headers)
    answer = await resp.json()
    assert resp.status == 400 and "webhook_url" in str(answer), answer

    # Deliveries check again when they are sent (a name may point elsewhere by then).
    hooks = running_services.webhooks
    hooks.send(url, "generation_completed", {"generation_id": "gen_z"}, subject="gen_z")
    await hooks.drain(timeout_s=5)
    record = hooks.deliveries("gen_z")[0]
    assert record["status"] == "failed" and len(record["attempts"]) == 1
    assert record["attempts"][0]["error"].startswith("refused")
    assert listener.hits == []


async def test_settings_through_the_api_stay_within_reach(api, user_api, running_services, tmp_path):
    """An admin key cannot point the engine at any file either; a user key does not see where the
    data lives or the database URL."""
    resp = await api.put("/api/system/config", json={"generation_settings": {"soundfont_path": "/etc/passwd"}},
                         headers=api.auth_headers)
    assert resp.status == 403 and "outside the folders" in (await resp.json())["error"]["message"]
    running_services.settings.allowed_folders = [tmp_path]
    resp = await api.put("/api/system/config",
                         json={"generation_settings": {"soundfont_path": str(tmp_path / "none.sf2")}},
                         headers=api.auth_headers)
    assert resp.status == 422  # within reach, but there is no SoundFont there
    assert running_services.settings.soundfont_path is None

    admin = (await (await api.get("/api/system/config", headers=api.auth_headers)).json())["configuration"]
    assert admin["storage"]["data_dir"] == str(running_services.settings.home)
    user = (await (await user_api.get("/api/system/config", headers=user_api.auth_headers)).json())
    assert user["configuration"]["storage"] == {"data_dir": None, "database_url": None}
    assert str(running_services.settings.home) not in str(user)
    status = await (await user_api.get("/api/status", headers=user_api.auth_headers)).json()
    assert status["data_dir"] is None and status["jobs"]["max_concurrent"] >= 1
    status = await (await api.get("/api/status", headers=api.auth_headers)).json()
    assert status["data_dir"] == str(running_services.settings.home)


async def test_a_system_soundfont_may_be_chosen_through_the_api(api, running_services, tmp_path, monkeypatch):
    """A SoundFont in an OS SoundFont folder is shared read-only data, so it needs no allowed folder;
    another file next to it that is no SoundFont stays out of reach."""
    from studio.engine.instruments import soundfont as sfmod
    from tests.engine.test_soundfont import build_sf2, sine_sample

    folder = tmp_path / "sf2"
    folder.mkdir()
    font = folder / "FluidR3_GM.sf2"
    font.write_bytes(build_sf2([{"data": sine_sample(440.0, seconds=0.1)}], [("sine", [{sfmod.GEN_SAMPLE_ID: 0}])],
                               [("Piano", 0, 0, [{sfmod.GEN_INSTRUMENT: 0}])]))
    (folder / "notes.sf2").write_text("not a SoundFont")
    monkeypatch.setattr(sfmod, "SYSTEM_SOUNDFONT_DIRS", (str(folder),))
    resp = await api.put("/api/system/config", json={"generation_settings": {"soundfont_path": str(folder / "notes.sf2")}},
                         headers=api.auth_headers)
    assert resp.status == 403
    resp = await api.put("/api/system/config", json={"generation_settings": {"soundfont_path": str(font)}},
                         headers=api.auth_headers)
    assert resp.status == 200, await resp.text()
    assert running_services.settings.soundfont_path == font
