#!/usr/bin/env bash
# Brings up the local Ferry system on this machine (`make up` builds first, then runs this):
#
#   Kafka (deploy/kafka/kafka.sh) → ingester api → router consumer (file destination) → an agent
#
# State lives in run/ (git-ignored): secrets/, certs/, *.log, *.pid, out/. Running it again
# leaves running processes alone and starts only what is missing; `make down` stops everything.
#
# Environment (defaults in brackets):
#   FERRY_KAFKA_PORT [19092]               broker on 127.0.0.1
#   FERRY_INGEST_LISTEN [127.0.0.1:7400]   ingester gRPC
#   FERRY_INGEST_HTTP [127.0.0.1:7401]     ingester /metrics /healthz /readyz
#   FERRY_ROUTER_HTTP [127.0.0.1:7402]     router /metrics /healthz /readyz
#   FERRY_ACCESS_KEY [local-dev]           the sample access key in deploy/local/ferry.json
#   FERRY_UP_TIMEOUT [60]                  seconds to wait for each /readyz
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

kafka_port=${FERRY_KAFKA_PORT:-19092}
brokers=127.0.0.1:$kafka_port
ingest_listen=${FERRY_INGEST_LISTEN:-127.0.0.1:7400}
ingest_http=${FERRY_INGEST_HTTP:-127.0.0.1:7401}
router_http=${FERRY_ROUTER_HTTP:-127.0.0.1:7402}
access_key=${FERRY_ACCESS_KEY:-local-dev}
timeout=${FERRY_UP_TIMEOUT:-60}

run=$repo/run
secrets=$run/secrets
certs=$run/certs
config=$here/ferry.json
export FERRY_KAFKA_PORT=$kafka_port

say() { echo "up.sh: $*" >&2; }
die() { say "$*"; exit 1; }

for bin in bin/ingester bin/router; do
  [ -x "$bin" ] || die "$bin is missing; run \`make up\` (it builds first) or \`make build\`"
done
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"
mkdir -p "$run" "$run/out"

