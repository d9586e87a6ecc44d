#!/usr/bin/env bash
# The installable package (issue 16): `tauri build` makes a .deb holding veritas-viewer with
# its desktop entry and icons, and veritas-db; then its contents are checked with dpkg-deb.
# Prints the package's path. Run from tests/all.sh after the release build (which it reuses).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p veritas-cli
npm --prefix ui run build >/dev/null
# --ci: no prompts. The bundle is active only here (tauri.conf.json), so cargo builds elsewhere
# are unaffected.
(cd src-tauri && ../ui/node_modules/.bin/tauri build --ci --bundles deb)
deb=$(ls -t target/release/bundle/deb/*.deb | head -1)
contents=$(dpkg-deb -c "$deb")
for want in usr/bin/veritas-viewer usr/bin/veritas-db "usr/share/applications/Veritas Viewer.desktop" usr/share/icons/hicolor/128x128/apps/veritas-viewer.png; do
  # dpkg-deb lists paths as `./usr/...` or `usr/...`, at the end of each line.
  if ! awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); sub(/^\.\//, ""); print }' <<<"$contents" | grep -qxF "$want"; then
    echo "package.sh: $deb lacks $want; it holds:" >&2
    echo "$contents" >&2
    exit 1
  fi
done
dpkg-deb -f "$deb" Package Version Depends
echo "$deb"
