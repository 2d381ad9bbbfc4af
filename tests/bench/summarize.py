#!/usr/bin/python3
"""Turns run_bench.sh's JSON lines (one per broker x scenario x repeat) into RESULTS.md.

Medians per broker and scenario; losses, disconnects and crashes are summed over the repeats,
never hidden by a median. Machine facts come from BENCH_* environment variables.
"""
import json
import os
import statistics
import sys

SCENARIO_TITLES = {
    "qos0": "QoS 0, 1 -> 1",
    "qos1": "QoS 1, 1 -> 1",
    "fanout": "fan-out 1 -> 100, QoS 0",
    "fanin": "fan-in 100 -> 1 (wildcard), QoS 0",
    "paced": "QoS 0, 1 -> 1 paced at 10k msg/s",
    "idle": "idle connections",
}


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, kind):
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"
    if kind == "ms":
        return f"{value / 1000:.2f}"
    if kind == "us":
        return f"{value:.0f}"
    if kind == "cpu":
        return f"{value:.2f}"
    if kind == "kb":
        return f"{value:.1f}"
    if kind == "mb":
        return f"{value / 1024:.1f}"
    if kind == "s":
        return f"{value:.2f}"
    if kind == "int":
        return f"{value:.0f}"
    return str(value)


def ratio(a, b, lower_is_better):
    if lower_is_better is None or a is None or b is None or a == 0 or b == 0:
        return "—"
    r = b / a
    better = r < 1 if lower_is_better else r > 1
    return f"{r:.2f}x" + (" (better)" if better else " (worse)" if r != 1 else "")


