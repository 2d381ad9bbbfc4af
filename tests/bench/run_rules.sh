#!/usr/bin/env bash
# run_rules.sh: the broker's QoS 0 throughput (1 -> 1, ferry_loadgen) with rules loaded against
# without, in the same run (issue 4, "Performance"). Run by hand; never part of ctest.
#
#   tests/bench/run_rules.sh [--seconds 5] [--repeats 3] [--sets "none nonmatch100 typical1"]
#                            [--sys-interval 10] [--callgrind COUNT]
#
# Rule sets (rules.d of the ferryd under test; the topic published is bench/site1/t0, payload
# the loadgen's --json-payload {"s":"<stamp>","temp":31.5,"hum":40,"id":"abc"} padded to 80 B):
#   none          no rules
#   nonmatch100   100 rules whose FROM filters do not match the topic (some share its levels:
#                 bench/site1/x<i>, bench/+/hum<i>, site<i>/#)
#   typical1      the typical rule: SELECT payload.temp AS t, clientid FROM "bench/+/t0"
#                 WHERE payload.temp > 30, republishing to alerts/${clientid}/temp (which no
#                 one subscribes to: the republish is routed to zero subscribers)
# ferryd is started fresh for every run on a free loopback port from a temporary directory;
# sets alternate, order reversed every repeat. Prints one JSON line per run and a summary
# (mean and median of msg/s delivered and of broker CPU-s per million delivered).
# Environment: FERRYD, LOADGEN (default: the newest build*/app/ferryd, build*/tests/bench/ferry_loadgen).
# --callgrind COUNT: instead, each set once with ferryd under valgrind --tool=callgrind and
# exactly COUNT messages (closed loop); prints the broker's event-loop instructions per message
# delivered and those of RuleEngine::onMessage: figures that do not depend on the machine's load.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_SECONDS=5
REPEATS=3
SETS="none nonmatch100 typical1"
# ferryd's default $SYS interval: each rule publishes 8 retained $SYS/rules/... metrics per
# interval, so a short interval with 100 rules adds hundreds of retained publishes a second.
SYS_INTERVAL=10
CALLGRIND=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --seconds) RUN_SECONDS=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --sets) SETS=$2; shift 2 ;;
    --sys-interval) SYS_INTERVAL=$2; shift 2 ;;
    --callgrind) CALLGRIND=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

newest() { ls -t $1 2>/dev/null | head -n 1 || true; }
LOADGEN=${LOADGEN:-$(newest "$ROOT/build*/tests/bench/ferry_loadgen")}
FERRYD=${FERRYD:-$(newest "$ROOT/build*/app/ferryd")}
if [[ -z "$LOADGEN" || ! -x "$LOADGEN" || -z "$FERRYD" || ! -x "$FERRYD" ]]; then
    echo "set FERRYD and LOADGEN (ferryd and ferry_loadgen builds)" >&2
    exit 2
fi
LOADGEN=$(realpath "$LOADGEN")
FERRYD=$(realpath "$FERRYD")

WORK=$(mktemp -d /tmp/ferry-rulebench.XXXXXX)
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
    for i in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

rule() { # name sql republish-topic
    printf '[[rule]]\nname = "%s"\nsql = '"'''"'\n%s\n'"'''"'\nactions = [{ type = "republish", topic = "%s" }]\n\n' "$1" "$2" "$3"
}

write_rules() { # set dir
    local set=$1 dir=$2 i from
    mkdir -p "$dir"
    case "$set" in
    none) ;;
    nonmatch100)
        for i in $(seq 1 100); do
            case $((i % 3)) in
            0) from="bench/site1/x$i" ;;
            1) from="bench/+/hum$i" ;;
            *) from="site$i/#" ;;
            esac
            rule "other$i" "SELECT payload.temp AS t, clientid FROM \"$from\" WHERE payload.temp > 30" \
                "alerts/other$i/\${clientid}"
        done >"$dir/10-others.toml"
        ;;
    typical1)
        rule typical 'SELECT payload.temp AS t, clientid FROM "bench/+/t0" WHERE payload.temp > 30' \
            'alerts/${clientid}/temp' >"$dir/00-typical.toml"
        ;;
    *) echo "unknown rule set $set" >&2; exit 2 ;;
    esac
}

