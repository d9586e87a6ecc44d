#!/usr/bin/env bash
# The project's whole check, as CI runs it: install what is missing, then the UI's type
# check and unit tests, formatting, lints, every Rust test (unit, storage acceptance,
# cross-process, the app's commands on the mock runtime), the IPC bindings drift check,
# the end-to-end test of the release app in a real window, and a smoke run of the
# benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Each step says how long it took, so a slow CI run says where its time went.
step_started=$SECONDS
step() {
  echo "   (took $((SECONDS - step_started)) s)"
  step_started=$SECONDS
  echo "== $*"
}

bash tests/setup.sh

# Team mode's PostgreSQL and SeaweedFS for the tests that use them; a service that cannot
# start stops the run here, loudly.
source tests/services.sh
trap services_stop EXIT
services_start

step "ui: type check, unit tests, build (the app embeds ui/dist)"
npm --prefix ui run check
npm --prefix ui test
npm --prefix ui run build

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test"
cargo test --workspace --locked

step "cargo test: the timing reports of the benchmark build (feature timing)"
cargo test --locked -p veritas-viewer --features timing --lib

step "IPC types: the TypeScript bindings match the Rust types"
# cargo test regenerated ui/src/bindings from the Rust types (ts-rs); any difference from
# what is committed means the UI was checked against stale types.
if [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
  git status --short -- ui/src/bindings
  git --no-pager diff --stat -- ui/src/bindings
  echo "ui/src/bindings drifted from the Rust types: commit the regenerated files" >&2
  exit 1
fi

step "end to end: the release app in a real window"
# With the benchmark's timing reports (the `timing` feature), which the smoke run below needs.
# The benchmark is built in the same invocation, so that its smoke run below compiles
# nothing more.
cargo build --release --locked -p veritas-viewer -p veritas-cli -p veritas-minimal-window -p veritas-bench \
  --features veritas-viewer/timing
npm --prefix tests/e2e test

step "benchmarks, smoke run (figures in BENCHMARKS.md come from a full run)"
target/release/veritas-bench --quick

# Last: tauri's build rebuilds the app binary without the timing feature the steps above use.
step "package: the .deb (tauri build), its contents checked with dpkg-deb"
tests/package.sh
step "done"
