#!/usr/bin/env bash
# Smoke test of the desktop bundle, as a user without Python would run it: the archive made by
# `make bundle` is unpacked into a fresh folder elsewhere and run with no virtualenv on PATH.
#   build/bundle/smoke.sh [dist/studio-<version>-linux-<arch>.tar.gz]   (SMOKE_KEEP=1 keeps its folder and logs)
# Checks: `studio doctor`; `studio keys create`; `studio serve` answering /api/health and making a
# short sung track through the API (the trimmed torch, the voice, the lyrics dictionaries, MP3/WAV
# export all run); the window under xvfb-run mapped on screen with its embedded API answering.
set -euo pipefail
cd "$(dirname "$0")/../.."
archive=${1:-$(ls -t dist/studio-*-linux-*.tar.gz | head -1)}
work=$(mktemp -d /tmp/studio-smoke.XXXXXX)
server_pid=""; window_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$window_pid" ] && kill "$window_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${SMOKE_KEEP:-}" ]; then echo "smoke: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "smoke: FAILED: $*" >&2; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -30 "$f" >&2; }; done; exit 1; }

started=$(date +%s)
tar -C "$work" -xzf "$archive"
app="$work/studio/studio"
[ -x "$app" ] || fail "no executable studio in $archive"
# The trimming of build/bundle/studio.spec took place, and kept what torch cannot run without.
for gone in torch/test torch/include piper/train; do
  [ ! -e "$work/studio/_internal/$gone" ] || fail "$gone should have been trimmed"
done
[ -x "$work/studio/_internal/torch/bin/torch_shm_manager" ] || fail "torch_shm_manager was trimmed: torch jobs would fail"
# No virtualenv, no Python paths: only the system's own directories and a fresh data dir.
run() { env -i PATH=/usr/bin:/bin HOME="$work/home" STUDIO_HOME="$work/data" LANG=C.UTF-8 "$@"; }
mkdir -p "$work/home"
json_field() { sed -n "s/.*\"$1\": *\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -1; }
free_port() { for p in $(seq "$1" $(( $1 + 50 ))); do (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }; done; }

echo "smoke: menu entry and icons"
run env XDG_DATA_HOME="$work/xdg" "$work/studio/install-desktop-entry.sh" > "$work/menu.log" 2>&1 || fail "install-desktop-entry.sh"
grep -qx "Exec=\"$app\"" "$work/xdg/applications/studio.desktop" || fail "the menu entry does not start $app"
[ -s "$work/xdg/icons/hicolor/256x256/apps/studio.png" ] || fail "no 256 px icon installed"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$work/xdg/applications/studio.desktop" || fail "invalid .desktop"; fi

echo "smoke: doctor"
run "$app" doctor > "$work/doctor.log" 2>&1 || fail "doctor reported problems"
grep -q "MISSING" "$work/doctor.log" && fail "doctor misses a component"
grep -q "^database: .*schema" "$work/doctor.log" || fail "doctor did not open the database"

echo "smoke: keys + serve + a sung track through the API"
key=$(run "$app" keys create --name smoke 2>"$work/keys.log" | tail -1)
[ -n "$key" ] || fail "no key printed"
port=$(free_port 18700)
run "$app" serve --port "$port" > "$work/serve.log" 2>&1 &
server_pid=$!
api="http://127.0.0.1:$port"
for _ in $(seq 120); do curl -fsS "$api/api/health" > "$work/health.json" 2>/dev/null && break; sleep 0.5; done
grep -q '"status"' "$work/health.json" 2>/dev/null || fail "serve did not answer /api/health"
auth=(-H "Authorization: Bearer $key")
curl -fsS "${auth[@]}" -X POST "$api/api/voice/initialize" > "$work/characters.json" || fail "no default characters"
curl -fsS "${auth[@]}" -H "Content-Type: application/json" -X POST "$api/api/music/generate" \
  -d '{"prompt": "chill lo-fi song", "character_id": "luna_lofi", "lyrics": "hold the light\nwe sing tonight", "duration": 8, "audio_quality": "draft", "seed": 3, "output_formats": ["wav", "mp3"]}' \
  > "$work/generate.json" || fail "generate was refused: $(cat "$work/generate.json")"
generation=$(json_field generation_id < "$work/generate.json")
[ -n "$generation" ] || fail "no generation_id in $(cat "$work/generate.json")"
status=""
for _ in $(seq 300); do
  curl -fsS "${auth[@]}" "$api/api/music/status/$generation" > "$work/status.json"
  status=$(json_field status < "$work/status.json")
  case "$status" in completed|failed|cancelled) break ;; esac
  sleep 1
done
[ "$status" = "completed" ] || fail "the generation ended '$status': $(cat "$work/status.json")"
curl -fsS "${auth[@]}" -o "$work/track.mp3" "$api/api/music/download/$generation.mp3" || fail "no MP3 to download"
[ "$(stat -c %s "$work/track.mp3")" -gt 20000 ] || fail "the MP3 is too small to hold 8 s of audio"
head -c 3 "$work/track.mp3" | grep -q "ID3" || fail "the download is not an MP3"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

echo "smoke: the window under xvfb-run"
port=$(free_port 18800)
env -i PATH=/usr/bin:/bin HOME="$work/home" STUDIO_HOME="$work/data" STUDIO_PORT="$port" LANG=C.UTF-8 \
  xvfb-run -a -s "-screen 0 1440x900x24" sh -c "\"$app\" > \"$work/window.log\" 2>&1 & pid=\$!; \
    for i in \$(seq 120); do xwininfo -root -tree 2>/dev/null | grep -q '\"Studio' && curl -fsS http://127.0.0.1:$port/api/health >/dev/null 2>&1 && { echo mapped > \"$work/window.state\"; break; }; sleep 0.5; done; \
    xwininfo -root -tree > \"$work/windows.txt\" 2>&1; kill \$pid; wait \$pid" || true
[ "$(cat "$work/window.state" 2>/dev/null)" = "mapped" ] || fail "the window did not appear (or its API did not answer)"

echo "smoke: passed in $(( $(date +%s) - started )) s ($(du -sh "$work/studio" | cut -f1) unpacked)"
