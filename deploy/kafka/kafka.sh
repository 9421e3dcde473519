#!/usr/bin/env bash
# Runs one Apache Kafka 4.x node (broker + KRaft controller) on 127.0.0.1 for development and CI.
#
#   kafka.sh up       fetch the jars once (mvn, Maven Central), format storage once, start, wait until ready
#   kafka.sh down     stop cleanly (SIGTERM, then SIGKILL after FERRY_KAFKA_STOP_SECONDS)
#   kafka.sh status   exit 0 when the broker is running and answers
#   kafka.sh reset    stop and delete the data folder (the jar cache stays)
#
# Environment (defaults in brackets):
#   FERRY_KAFKA_PORT [19092]             client listener on 127.0.0.1
#   FERRY_KAFKA_CONTROLLER_PORT [19093]  KRaft controller listener on 127.0.0.1
#   FERRY_KAFKA_HOME [<repo>/.cache/kafka]  jars, config, data and log live here
#   FERRY_KAFKA_HEAP [512m]
#   FERRY_KAFKA_STOP_SECONDS [30]
# Running `up` twice does no harm: a running broker is left alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
port=${FERRY_KAFKA_PORT:-19092}
controller_port=${FERRY_KAFKA_CONTROLLER_PORT:-19093}
home=${FERRY_KAFKA_HOME:-$repo/.cache/kafka}
heap=${FERRY_KAFKA_HEAP:-512m}
stop_seconds=${FERRY_KAFKA_STOP_SECONDS:-30}
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
lib="$home/lib-$kafka_version"
run="$home/run-$port"
pidfile="$run/kafka.pid"
logfile="$run/kafka.log"

say() { echo "kafka.sh: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

fetch_jars() {
  [ -f "$lib/.complete" ] && return 0
  command -v mvn >/dev/null || { say "mvn is not installed; install Maven (apt-get install maven) and try again"; exit 1; }
  say "fetching Apache Kafka $kafka_version and its dependencies from Maven Central into $lib (once)"
  rm -rf "$lib.tmp"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib.tmp" >&2 ||
    { say "mvn could not fetch the Kafka jars (see above); check that Maven Central is reachable"; exit 1; }
  rm -rf "$lib" && mv "$lib.tmp" "$lib" && touch "$lib/.complete"
}

write_config() {
  mkdir -p "$run/data"
  cat >"$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$run/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat >"$run/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$logfile
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.apache.name=org.apache.kafka
logger.apache.level=WARN
PROPS
}

java_cmd() {
  java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$run/log4j2.properties" -cp "$lib/*" "$@"
}

up() {
  if pid=$(running_pid); then
    say "already running (pid $pid) on 127.0.0.1:$port"
    return 0
  fi
  if port_open "$port" || port_open "$controller_port"; then
    say "port $port or $controller_port on 127.0.0.1 is taken by another process; set FERRY_KAFKA_PORT and FERRY_KAFKA_CONTROLLER_PORT to free ports"
    exit 1
  fi
  command -v java >/dev/null || { say "java is not installed; install a JDK 17 or newer (apt-get install openjdk-17-jre-headless)"; exit 1; }
  fetch_jars
  write_config
  if [ ! -f "$run/data/meta.properties" ]; then
    java_cmd kafka.tools.StorageTool format --ignore-formatted \
      --cluster-id "$(java_cmd kafka.tools.StorageTool random-uuid)" \
      --config "$run/server.properties" >"$run/format.log" 2>&1 ||
      { say "formatting storage failed:"; cat "$run/format.log" >&2; exit 1; }
  fi
  : >"$logfile"
  nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$run/log4j2.properties" -cp "$lib/*" \
    kafka.Kafka "$run/server.properties" >"$run/stdout.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + 90))
  until grep -q "Kafka Server started" "$logfile" 2>/dev/null && port_open "$port"; do
    if ! running_pid >/dev/null; then
      say "the broker exited during start-up; last lines of $logfile and $run/stdout.log:"
      tail -n 20 "$logfile" "$run/stdout.log" >&2 || true
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      say "the broker did not become ready within 90 s; see $logfile"
      exit 1
    fi
    sleep 0.5
  done
  say "ready on 127.0.0.1:$port (pid $(cat "$pidfile"), logs in $logfile)"
}

down() {
  local pid
  if ! pid=$(running_pid); then
    say "not running"
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + stop_seconds))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      say "still running after ${stop_seconds}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) pid=$(running_pid) && port_open "$port" && say "running (pid $pid) on 127.0.0.1:$port" ;;
  reset) down; rm -rf "$run"; say "data removed" ;;
  *) echo "usage: $0 up|down|status|reset" >&2; exit 2 ;;
esac