# running NAME: true when run/NAME.pid names a live process of ours.
running() {
  local pidfile=$run/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# start NAME MATCH COMMAND...: starts COMMAND in the background unless it already runs, with
# output appended to run/NAME.log and its pid in run/NAME.pid.
start() {
  local name=$1 match=$2; shift 2
  if running "$name" "$match"; then
    say "$name already running (pid $(cat "$run/$name.pid"))"
    return 0
  fi
  echo "=== $(date -u +%FT%TZ) up.sh: $*" >>"$run/$name.log"
  nohup "$@" >>"$run/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  say "$name started (pid $!, log run/$name.log)"
}

# wait_ready NAME MATCH URL: waits for URL to answer 2xx while the process lives.
wait_ready() {
  local name=$1 match=$2 url=$3 deadline=$((SECONDS + timeout))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    if ! running "$name" "$match"; then
      say "$name exited during start-up; last lines of run/$name.log:"
      tail -n 20 "$run/$name.log" >&2 || true
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      say "$name is not ready after ${timeout}s ($url); last lines of run/$name.log:"
      tail -n 20 "$run/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  say "$name ready ($url)"
}

# 1. Kafka
deploy/kafka/kafka.sh up

# 2. Secrets and development certificates, made once.
if [ ! -f "$secrets/keyring.json" ] && [ ! -f "$secrets/token-keys.json" ]; then
  say "creating the keyring and token keys in run/secrets"
  bin/ingester init --dir "$secrets"
elif [ ! -f "$secrets/keyring.json" ] || [ ! -f "$secrets/token-keys.json" ]; then
  die "run/secrets has only one of keyring.json and token-keys.json; restore the other or remove run/secrets to start over (data encrypted with the old keyring becomes unreadable)"
fi
if [ ! -f "$certs/ca.pem" ] || [ ! -f "$certs/server.pem" ] || [ ! -f "$certs/server-key.pem" ]; then
  say "creating development certificates in run/certs"
  bin/ingester certs --dir "$certs" --hosts localhost,127.0.0.1
fi

# 3. Ingester and router.
start ingester "ingester api" bin/ingester api \
  --listen "$ingest_listen" --http-listen "$ingest_http" \
  --config "$config" --keyring "$secrets/keyring.json" --token-keys "$secrets/token-keys.json" \
  --tls-cert "$certs/server.pem" --tls-key "$certs/server-key.pem" \
  --kafka-brokers "$brokers"
wait_ready ingester "ingester api" "http://$ingest_http/readyz"

start router "router consumer" bin/router consumer \
  --kafka-brokers "$brokers" --destination file --file-dir "$run/out" \
  --keyring "$secrets/keyring.json" --http-listen "$router_http"
wait_ready router "router consumer" "http://$router_http/readyz"

# 4. An agent. Its token is issued fresh on every run so it never expires under a long-lived setup.
token_file=$run/agent.token
(umask 077 && bin/ingester access-token --token-keys "$secrets/token-keys.json" \
  --access-key "$access_key" --expiry 720h >"$token_file.tmp") && mv "$token_file.tmp" "$token_file"

if command -v fluent-bit >/dev/null; then
  [ -f bin/out_ferry.so ] || die "bin/out_ferry.so is missing; run \`make plugin\`"
  cat >"$run/fluent-bit.conf" <<CONF
[SERVICE]
    Flush        1
    Log_Level    info

[INPUT]
    Name         dummy
    Tag          ferry.sample
    Dummy        {"message": "hello from the local Ferry agent", "level": "info"}
    Rate         10

[OUTPUT]
    Name              ferry
    Match             *
    Ingester          $ingest_listen
    Access_Key        $access_key
    Access_Token_File $token_file
    TLS_CA_File       $certs/ca.pem
    TLS_Server_Name   localhost
CONF
  start agent "fluent-bit" fluent-bit -e "$repo/bin/out_ferry.so" -c "$run/fluent-bit.conf"
else
  # No Fluent Bit here: the C test host loads the same out_ferry.so as Fluent Bit would and
  # replays sample logs through it, so events still travel the whole chain.
  for f in bin/out_ferry.so bin/ferry-testhost bin/mkchunk; do
    [ -x "$f" ] || [ -f "$f" ] || die "$f is missing; run \`make up\` (it builds first)"
  done
  bin/mkchunk -o "$run/sample.mp" <"$here/sample-logs.jsonl"
  say "fluent-bit is not installed: replaying deploy/local/sample-logs.jsonl through the plugin in the test host"
  bin/ferry-testhost -e bin/out_ferry.so -w 2 -r 30 -d 1000 -t sample.app \
    -p "Ingester=$ingest_listen" -p "Access_Key=$access_key" -p "Access_Token_File=$token_file" \
    -p "TLS_CA_File=$certs/ca.pem" -p "TLS_Server_Name=localhost" \
    -f "$run/sample.mp" >"$run/agent.log" 2>&1 || die "the test-host agent failed; see run/agent.log"
  grep -q "rc=1$" "$run/agent.log" || die "the sample chunk was not accepted; see run/agent.log"
  say "sample chunk delivered (flush rc=1: Kafka has it); the router writes it to run/out/$access_key.log"
fi

cat >&2 <<MSG

Ferry is up:
  Kafka      127.0.0.1:$kafka_port       (deploy/kafka/kafka.sh status)
  ingester   $ingest_listen (gRPC, TLS, CA run/certs/ca.pem)   http://$ingest_http/metrics   log run/ingester.log
  router     file destination → run/out/         http://$router_http/metrics   log run/router.log
  access key $access_key (deploy/local/ferry.json), token in run/agent.token

Events arrive in:  tail -f run/out/*.log
Stop everything:   make down
MSG
