"""Screenshots of every panel after a short real session, for looking at the GUI as a user does.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshots.py OUT_DIR [--seconds 20] [--size 1366x768]

In a fresh temporary data dir it opens the main window, generates a track from the Create panel
(`--seconds` long; by default lo-fi with lyrics sung by Luna, or `--prompt`/`--singer`), waits for it in the Library and selects it, analyses the
rendered WAV in the Analyze panel, creates the default voice characters and makes Luna speak and
write an introduction in the Voices panel, then writes `OUT_DIR/<panel>.png` for every panel (Qt's
`grab()`, so the window's own pixels), one `OUT_DIR/system_<page>.png` per page of the System panel
(after a maintenance run, with the log the session wrote), and `OUT_DIR/window.png` of the whole screen when
ImageMagick's `import` is there. Nothing is mocked: the engine, the tagger and the job queue run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


STARTED = time.monotonic()
DEFAULT_PROMPT = "relaxing lo-fi hip hop beat for studying, rainy night"


async def system_pages(window, services, out: Path) -> None:
    """Each page of the System panel, after a maintenance run, with a log entry selected."""
    panel = window.show_panel("system")
    logging.getLogger("studio.tools.screenshots").info("screenshots of the System pages (after a session of %.0f s)",
                                                       time.monotonic() - STARTED)
    started = services.system.maintenance.start()
    await wait_for(lambda: services.system.get_job(started["job"]["id"])["status"] in ("completed", "failed"), 120,
                   "the maintenance")
    for name in ("overview", "resources", "logs", "errors", "services", "maintenance"):
        page = panel.show_page(name)
        await asyncio.sleep(1.5)  # the page's reads run on the thread pool
        if name == "logs" and page.table.rowCount():
            page.table.selectRow(page.table.rowCount() - 1)
        elif name in ("services", "errors") and page.table.rowCount():
            page.table.selectRow(0)
            await asyncio.sleep(0.5)
        window.grab().save(str(out / f"system_{name}.png"))
    panel.show_page("overview")


async def scenario(services, out: Path, seconds: float, prompt: str = DEFAULT_PROMPT, singer: str = "luna_lofi",
                   size: tuple[int, int] = (1500, 940)) -> None:
    from studio.app import start_background
    from studio.ui.app import create_main_window

    window = create_main_window(services, player_sink=lambda block: None)
    window.resize(*size)
    window.show()
    start_background(services, asyncio.get_running_loop())

    services.voices.characters.initialize()  # so the Create panel can pick a singer
    create = window.show_panel("create")
    create.apply_fields({"prompt": prompt, "duration": seconds,
                         "instrumental": False, "lyrics": {"enabled": True, "theme": "rain on the window"},
                         "singer": {"character_id": singer}})
    await asyncio.sleep(0.3)
    window.grab().save(str(out / "create.png"))
    jobs = create.generate()
    print("generating:", [j.get("id") for j in jobs], flush=True)
    await asyncio.sleep(1.0)
    window.grab().save(str(out / "create_running.png"))
    await wait_for(lambda: services.music.library.list_tracks()[0] > 0, 600, "the generated track")

    library = window.show_panel("library")
    await asyncio.sleep(0.5)
    track = services.music.library.list_tracks()[1][0]
    if hasattr(library, "select_track"):
        library.select_track(track["id"])
    await asyncio.sleep(1.0)
    window.grab().save(str(out / "library.png"))

    analyze = window.show_panel("analysis")
    analyze.analyse_file(services.context.store.path(track["files_raw"]["wav"]))
    await wait_for(lambda: analyze.current is not None, 300, "the analysis")
    await asyncio.sleep(0.5)
    window.grab().save(str(out / "analyze.png"))

    voices = window.show_panel("voices")
    voices.select_character("luna_lofi")
    voices.say_edit.setText("Hey, beautiful souls, it's Luna. Tonight the rain plays along.")
    spoken = voices.speak()
    await wait_for(lambda: services.voices.content.get_content(spoken["id"])["status"] != "processing", 300,
                   "the speech")
    voices.topic_edit.setText("my new album, Midnight Rain")
    await voices.write_and_voice()
    await asyncio.sleep(0.5)
    window.grab().save(str(out / "voices.png"))
    dialog = voices.open_character_dialog(voices.character)
    await asyncio.sleep(0.3)
    dialog.grab().save(str(out / "character_dialog.png"))
    dialog.reject()

    # voice matching: recordings of a made-up speaker (the built-in voice reshaped) through the wizard
    import soundfile as sf

    from studio.engine.instruments.voice import VoiceSettings, speak

    takes = []
    for i, text in enumerate(("Welcome to the late show, where the city never sleeps.",
                              "Tonight I have three new songs for you, all recorded on tape.")):
        audio, rate = speak(text, VoiceSettings(pitch_semitones=4.0, formant_shift=1.1), deterministic=True)
        takes.append(out / f"take{i}.wav")
        sf.write(takes[-1], audio, rate)
    wizard = voices.open_match_dialog()
    wizard.set_paths(takes)
    wizard.name_edit.setText("Late show voice")
    wizard.submit()
    await wait_for(lambda: wizard.outcome is not None or bool(wizard.error_label.text()), 600, "the voice match")
    await asyncio.sleep(0.3)
    wizard.grab().save(str(out / "match_wizard.png"))
    wizard.accept()
    for take in takes:
        take.unlink()

    for panel in window.panels:
        if panel.key in ("create", "library", "analysis", "voices"):
            continue
        window.show_panel(panel.key)
        await asyncio.sleep(0.3)
        window.grab().save(str(out / f"{panel.key}.png"))
    await system_pages(window, services, out)
    if shutil.which("import") and os.environ.get("DISPLAY"):
        subprocess.run(["import", "-window", "root", str(out / "window.png")], check=False)
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="what the Create panel generates")
    parser.add_argument("--singer", default="luna_lofi", help="the voice character who sings (or raps) it")
    parser.add_argument("--size", default="1500x940", help="the window's size, WIDTHxHEIGHT (a laptop: 1366x768)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync

    from studio.app import build_services, setup_logging, shutdown
    from studio.config import Settings
    from studio.ui.app import ensure_app

    home = Path(tempfile.mkdtemp(prefix="studio-shots-"))
    os.environ["STUDIO_HOME"] = str(home)
    app = ensure_app()
    settings = Settings(home=home)
    setup_logging(settings)  # the log file the System panel's Logs page reads, as the app writes it
    services = build_services(settings)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(scenario(services, args.out, args.seconds, args.prompt, args.singer,
                                             tuple(int(v) for v in args.size.lower().split("x"))))
    finally:
        shutdown(services)
        shutil.rmtree(home, ignore_errors=True)
    print("screenshots in", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
