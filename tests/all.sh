#!/usr/bin/env bash
# The project's whole check, as CI runs it: install what is missing, then the UI's type
# check and unit tests, formatting, lints, every Rust test (unit, storage acceptance,
# cross-process, the app's commands on the mock runtime), the IPC bindings drift check,
# the end-to-end test of the release app in a real window, and a smoke run of the
# benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash tests/setup.sh

echo "== ui: type check, unit tests, build (the app embeds ui/dist)"
npm --prefix ui run check
npm --prefix ui test
npm --prefix ui run build

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked

echo "== cargo test: the timing reports of the benchmark build (feature timing)"
cargo test --locked -p veritas-viewer --features timing --lib

echo "== IPC types: the TypeScript bindings match the Rust types"
# cargo test regenerated ui/src/bindings from the Rust types (ts-rs); any difference from
# what is committed means the UI was checked against stale types.
if [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
  git status --short -- ui/src/bindings
  git --no-pager diff --stat -- ui/src/bindings
  echo "ui/src/bindings drifted from the Rust types: commit the regenerated files" >&2
  exit 1
fi

echo "== end to end: the release app in a real window"
# With the benchmark's timing reports (the `timing` feature), which the smoke run below needs.
cargo build --release --locked -p veritas-viewer -p veritas-cli -p veritas-minimal-window --features veritas-viewer/timing
npm --prefix tests/e2e test

echo "== benchmarks, smoke run (figures in BENCHMARKS.md come from a full run)"
cargo run --release --locked -p veritas-bench -- --quick
