#!/usr/bin/env bash
# The long soaks of issue 16, in release mode; the test command runs the same tests small.
#   crash soak: VERITAS_SOAK_ROUNDS rounds (default 100) of SIGKILL at a random moment during
#     the ingest of a stream with screenshots; after each, the integrity check, every audit
#     absent, complete or a consistent running prefix, and no temporary file after
#     `doctor --repair` (VERITAS_SOAK_SEED repeats a run).
#   producers: VERITAS_SOAK_PRODUCERS (default 8) processes x VERITAS_SOAK_AUDITS (default
#     10,000) audits into one file with 2 readers: exactly all of them, no lock error.
# Prints each test's own figures, its time and the peak memory of its largest process. The
# figures go in RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export VERITAS_SOAK_ROUNDS="${VERITAS_SOAK_ROUNDS:-100}"
export VERITAS_SOAK_PRODUCERS="${VERITAS_SOAK_PRODUCERS:-8}"
export VERITAS_SOAK_AUDITS="${VERITAS_SOAK_AUDITS:-10000}"
bin=$(cargo test --release --locked -p veritas-cli --test cross_process --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="cross_process":
        print(m["executable"])' | tail -1)
[ -x "$bin" ] || { echo "could not build the cross-process tests" >&2; exit 1; }
echo "== $(date -u +%FT%TZ) $(git rev-parse --short HEAD), $(nproc) cores"
status=0
for t in soak::ingest_killed_at_random_moments_leaves_every_audit_absent_complete_or_a_consistent_prefix \
         soak::producers_ingest_at_once_with_two_readers_and_exactly_every_audit_arrives; do
  start=$(date +%s)
  log=$(mktemp)
  if /usr/bin/time -f '%M' -o "$log.mem" "$bin" --exact "$t" --nocapture --test-threads 1 >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  grep -oE '(crash soak|producers soak): .*' "$log" || true
  [ "$result" = ok ] || tail -30 "$log"
  echo "${t#soak::}: $result in $(( $(date +%s) - start )) s, peak memory of the largest process $(( $(tail -1 "$log.mem") / 1024 )) MB"
  rm -f "$log" "$log.mem"
done
exit $status