def main():
    runs = load(sys.argv[1])
    env = os.environ.get
    brokers = [b for b in env("BENCH_BROKERS", "mosquitto ferryd").split()]
    measured = sorted({r["broker"] for r in runs})
    by = {}
    for r in runs:
        by.setdefault((r["broker"], r["label"]), []).append(r)

    def metric(broker, label, key):
        rs = by.get((broker, label), [])
        return median([r["result"].get(key) for r in rs if isinstance(r["result"].get(key), (int, float))])

    def total(broker, label, key):
        rs = by.get((broker, label), [])
        return sum(r["result"].get(key, 0) or 0 for r in rs if isinstance(r["result"].get(key, 0), (int, float)))

    out = []
    w = out.append
    w("# Ferry benchmark: ferryd vs Mosquitto")
    w("")
    w(f"Generated {env('BENCH_DATE')} by `{env('BENCH_COMMAND')}`.")
    w("")
    w(f"- Machine: {env('BENCH_NPROC')} cores ({env('BENCH_CPU')}), {env('BENCH_MEM')} RAM, "
      f"Linux {env('BENCH_KERNEL')}; load average {env('BENCH_LOAD')}.")
    w(f"- Brokers: {env('BENCH_MOSQ')} (Debian; persistence off, max_queued_messages 100000, "
      f"max_inflight_messages 100, other settings default, so `set_tcp_nodelay false`); "
      f"ferryd {env('BENCH_FERRYD')} (limits max_inflight 100, max_queued_messages 100000, "
      f"max_connections 0).")
    w(f"- Method: each broker started fresh for every run on a loopback port; brokers alternate, "
      f"order swapped every repeat; {env('BENCH_REPEATS')} repeats of {env('BENCH_SECONDS')} s, "
      f"median shown. Load generator: `tests/bench/ferry_loadgen` (one epoll thread, its own "
      f"MQTT 3.1.1 encoder), 64-byte payloads stamped with send time and sequence number.")
    w("- Throughput rows keep at most 1,000 deliveries in flight end to end (`--window 1000`), so "
      "they measure the rate a broker sustains, and latency includes that queue (Little's law: "
      "about 1,000 / rate). The paced row publishes 10k msg/s to show latency without a backlog.")
    w("- Broker CPU is utime+stime from /proc/<pid>/stat (all threads) over the publish and drain "
      "period, divided by messages delivered. On this 2-core machine the load generator shares "
      "the CPU with the broker: compare the two columns, not these numbers with other machines.")
    try:
        busy = float(env("BENCH_LOAD", "0").split()[0])
    except ValueError:
        busy = 0
    if busy > float(env("BENCH_NPROC", "2")):
        w(f"- **The machine was busy** (load average {busy:.1f} on {env('BENCH_NPROC')} cores at the "
          "start): both brokers were starved of CPU alike, so throughput ratios approach the ratio "
          "of CPU cost per message, and absolute rates are far below an idle machine's.")
    if "ferryd" in brokers and "ferryd" not in measured:
        w("- **ferryd: not yet measured** (no ferryd binary when this ran).")
    w("")

    cols = [b for b in ["mosquitto", "ferryd"] if b in brokers]
    header = "| scenario | metric | " + " | ".join(cols)
    if len(cols) == 2:
        header += " | ferryd / mosquitto"
    w("## Summary (medians)")
    w("")
    w(header + " |")
    w("|" + "---|" * (header.count("|")))

    def row(label, name, key, kind, lower_is_better, agg=metric):
        values = []
        for b in cols:
            if b not in measured:
                values.append(None)
            else:
                values.append(agg(b, label, key))
        cells = [fmt(v, kind) if (b in measured) else "not yet measured" for v, b in zip(values, cols)]
        line = f"| {SCENARIO_TITLES[label]} | {name} | " + " | ".join(cells)
        if len(cols) == 2:
            line += " | " + ratio(values[0], values[1], lower_is_better)
        w(line + " |")

    for label in ["qos0", "qos1", "fanout", "fanin"]:
        unit = "deliveries/s" if label == "fanout" else "msg/s delivered"
        row(label, unit, "delivered_per_s", "rate", False)
        row(label, "broker CPU-s per million delivered", "broker_cpu_s_per_million", "cpu", True)
        row(label, "latency p50 (ms)", "latency_p50_us", "ms", True)
        row(label, "latency p99 (ms)", "latency_p99_us", "ms", True)
        row(label, "lost (sum of runs)", "lost", "int", True, total)
        row(label, "load generator CPU share (1.0 = it was the limit)", "loadgen_cpu_share", "cpu", None)
    row("paced", "latency p50 (µs)", "latency_p50_us", "us", True)
    row("paced", "latency p99 (µs)", "latency_p99_us", "us", True)
    row("paced", "broker CPU-s per million", "broker_cpu_s_per_million", "cpu", True)
    row("paced", "lost (sum of runs)", "lost", "int", True, total)
    n = env("BENCH_CONNECTIONS")
    row("idle", f"connections made (of {n})", "connected", "int", False)
    row("idle", "connects/s", "connects_per_s", "rate", False)
    row("idle", f"seconds to connect {n}", "connect_seconds", "s", True)
    row("idle", "broker KB RSS per idle connection", "broker_kb_per_connection", "kb", True)
    row("idle", "broker RSS with all connected (MB)", "broker_rss_kb_connected", "mb", True)
    row("idle", "PINGREQs sent (one round to all, plus keep-alive pings)", "pings_sent", "int", None)
    row("idle", "PINGRESPs received", "pings_answered", "int", False)
    row("idle", "seconds until the last PINGRESP", "pings_last_answer_s", "s", True)
    w("")

    problems = []
    for r in runs:
        res = r["result"]
        bad = []
        if not r.get("alive", True):
            bad.append("broker died")
        if r.get("stopped") == "kill":
            bad.append("broker still running 5 s after SIGTERM (SIGKILLed)")
        if r.get("exit", 0) != 0:
            bad.append(f"loadgen exit {r['exit']}")
        for key in ["lost", "disconnects", "connect_failures", "protocol_errors", "duplicates", "unexpected_acks"]:
            if res.get(key):
                bad.append(f"{key}={res[key]}")
        if r["label"] == "idle" and res.get("pings_answered") != res.get("pings_sent"):
            bad.append(f"pings {res.get('pings_answered')}/{res.get('pings_sent')}")
        if res.get("error"):
            bad.append(res["error"])
        if bad:
            problems.append(f"- {r['broker']} {r['label']} repeat {r['rep']}: " + "; ".join(bad))
    w("## Anomalies")
    w("")
    w("\n".join(problems) if problems else "None: no loss, disconnect, crash or protocol error in any run.")
    w("")

    w("## Every run")
    w("")
    w("| broker | scenario | repeat | published/s | delivered/s | lost | p50 ms | p99 ms | CPU-s/M | connects/s | KB/conn |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(runs, key=lambda r: (r["label"], r["broker"], r["rep"])):
        res = r["result"]
        w(f"| {r['broker']} | {r['label']} | {r['rep']} | {fmt(res.get('pub_per_s'), 'rate')} | "
          f"{fmt(res.get('delivered_per_s'), 'rate')} | {fmt(res.get('lost'), 'int')} | "
          f"{fmt(res.get('latency_p50_us'), 'ms')} | {fmt(res.get('latency_p99_us'), 'ms')} | "
          f"{fmt(res.get('broker_cpu_s_per_million'), 'cpu')} | {fmt(res.get('connects_per_s'), 'rate')} | "
          f"{fmt(res.get('broker_kb_per_connection'), 'kb')} |")
    w("")
    w("<details><summary>Raw JSON lines</summary>")
    w("")
    w("```")
    for r in runs:
        w(json.dumps(r, separators=(",", ":")))
    w("```")
    w("</details>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
