"""Command line: `studio` (GUI), `studio serve`, `studio keys ...`, `studio doctor`, ..."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from studio import __version__


def _parser() -> argparse.ArgumentParser:
    from studio.engine.composition.spec import MAX_DURATION_S  # light: no torch

    parser = argparse.ArgumentParser(prog="studio", description="Studio: a desktop music studio with a local API.")
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output on the console")
    # Bare `studio` opens the window: give it the options `studio gui` would have.
    parser.set_defaults(port=None, no_api=False)
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the studio window (the default)")
    gui.add_argument("--no-api", action="store_true", help="do not start the local API")
    gui.add_argument("--port", type=int, help="API port (default from settings: 8000)")

    serve = sub.add_parser("serve", help="run the local API without a window")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a non-loopback --host (exposes the API to that network)")

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it on stdout")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=["admin", "user"], default="admin")
    keys_sub.add_parser("list", help="list keys")
    revoke = keys_sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")

    auth = sub.add_parser("auth", help="admin login")
    auth_sub = auth.add_subparsers(dest="auth_command", required=True)
    auth_sub.add_parser("reset-password", help="set a new random admin password and print it")

    gen = sub.add_parser("generate", help="compose and render a track into a folder (no window, no database)",
                         description="Compose, render, master and export one track. The prompt fills whatever "
                                     "the options leave open; explicit options win.")
    gen.add_argument("prompt", nargs="?", help='free text, e.g. "relaxing lo-fi hip hop beat for studying"')
    gen.add_argument("--duration", type=float, help=f"seconds (1-{MAX_DURATION_S:g}; default 60 or a length named in the prompt)")
    gen.add_argument("--seed", type=int, help="same seed + same options = the same track")
    gen.add_argument("--style", help="style id or name, e.g. lofi_hip_hop, trap, jazz (see --list-styles)")
    gen.add_argument("--mood", help="e.g. calm, happy, sad, energetic, dark (see --list-styles)")
    gen.add_argument("--tempo", type=float, help="BPM, 40-240")
    gen.add_argument("--key", help="e.g. A_minor, F#_major")
    gen.add_argument("--instruments", help="comma-separated, e.g. piano,strings")
    gen.add_argument("--complexity", help="0-1 or simple/medium/complex")
    gen.add_argument("--creativity", type=float, help="0-1")
    gen.add_argument("--lyrics", help="lyrics text, or @FILE to read them from a file")
    gen.add_argument("--theme", help="write lyrics about this theme (implies vocals)")
    gen.add_argument("--instrumental", action="store_true", help="no vocal line")
    gen.add_argument("--singer", help="who sings: a character's name or id (luna, nova_synthwave, ...) or "
                                      "'instrument' (a lead instrument plays the vocal melody); default: inferred "
                                      "from the prompt or the style's default character")
    gen.add_argument("--quality", choices=["draft", "standard", "high"], help="sample rate / bit depth")
    gen.add_argument("--formats", default="wav,mp3,midi",
                     help="comma-separated: wav,mp3,flac,ogg,midi (or mid),stems,lyrics,chords (default wav,mp3,midi)")
    gen.add_argument("--out", type=Path, default=Path("."), help="output folder (default: the current one)")
    gen.add_argument("--name", help="file base name (default: from the title)")
    gen.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default from settings (auto)")
    gen.add_argument("--no-tags", action="store_true", help="skip genre/mood tagging")
    gen.add_argument("--json", action="store_true", help="print the full result as JSON")
    gen.add_argument("--list-styles", action="store_true", help="list styles and moods, then exit")

    ext = sub.add_parser("extend", help="continue a track made by `studio generate` (reads its _score.json)")
    ext.add_argument("score", type=Path, help="the <name>_score.json written beside the track")
    ext.add_argument("--duration", type=float, required=True, help="seconds to add")
    ext.add_argument("--seed", type=int, help="seed for the new sections (default: the track's)")
    ext.add_argument("--singer", help="who sings the extended track: a character's name or id, or 'instrument' "
                                      "(default: the track's singer)")
    ext.add_argument("--formats", default="wav,mp3,midi", help="as for generate")
    ext.add_argument("--out", type=Path, help="output folder (default: beside the score)")
    ext.add_argument("--name", help="file base name (default: <old name>_extended)")
    ext.add_argument("--device", choices=["auto", "cpu", "cuda"])
    ext.add_argument("--no-tags", action="store_true")
    ext.add_argument("--json", action="store_true")

    sub.add_parser("doctor", help="check this machine: device, audio, data dir, database, components")

    backup = sub.add_parser("backup", help="backups")
    backup_sub = backup.add_subparsers(dest="backup_command", required=True)
    restore = backup_sub.add_parser("restore", help="restore a backup archive (studio must not be running)")
    restore.add_argument("archive", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    if os.name == "posix":
        os.umask(0o077)  # every file the studio writes (database, media, backups, logs) is this user's only
    args = _parser().parse_args(argv)
    command = args.command or "gui"
    if command == "doctor":
        from studio.doctor import run_doctor

        return run_doctor()
    if command == "backup":
        return _restore(args.archive)
    if command in ("generate", "extend"):
        from studio.engine_cli import run_extend, run_generate

        return run_generate(args) if command == "generate" else run_extend(args)

    from studio.app import build_services, setup_logging
    from studio.config import Settings

    settings = Settings()
    if command in ("keys", "auth"):
        services = build_services(settings)
        return _keys(services, args) if command == "keys" else _auth(services, args)

    setup_logging(settings, verbose=args.verbose)
    if command == "serve":
        from studio.app import exit_now, serve_forever
        from studio.server.app import is_loopback

        host = args.host or settings.host
        port = settings.port if args.port is None else args.port
        allow_remote = args.allow_remote or settings.allow_remote
        if not is_loopback(host) and not allow_remote:
            print(f"error: --host {host} exposes the API to the network; add --allow-remote to confirm",
                  file=sys.stderr)
            return 2
        services = build_services(settings)
        try:
            if not asyncio.run(serve_forever(services, host, port, allow_remote)):
                exit_now(0)
        except OSError as exc:
            print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}; "
                  "is another studio running? choose another --port", file=sys.stderr)
            return 1
        return 0

    from studio.app import run_gui

    if args.port is not None:
        settings.port = args.port
    return run_gui(settings, api=not args.no_api)


def _keys(services, args) -> int:
    if args.keys_command == "create":
        try:
            key, _record = services.auth.create_key(args.name, role=args.role)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(key)
    elif args.keys_command == "list":
        for record in services.auth.list_keys(include_revoked=True):
            state = "revoked" if record["revoked"] else "active"
            print(f"{record['id']}\t{record['name']}\t{record['role']}\t{state}\tcreated {record['created_at']}"
                  f"\tlast used {record['last_used_at'] or 'never'}")
    elif args.keys_command == "revoke":
        try:
            services.auth.revoke_key(args.key_id)
        except KeyError:
            print(f"error: no key {args.key_id!r}; `studio keys list` shows them", file=sys.stderr)
            return 1
        print(f"revoked {args.key_id}")
    return 0


def _auth(services, args) -> int:
    first_run = services.auth.bootstrap()
    if first_run is not None:
        from studio.app import print_first_run

        print_first_run(first_run)
        return 0
    print(services.auth.reset_password())
    return 0


def _restore(archive: Path) -> int:
    from studio.config import Settings
    from studio.services.system import restore_backup

    settings = Settings()
    try:
        manifest = restore_backup(archive, settings.home)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot restore {archive}: {exc}", file=sys.stderr)
        return 1
    print(f"restored backup of {manifest['created_at']} ({manifest['media_files']} media files) into {settings.home}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
