#!/usr/bin/env bash
# `make bundle`: the desktop bundle. PyInstaller freezes the studio from .venv into one folder,
# dist/studio/ (run dist/studio/studio), and packs it as dist/studio-<version>-linux-<arch>.tar.gz.
# The torch inside is the one in .venv: the CPU build on a machine without an NVIDIA GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."

./build/setup.sh
.venv/bin/python -m pip install --quiet -e ".[bundle]"

started=$(date +%s)
rm -rf dist/studio
# The work folder is not ./build: that holds the project's own build scripts.
.venv/bin/pyinstaller --noconfirm --log-level WARN --workpath .pyinstaller --distpath dist build/bundle/studio.spec
# Menu entry and icons (PNG sizes a desktop's menu and task bar ask for), rendered from the SVG.
QT_QPA_PLATFORM=offscreen .venv/bin/python build/bundle/icons.py resources/icons/studio.svg dist/studio/share/icons
cp build/bundle/studio.desktop build/bundle/install-desktop-entry.sh dist/studio/

version=$(.venv/bin/python -c 'import studio; print(studio.__version__)')
archive="dist/studio-$version-linux-$(uname -m).tar.gz"
tar -C dist -czf "$archive" studio
echo "bundle: dist/studio ($(du -sh dist/studio | cut -f1)), $archive ($(du -sh "$archive" | cut -f1)), built in $(( $(date +%s) - started )) s"
echo "bundle: built against $(ldd --version | head -1)"
