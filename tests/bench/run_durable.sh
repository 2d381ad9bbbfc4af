#!/usr/bin/env bash
# run_durable.sh: durable QoS 1 throughput of ferryd (sync = normal and full) against Debian's
# Mosquitto (persistence on, periodic saves) and RabbitMQ (MQTT plugin: durable queue,
# persistent messages, PUBACK after the publisher confirm), in one run, brokers alternating,
# every scenario repeated; then ferryd's restart time with 100,000 messages queued across
# 1,000 offline persistent sessions. Writes a Markdown fragment (the "Durable" section of
# tests/bench/RESULTS.md) and the raw JSON lines. Run by hand; never part of ctest.
#
#   tests/bench/run_durable.sh [--seconds 5] [--repeats 3] [--inflight 100]
#                              [--brokers "ferryd-normal ferryd-full mosquitto rabbitmq"]
#                              [--sessions 1000] [--per-session 100] [--out /tmp/durable.md]
#                              [--only "offline-64 online-64 offline-1k"] [--no-restart]
#
# Environment: FERRYD, LOADGEN, MOSQUITTO as for run_bench.sh; RABBITMQ_SERVER (default
# /usr/lib/rabbitmq/bin/rabbitmq-server, from `apt-get install rabbitmq-server`). RabbitMQ
# takes about a minute to start here, so one node serves the whole run (every run uses new
# client ids and topics); ferryd and Mosquitto start fresh for every run. Every broker listens
# on 127.0.0.1 only, keeps its files in a temporary directory removed at exit, and only
# processes this script started are stopped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_SECONDS=5
REPEATS=3
INFLIGHT=100
BROKERS="ferryd-normal ferryd-full mosquitto rabbitmq"
SESSIONS=1000
PER_SESSION=100
OUT=/tmp/durable.md
ONLY=""
RESTART=1
COMMAND="tests/bench/run_durable.sh $*"
[[ -z "${LOADGEN:-}" ]] || COMMAND="LOADGEN=$LOADGEN $COMMAND"
[[ -z "${FERRYD:-}" ]] || COMMAND="FERRYD=$FERRYD $COMMAND"

while [[ $# -gt 0 ]]; do
    case "$1" in
    --seconds) RUN_SECONDS=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --inflight) INFLIGHT=$2; shift 2 ;;
    --brokers) BROKERS=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --per-session) PER_SESSION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --no-restart) RESTART=0; shift ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

