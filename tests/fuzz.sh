#!/usr/bin/env bash
# The long fuzzing run of issue 16: every fuzz_* property test with PROPTEST_CASES inputs per
# target (default 10,000,000), in release mode, each target in a process of its own so its
# peak memory is its own. The test command runs the same targets with proptest's default 256.
# Prints, per target: inputs tried, result (a failure is a crash: its minimal input is shown),
# seconds and peak memory. The figures go in RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${PROPTEST_CASES:-10000000}"
cargo test --release -p veritas-core --lib --no-run >/dev/null 2>&1
cargo test --release -p veritas-viewer --lib --no-run >/dev/null 2>&1
bin_of() { # the test binary of a package, as cargo reports it
  cargo test --release -p "$1" --lib --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["kind"]==["lib"] or (m.get("executable") and "lib" in m.get("target",{}).get("kind",[])):
        print(m["executable"])' | tail -1
}
core=$(bin_of veritas-core)
viewer=$(bin_of veritas-viewer)
printf '%-58s %12s %8s %10s %s\n' target inputs seconds peak_MB result
for t in "$core ingest::parse::tests::fuzz_parse_line_never_panics_and_quotes_short" \
         "$core screenshots::sniff::tests::fuzz_inspect_never_panics" \
         "$core query::list::cursor::tests::fuzz_cursor_decode" \
         "$viewer protocol::tests::fuzz_shot_request"; do
  set -- $t
  log=$(mktemp)
  start=$(date +%s.%N)
  if PROPTEST_CASES="$cases" PROPTEST_MAX_SHRINK_ITERS=10000 /usr/bin/time -f '%M' -o "$log.mem" \
       "$1" --exact "$2" --test-threads 1 >"$log" 2>&1; then result=ok; else result=FAILED; fi
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  mem=$(( $(tail -1 "$log.mem") / 1024 ))
  printf '%-58s %12s %8.0f %10s %s\n' "${2##*::}" "$cases" "$secs" "$mem" "$result"
  [ "$result" = ok ] || { grep -A8 "minimal failing input" "$log" || tail -20 "$log"; }
  rm -f "$log" "$log.mem"
done
