#!/usr/bin/env bash
# Stops what deploy/local/up.sh started, newest first (agent, router, ingester), then Kafka.
# Each process gets SIGTERM, FERRY_STOP_SECONDS [30] to drain and exit, then SIGKILL.
# Running it when nothing runs does no harm. run/ keeps its secrets, certs, logs and output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
run=$repo/run
stop_seconds=${FERRY_STOP_SECONDS:-30}

say() { echo "down.sh: $*" >&2; }

# stop NAME MATCH: stops the process in run/NAME.pid if it is still the one we started
# (its command line contains MATCH), so a reused pid never hits a stranger.
stop() {
  local name=$1 match=$2 pidfile=$run/$1.pid pid
  if [ ! -f "$pidfile" ]; then
    say "$name not running"
    return 0
  fi
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq -- "$match"; then
    say "$name not running (stale pid file)"
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + stop_seconds))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      say "$name (pid $pid) still running after ${stop_seconds}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "$name stopped"
}

status=0
stop agent "fluent-bit|ferry-testhost" || status=1
stop router "router consumer" || status=1
stop ingester "ingester api" || status=1
"$repo/deploy/kafka/kafka.sh" down || status=1
exit $status