newest() { ls -t $1 2>/dev/null | head -n 1 || true; }
LOADGEN=${LOADGEN:-$(newest "$ROOT/build*/tests/bench/ferry_loadgen")}
FERRYD=${FERRYD:-$(newest "$ROOT/build*/app/ferryd")}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
RABBITMQ_SERVER=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}
RABBITMQCTL=$(dirname "$RABBITMQ_SERVER")/rabbitmqctl
LOADGEN=$(realpath "$LOADGEN")
FERRYD=$(realpath "$FERRYD")
ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/ferry-durable.XXXXXX)
chmod 755 "$WORK"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
BROKER_PID=""
RMQ_PID=""
EPMD_PID=""
cleanup() {
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -KILL "$BROKER_PID" 2>/dev/null || true
    fi
    stop_rabbitmq || true
    cp "$RESULTS" "${OUT%.md}.jsonl" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    local port=$1 tries=${2:-100} i
    for i in $(seq 1 "$tries"); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ferryd's configuration: unlimited queues (an offline run queues everything it publishes),
# an inbound window above the publisher's.
ferryd_conf() {
    local dir=$1 port=$2 sync=$3 level=$4
    cat >"$dir/ferry.toml" <<EOF
[[listener]]
protocol = "mqtt"
bind = "127.0.0.1:$port"

[limits]
max_inflight = 100
max_queued_messages = 0
receive_maximum = 1000
max_connections = 0

[storage]
path = "$dir/ferry.db"
sync = "$sync"

[log]
level = "$level"
EOF
}

# start_broker NAME -> sets BROKER_PID and PORT (rabbitmq: the shared node)
start_broker() {
    local name=$1 dir="$WORK/$1"
    if [[ "$name" == rabbitmq ]]; then
        PORT=$RMQ_MQTT_PORT
        BROKER_PID=$RMQ_PID
        return 0
    fi
    mkdir -p "$dir"
    rm -rf "${dir:?}"/*
    PORT=$(free_port)
    case "$name" in
    mosquitto)
        # Debian's mosquitto drops root for the "mosquitto" user: let it write its database.
        chown mosquitto "$dir" 2>/dev/null || chmod 777 "$dir"
        cat >"$dir/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 100
EOF
        "$MOSQUITTO" -c "$dir/mosquitto.conf" >"$dir/broker.log" 2>&1 &
        ;;
    ferryd-*)
        ferryd_conf "$dir" "$PORT" "${name#ferryd-}" warning
        (cd "$dir" && exec "$FERRYD" --config "$dir/ferry.toml") >"$dir/broker.log" 2>&1 &
        ;;
    esac
    BROKER_PID=$!
    if ! wait_port "$PORT"; then
        echo "$name did not open port $PORT; its log:" >&2
        cat "$dir/broker.log" >&2
        return 1
    fi
}

# stop_broker -> "term" | "kill" | "dead" as in run_bench.sh; the shared RabbitMQ node stays up.
stop_broker() {
    local how=dead i
    if [[ "$BROKER_PID" == "$RMQ_PID" ]]; then
        kill -0 "$RMQ_PID" 2>/dev/null && how=running
        BROKER_PID=""
        echo "$how"
        return 0
    fi
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        how=term
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 "$BROKER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            how=kill
            kill -KILL "$BROKER_PID" 2>/dev/null || true
        fi
    fi
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
    echo "$how"
}

# RabbitMQ: its own node name, ports, database, logs, config, plugin list and Erlang cookie
# (HOME) under $WORK/rabbitmq; epmd and Erlang distribution on loopback.
rmq_env() {
    local dir="$WORK/rabbitmq"
    export HOME="$dir/home" RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_PID_FILE="$dir/pid" RABBITMQ_NODE_PORT="$RMQ_AMQP_PORT" RABBITMQ_DIST_PORT="$RMQ_DIST_PORT" \
        ERL_EPMD_PORT="$RMQ_EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME="$RMQ_NODE" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
    local dir="$WORK/rabbitmq" i
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    RMQ_AMQP_PORT=$(free_port)
    RMQ_MQTT_PORT=$(free_port)
    RMQ_DIST_PORT=$(free_port)
    RMQ_EPMD_PORT=$(free_port)
    RMQ_NODE="ferrybench$$@localhost"
    # Durable queue + persistent messages + confirms: the MQTT plugin (3.10) declares a
    # durable queue for a clean session 0 subscription, publishes QoS 1 messages persistent
    # (delivery mode 2) and sends PUBACK when the queue confirms the message.
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RMQ_AMQP_PORT
mqtt.listeners.tcp.default = 127.0.0.1:$RMQ_MQTT_PORT
mqtt.allow_anonymous = true
mqtt.prefetch = 100
EOF
    echo '[rabbitmq_mqtt].' >"$dir/enabled_plugins"
    (
        rmq_env
        exec "$RABBITMQ_SERVER"
    ) >"$dir/server.out" 2>&1 &
    RMQ_PID=""
    # The wrapper script execs beam.smp; the node writes its pid file once it is up.
    for i in $(seq 1 1800); do
        if [[ -s "$dir/pid" ]] && wait_port "$RMQ_MQTT_PORT" 1; then
            RMQ_PID=$(cat "$dir/pid")
            break
        fi
        sleep 0.1
    done
    if [[ -z "$RMQ_PID" ]]; then
        echo "RabbitMQ did not start in 180 s; its output:" >&2
        tail -n 30 "$dir/server.out" >&2
        return 1
    fi
    EPMD_PID=$(ss -ltnpH "sport = :$RMQ_EPMD_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
    RMQ_VERSION=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?')
}

stop_rabbitmq() {
    [[ -n "$RMQ_PID" ]] || return 0
    (
        rmq_env
        timeout 60 "$RABBITMQCTL" -n "$RMQ_NODE" stop >/dev/null 2>&1
    ) || kill -TERM "$RMQ_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
        kill -0 "$RMQ_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$RMQ_PID" 2>/dev/null || true
    # epmd was started by this node (its port is ours alone): stop it by its pid.
    [[ -z "$EPMD_PID" ]] || kill -TERM "$EPMD_PID" 2>/dev/null || true
    RMQ_PID=""
}

# label|arguments for ferry_loadgen
SCENARIOS=(
    "offline-64|--qos 1 --offline --payload 64 --seconds $RUN_SECONDS --inflight $INFLIGHT --window 0 --drain-cap 60"
    "online-64|--qos 1 --persistent --payload 64 --seconds $RUN_SECONDS --inflight $INFLIGHT --window 1000"
    "offline-1k|--qos 1 --offline --payload 1024 --seconds $RUN_SECONDS --inflight $INFLIGHT --window 0 --drain-cap 60"
)

brokers=()
for b in $BROKERS; do
    if [[ "$b" == rabbitmq ]]; then
        echo "starting RabbitMQ (about a minute here)..." >&2
        if ! start_rabbitmq; then
            echo "RabbitMQ could not be started: measuring the others only" >&2
            continue
        fi
    fi
    brokers+=("$b")
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$REPEATS"); do
    # Rotate the order every repeat so no broker always runs first.
    order=("${brokers[@]}")
    n=${#order[@]}
    shift_by=$(((rep - 1) % n))
    order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    for entry in "${SCENARIOS[@]}"; do
        label=${entry%%|*}
        args=${entry#*|}
        [[ -z "$ONLY" || " $ONLY " == *" $label "* ]] || continue
        for broker in "${order[@]}"; do
            start_broker "$broker"
            uptime_before=$(cut -d' ' -f1 /proc/loadavg)
            set +e
            # shellcheck disable=SC2086 # args is a word list on purpose
            json=$(timeout $((RUN_SECONDS * 4 + 150)) "$LOADGEN" --port "$PORT" \
                --broker-pid "$BROKER_PID" $args)
            code=$?
            set -e
            stopped=$(stop_broker)
            [[ -n "$json" ]] || json='{"error":"no output from ferry_loadgen"}'
            errors=0
            if [[ "$broker" == ferryd-* ]]; then
                errors=$(grep -ciE 'error|critical|fatal|warn' "$WORK/$broker/broker.log" || true)
                if ((errors > 0)); then
                    echo "  $broker log ($label rep $rep):" >&2
                    head -n 5 "$WORK/$broker/broker.log" >&2
                    cp "$WORK/$broker/broker.log" "${OUT%.md}-$broker-$label-$rep.log" || true
                fi
            fi
            printf '{"broker":"%s","label":"%s","rep":%d,"exit":%d,"stopped":"%s","load1":%s,"log_lines":%d,"result":%s}\n' \
                "$broker" "$label" "$rep" "$code" "$stopped" "$uptime_before" "$errors" "$json" >>"$RESULTS"
            echo "rep $rep $label $broker exit=$code stopped=$stopped load=$uptime_before" >&2
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
stop_rabbitmq

# Restart time: SESSIONS persistent sessions, PER_SESSION QoS 1 messages queued for each,
# SIGTERM, then time from exec to the "ready" log line; finally drain and count.
restart_test() {
    local sync=$1 dir="$WORK/restart-$1" port t0 t1 ready_ms stop_ms restore fill drain size
    mkdir -p "$dir"
    port=$(free_port)
    ferryd_conf "$dir" "$port" "$sync" info
    (cd "$dir" && exec "$FERRYD" --config "$dir/ferry.toml") >"$dir/broker1.log" 2>&1 &
    BROKER_PID=$!
    wait_port "$port"
    fill=$("$LOADGEN" --port "$port" --broker-pid "$BROKER_PID" --qos 1 --offline --phase fill \
        --topic-prefix "restart-$sync" --publishers "$SESSIONS" --subscribers "$SESSIONS" \
        --count "$PER_SESSION" --window 0 --inflight 10 --drain-cap 300 || true)
    t0=$(date +%s%N)
    kill -TERM "$BROKER_PID"
    wait "$BROKER_PID" 2>/dev/null || true
    t1=$(date +%s%N)
    stop_ms=$(((t1 - t0) / 1000000))
    size=$(du -sk "$dir" | cut -f1)
    t0=$(date +%s%N)
    (cd "$dir" && exec "$FERRYD" --config "$dir/ferry.toml") >"$dir/broker2.log" 2>&1 &
    BROKER_PID=$!
    ready_ms=-1
    local i
    for i in $(seq 1 30000); do
        if grep -q ' ready \|ready version=' "$dir/broker2.log" 2>/dev/null; then
            ready_ms=$((($(date +%s%N) - t0) / 1000000))
            break
        fi
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.01
    done
    restore=$(grep -o 'restore_ms=[0-9]*' "$dir/broker2.log" | head -n 1 | cut -d= -f2 || true)
    drain=$("$LOADGEN" --port "$port" --broker-pid "$BROKER_PID" --qos 1 --offline --phase drain \
        --topic-prefix "restart-$sync" --publishers "$SESSIONS" --subscribers "$SESSIONS" \
        --count "$PER_SESSION" --drain-cap 300 || true)
    stop_broker >/dev/null
    errors=$(cat "$dir"/broker*.log | grep -ciE 'error|critical|fatal|warn' || true)
    ((errors == 0)) || grep -iE 'error|critical|fatal|warn' "$dir"/broker*.log | head -n 20 >"${OUT%.md}-restart-$sync.log" || true
    printf '{"broker":"ferryd-%s","label":"restart","stop_ms":%d,"ready_ms":%d,"restore_ms":%s,"db_kb":%d,"log_lines":%d,"fill":%s,"drain":%s}\n' \
        "$sync" "$stop_ms" "$ready_ms" "${restore:-null}" "$size" "$errors" "${fill:-null}" "${drain:-null}" >>"$RESULTS"
    echo "restart $sync: stop ${stop_ms} ms, ready ${ready_ms} ms, restore_ms ${restore:-?}" >&2
}
((RESTART)) && for b in $BROKERS; do
    case "$b" in ferryd-*) restart_test "${b#ferryd-}" ;; esac
done

export BENCH_DATE BENCH_NPROC BENCH_CPU BENCH_KERNEL BENCH_MOSQ BENCH_FERRYD BENCH_RMQ \
    BENCH_COMMAND BENCH_LOAD BENCH_REPEATS BENCH_SECONDS BENCH_INFLIGHT
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_NPROC=$(nproc)
BENCH_CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
BENCH_KERNEL=$(uname -r)
BENCH_MOSQ=$("$MOSQUITTO" -h 2>&1 | head -n 1 || true)
BENCH_FERRYD="$("$FERRYD" --version 2>&1 | head -n 1 || true) ($FERRYD)"
BENCH_RMQ="rabbitmq-server ${RMQ_VERSION:-not run} (Debian)"
BENCH_COMMAND=$COMMAND
BENCH_LOAD="$LOAD_BEFORE before, $LOAD_AFTER after"
BENCH_REPEATS=$REPEATS
BENCH_SECONDS=$RUN_SECONDS
BENCH_INFLIGHT=$INFLIGHT
/usr/bin/python3 "$ROOT/tests/bench/summarize_durable.py" "$RESULTS" >"$OUT"
echo "wrote $OUT" >&2