start_broker() { # set -> BROKER_PID, PORT
    local set=$1 dir="$WORK/$1"
    rm -rf "$dir"
    mkdir -p "$dir"
    write_rules "$set" "$dir/rules.d"
    PORT=$(free_port)
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

[rules]
dir = "$dir/rules.d"

[sys]
interval = $SYS_INTERVAL

[log]
level = "warning"
EOF
    if ((CALLGRIND > 0)); then
        (cd "$dir" && exec valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$set.out" \
            "$FERRYD" --config "$dir/ferry.toml") >"$dir/broker.log" 2>&1 &
    else
        (cd "$dir" && exec "$FERRYD" --config "$dir/ferry.toml") >"$dir/broker.log" 2>&1 &
    fi
    BROKER_PID=$!
    if ! wait_port "$PORT"; then
        echo "ferryd did not open port $PORT; its log:" >&2
        cat "$dir/broker.log" >&2
        return 1
    fi
}

stop_broker() {
    local i
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for i in $(seq 1 $((CALLGRIND > 0 ? 600 : 50))); do # callgrind writes its profile
            kill -0 "$BROKER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$BROKER_PID" 2>/dev/null || true
    fi
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

read -r -a sets <<<"$SETS"
if ((CALLGRIND > 0)); then
    echo "# run_rules.sh --callgrind $CALLGRIND; ferryd $FERRYD (tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?"))"
    for set in "${sets[@]}"; do
        start_broker "$set"
        json=$(timeout 900 "$LOADGEN" --port "$PORT" --scenario pubsub --qos 0 --count "$CALLGRIND" \
            --topic-prefix bench/site1 --json-payload --payload 80 --drain 10 || true)
        stop_broker
        /usr/bin/python3 - "$set" "$WORK/cg.$set.out" "$json" <<'EOF'
import json, re, subprocess, sys
s, out, result = sys.argv[1], sys.argv[2], sys.argv[3]
received = json.loads(result).get("received", 0) if result else 0
text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True,
                      text=True).stdout
def inclusive(pattern):
    for line in text.splitlines():
        if re.match(r"\s*[\d,]+ ", line) and re.search(pattern, line):
            return int(line.split()[0].replace(",", ""))
    return 0
loop, rules = inclusive(r"QEventLoop::exec\("), inclusive(r"RuleEngine::onMessage\(")
per = lambda v: round(v / received) if received else None
print(json.dumps({"set": s, "received": received, "event_loop_instr_per_msg": per(loop),
                  "rule_engine_instr_per_msg": per(rules)}))
EOF
    done
    exit 0
fi
echo "# run_rules.sh --seconds $RUN_SECONDS --repeats $REPEATS --sys-interval $SYS_INTERVAL; ferryd $FERRYD (tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?"))"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPEATS"); do
    order=("${sets[@]}")
    if ((rep % 2 == 0)); then
        order=()
        for ((i = ${#sets[@]} - 1; i >= 0; i--)); do order+=("${sets[$i]}"); done
    fi
    for set in "${order[@]}"; do
        start_broker "$set"
        load=$(cut -d' ' -f1 /proc/loadavg)
        set +e
        json=$(timeout $((RUN_SECONDS * 4 + 60)) "$LOADGEN" --port "$PORT" --broker-pid "$BROKER_PID" \
            --scenario pubsub --qos 0 --seconds "$RUN_SECONDS" --topic-prefix bench/site1 \
            --json-payload --payload 80)
        code=$?
        # Proof that the rules ran: their $SYS/rules/<name>/{matched,passed}, the last value of
        # each (sum) over one whole $SYS interval after the run.
        counts='{"matched":0,"passed":0}'
        [[ "$set" == none ]] || counts=$(timeout $((SYS_INTERVAL + 10)) mosquitto_sub -p "$PORT" \
            -t '$SYS/rules/+/matched' -t '$SYS/rules/+/passed' -v -W $((SYS_INTERVAL + 1)) 2>/dev/null | awk '{last[$1] = $2}
                END {for (t in last) {if (t ~ /matched$/) m += last[t]; if (t ~ /passed$/) p += last[t]}
                     printf "{\"matched\":%d,\"passed\":%d}", m, p}')
        set -e
        stop_broker
        [[ -n "$json" ]] || json='{"error":"no output from ferry_loadgen"}'
        line=$(printf '{"set":"%s","rep":%d,"exit":%d,"load1":%s,"rules":%s,"result":%s}' "$set" "$rep" "$code" \
            "$load" "${counts:-null}" "$json")
        echo "$line" >>"$RESULTS"
        echo "$line"
    done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
sets = []
for r in runs:
    if r["set"] not in sets:
        sets.append(r["set"])
def col(s, key):
    return [r["result"].get(key) for r in runs if r["set"] == s and r["result"].get(key) is not None]
base = None
print("| rules | msg/s delivered (mean / median) | broker CPU-s per million (mean / median) | lost | rule executions (matched, all runs) | load1 at start |")
print("|---|---|---|---|---|---|")
for s in sets:
    rate, cpu = col(s, "delivered_per_s"), col(s, "broker_cpu_s_per_million")
    lost = sum(col(s, "lost"))
    loads = " ".join(str(r["load1"]) for r in runs if r["set"] == s)
    matched = sum((r.get("rules") or {}).get("matched", 0) for r in runs if r["set"] == s)
    if not rate:
        print(f"| {s} | no result | | | {matched} | {loads} |")
        continue
    print(f"| {s} | {statistics.mean(rate)/1e3:.1f}k / {statistics.median(rate)/1e3:.1f}k "
          f"| {statistics.mean(cpu):.2f} / {statistics.median(cpu):.2f} | {lost} | {matched} | {loads} |")
EOF
