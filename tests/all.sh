#!/usr/bin/env bash
# The project's whole check, as CI runs it: formatting, lints, then every test (unit,
# storage acceptance, cross-process). Run from anywhere; it works from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
