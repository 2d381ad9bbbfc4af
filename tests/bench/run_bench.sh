#!/usr/bin/env bash
# run_bench.sh: Ferry's ferryd against Debian's Mosquitto on this machine, with the same load
# generator (ferry_loadgen), in the same run, brokers alternating, each scenario repeated and
# the median kept. Writes tests/bench/RESULTS.md. Run by hand; never part of ctest.
#
#   tests/bench/run_bench.sh [--seconds 5] [--repeats 3] [--connections 10000]
#                            [--brokers "mosquitto ferryd"] [--out tests/bench/RESULTS.md]
#
# Environment: FERRYD (default: newest build*/app/ferryd), LOADGEN (default: newest
# build*/tests/bench/ferry_loadgen), MOSQUITTO (default: /usr/sbin/mosquitto).
# Every broker is started fresh for every run, on a free loopback port, from a temporary
# directory that is removed at exit; only processes this script started are stopped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_SECONDS=5
REPEATS=3
CONNECTIONS=10000
BROKERS="mosquitto ferryd"
OUT="$ROOT/tests/bench/RESULTS.md"
COMMAND="tests/bench/run_bench.sh $*"
[[ -z "${LOADGEN:-}" ]] || COMMAND="LOADGEN=$LOADGEN $COMMAND"
[[ -z "${FERRYD:-}" ]] || COMMAND="FERRYD=$FERRYD $COMMAND"

while [[ $# -gt 0 ]]; do
    case "$1" in
    --seconds) RUN_SECONDS=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --brokers) BROKERS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

newest() { ls -t $1 2>/dev/null | head -n 1 || true; }
LOADGEN=${LOADGEN:-$(newest "$ROOT/build*/tests/bench/ferry_loadgen")}
FERRYD=${FERRYD:-$(newest "$ROOT/build*/app/ferryd")}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
# Absolute paths: brokers run from their own temporary directories.
[[ -z "$LOADGEN" ]] || LOADGEN=$(realpath "$LOADGEN")
[[ -z "$FERRYD" ]] || FERRYD=$(realpath "$FERRYD")
if [[ -z "$LOADGEN" || ! -x "$LOADGEN" ]]; then
    echo "ferry_loadgen not found: cmake --build <build> --target ferry_loadgen, or set LOADGEN" >&2
    exit 2
fi

# 10,000 idle connections need 10,000 descriptors in the broker and in the load generator.
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < CONNECTIONS + 200)); then
    echo "ulimit -n is $(ulimit -n) (hard limit): too low for $CONNECTIONS connections" >&2
    exit 2
fi

WORK=$(mktemp -d /tmp/ferry-bench.XXXXXX)
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
BROKER_PID=""
cleanup() {
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -KILL "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# start_broker NAME -> sets BROKER_PID and PORT
start_broker() {
    local name=$1 dir="$WORK/$1"
    mkdir -p "$dir"
    rm -rf "${dir:?}"/*
    PORT=$(free_port)
    case "$name" in
    mosquitto)
        cat >"$dir/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
max_inflight_messages 100
EOF
        "$MOSQUITTO" -c "$dir/mosquitto.conf" >"$dir/broker.log" 2>&1 &
        ;;
    ferryd)
        cat >"$dir/ferry.toml" <<EOF
[[listener]]
protocol = "mqtt"
bind = "127.0.0.1:$PORT"

[limits]
max_inflight = 100
max_queued_messages = 100000
max_connections = 0

[storage]
path = "$dir/ferry.db"

[log]
level = "warning"
EOF
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

# stop_broker -> prints how the broker ended: "term" (exited within 5 s of SIGTERM), "kill"
# (still running after 5 s: SIGKILLed) or "dead" (had already exited, i.e. crashed)
stop_broker() {
    local how=dead i
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        how=term
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for i in $(seq 1 50); do
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

# label|arguments for ferry_loadgen
SCENARIOS=(
    "qos0|--scenario pubsub --qos 0 --seconds $RUN_SECONDS"
    "qos1|--scenario pubsub --qos 1 --seconds $RUN_SECONDS"
    "fanout|--scenario fanout --qos 0 --publishers 1 --subscribers 100 --seconds $RUN_SECONDS"
    "fanin|--scenario fanin --qos 0 --publishers 100 --subscribers 1 --seconds $RUN_SECONDS"
    "paced|--scenario pubsub --qos 0 --rate 10000 --seconds $RUN_SECONDS"
    "idle|--scenario idle --connections $CONNECTIONS --seconds $RUN_SECONDS"
)

brokers=()
for b in $BROKERS; do
    if [[ "$b" == ferryd && ( -z "$FERRYD" || ! -x "$FERRYD" ) ]]; then
        echo "ferryd not found (set FERRYD): measuring the others only" >&2
        continue
    fi
    brokers+=("$b")
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$REPEATS"); do
    # Alternate the order every repeat so neither broker always runs first.
    order=("${brokers[@]}")
    if ((rep % 2 == 0)) && ((${#brokers[@]} == 2)); then
        order=("${brokers[1]}" "${brokers[0]}")
    fi
    for entry in "${SCENARIOS[@]}"; do
        label=${entry%%|*}
        args=${entry#*|}
        for broker in "${order[@]}"; do
            start_broker "$broker"
            set +e
            # shellcheck disable=SC2086 # args is a word list on purpose
            json=$(timeout $((RUN_SECONDS * 4 + 120)) "$LOADGEN" --port "$PORT" \
                --broker-pid "$BROKER_PID" $args)
            code=$?
            set -e
            stopped=$(stop_broker)
            alive=true
            [[ "$stopped" != dead ]] || alive=false
            [[ -n "$json" ]] || json='{"error":"no output from ferry_loadgen"}'
            printf '{"broker":"%s","label":"%s","rep":%d,"exit":%d,"alive":%s,"stopped":"%s","result":%s}\n' \
                "$broker" "$label" "$rep" "$code" "$alive" "$stopped" "$json" >>"$RESULTS"
            echo "rep $rep $label $broker exit=$code stopped=$stopped" >&2
            if [[ "$stopped" != term ]]; then
                echo "  $broker: $stopped during/after $label; last log lines:" >&2
                tail -n 20 "$WORK/$broker/broker.log" >&2 || true
            fi
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

FERRYD_VERSION="not built"
if [[ -n "$FERRYD" && -x "$FERRYD" ]]; then
    FERRYD_VERSION="$("$FERRYD" --version 2>&1 | head -n 1 || true) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
fi
export BENCH_DATE BENCH_NPROC BENCH_CPU BENCH_MEM BENCH_KERNEL BENCH_MOSQ BENCH_FERRYD \
    BENCH_COMMAND BENCH_LOAD BENCH_REPEATS BENCH_SECONDS BENCH_CONNECTIONS BENCH_BROKERS
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_NPROC=$(nproc)
BENCH_CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
BENCH_MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
BENCH_KERNEL=$(uname -r)
BENCH_MOSQ=$("$MOSQUITTO" -h 2>&1 | head -n 1 || true)
BENCH_FERRYD=$FERRYD_VERSION
BENCH_COMMAND=$COMMAND
BENCH_LOAD="$LOAD_BEFORE before, $LOAD_AFTER after"
BENCH_REPEATS=$REPEATS
BENCH_SECONDS=$RUN_SECONDS
BENCH_CONNECTIONS=$CONNECTIONS
BENCH_BROKERS=$BROKERS
/usr/bin/python3 "$ROOT/tests/bench/summarize.py" "$RESULTS" >"$OUT"
echo "wrote $OUT" >&2
