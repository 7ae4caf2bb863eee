#!/usr/bin/env sh
# Adds Studio to this user's desktop menu (no root needed): the menu entry points at the
# `studio` beside this script; the icons go into the user's icon theme. Run it again after
# moving the folder. `install-desktop-entry.sh --remove` takes the entry and icons away.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
if [ "${1:-}" = "--remove" ]; then
  rm -f "$data/applications/studio.desktop"
  find "$data/icons/hicolor" -name 'studio.png' -o -name 'studio.svg' 2>/dev/null | while read -r f; do rm -f "$f"; done
  echo "Studio removed from the menu"
  exit 0
fi
mkdir -p "$data/applications"
# Exec with the absolute path, quoted for the desktop entry spec
sed "s|^Exec=.*|Exec=\"$here/studio\"|" "$here/studio.desktop" > "$data/applications/studio.desktop"
mkdir -p "$data/icons"
cp -R "$here/share/icons/hicolor" "$data/icons/"  # merges into an existing hicolor
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" 2>/dev/null || true
echo "Studio added to the menu ($data/applications/studio.desktop)"
