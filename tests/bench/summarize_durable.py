#!/usr/bin/python3
"""Turns run_durable.sh's JSON lines into the "Durable" section of tests/bench/RESULTS.md.

Usage: summarize_durable.py results.jsonl > fragment.md (context from BENCH_* variables).
Medians over repeats; losses summed. Bytes per message = the broker's /proc/<pid>/io
write_bytes over the phase divided by the messages of that phase.
"""
import json
import os
import statistics
import sys

BROKERS = ["ferryd-normal", "ferryd-full", "mosquitto", "rabbitmq"]
SCENARIOS = [
    ("offline-64", "QoS 1 -> offline persistent session, 64 B"),
    ("online-64", "QoS 1 -> online persistent subscriber, 64 B"),
    ("offline-1k", "QoS 1 -> offline persistent session, 1 KB"),
]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_rate(v):
    if v is None:
        return "—"
    return f"{v / 1000:.1f}k" if v >= 10000 else f"{v:.0f}"


def fmt(v, digits=1):
    return "—" if v is None else f"{v:.{digits}f}"


def per_msg(r, key, count_key):
    b, n = r.get(key), r.get(count_key)
    if b is None or b < 0 or not n:
        return None
    return b / n


def metrics(r):
    """The figures of one run, by name."""
    offline = r.get("offline") == 1
    m = {
        "rate": r.get("acked_per_s") if offline else r.get("delivered_per_s"),
        "acked": r.get("acked_per_s"),
        "drained": r.get("drained_per_s"),
        "lost": r.get("lost"),
        "dup": r.get("duplicates"),
        "p50": r.get("latency_p50_us", 0) / 1000 if not offline else None,
        "p99": r.get("latency_p99_us", 0) / 1000 if not offline else None,
        "wb_pub": per_msg(r, "broker_write_bytes_publish", "acked") if offline else None,
        "wb_total": per_msg(r, "broker_write_bytes_total", "unique"),
        "cpu": r.get("broker_cpu_s_per_million"),
    }
    return m


def main():
    runs = load(sys.argv[1])
    env = os.environ.get
    print("## Durable\n")
    print(f"Generated {env('BENCH_DATE', '?')} by `{env('BENCH_COMMAND', '?')}`.\n")
    print(f"- Machine: {env('BENCH_NPROC', '?')} cores ({env('BENCH_CPU', '?')}), Linux "
          f"{env('BENCH_KERNEL', '?')}; load average {env('BENCH_LOAD', '?')} (1-minute load "
          "before each run is in the per-run table).")
    print(f"- Brokers: ferryd {env('BENCH_FERRYD', '?')}; {env('BENCH_MOSQ', '?')}; "
          f"{env('BENCH_RMQ', '?')}.")
    print(f"- Method: {env('BENCH_REPEATS', '?')} repeats of {env('BENCH_SECONDS', '?')} s "
          "per scenario and broker, order rotated every repeat, median shown. One QoS 1 "
          f"publisher with {env('BENCH_INFLIGHT', '?')} PUBLISH in flight, one subscriber "
          "(clean session 0, fixed client id, QoS 1 subscription).\n")

    by = {}
    for run in runs:
        if run.get("label") == "restart":
            continue
        by.setdefault((run["broker"], run["label"]), []).append(run)
    present = [b for b in BROKERS if any(k[0] == b for k in by)]

    def med(broker, label, key):
        vals = [metrics(r["result"])[key] for r in by.get((broker, label), [])]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def total(broker, label, key):
        vals = [metrics(r["result"])[key] for r in by.get((broker, label), [])]
        vals = [v for v in vals if v is not None]
        return sum(vals) if vals else None

    print("### Summary (medians)\n")
    print("| scenario | metric | " + " | ".join(present) + " |")
    print("|---|---|" + "---|" * len(present))
    rows = [
        ("rate", "msg/s (offline: PUBACKed/s; online: delivered/s)", med, fmt_rate),
        ("drained", "drain after reconnect, msg/s", med, fmt_rate),
        ("p50", "latency p50 (ms)", med, lambda v: fmt(v, 2)),
        ("p99", "latency p99 (ms)", med, lambda v: fmt(v, 2)),
        ("wb_pub", "bytes written per message while queueing", med, lambda v: fmt(v, 0)),
        ("wb_total", "bytes written per message, queue + deliver", med, lambda v: fmt(v, 0)),
        ("cpu", "broker CPU-s per million delivered", med, lambda v: fmt(v, 1)),
        ("lost", "lost (sum of runs)", total, lambda v: "—" if v is None else str(int(v))),
        ("dup", "duplicates (sum of runs)", total, lambda v: "—" if v is None else str(int(v))),
    ]
    for label, title in SCENARIOS:
        for key, name, agg, f in rows:
            cells = [agg(b, label, key) for b in present]
            if all(c is None for c in cells):
                continue
            print(f"| {title} | {name} | " + " | ".join(f(c) for c in cells) + " |")

    print("\n### Targets\n")
    print("| scenario | ferryd sync | vs | ferryd / other | target | met |")
    print("|---|---|---|---|---|---|")
    for label, title in SCENARIOS:
        for sync in ("ferryd-normal", "ferryd-full"):
            f = med(sync, label, "rate")
            for other, target in (("rabbitmq", 2.0), ("mosquitto", 0.8)):
                o = med(other, label, "rate")
                if f is None or not o:
                    continue
                ratio = f / o
                verdict = "yes" if ratio >= target else "no"
                print(f"| {title} | {sync[7:]} | {other} | {ratio:.2f}x | >= {target}x | "
                      f"{verdict} |")

    restarts = [r for r in runs if r.get("label") == "restart"]
    if restarts:
        print("\n### Restart with queued messages\n")
        print("| ferryd | sessions x messages | fill PUBACKed/s | SIGTERM to exit (ms) | "
              "exec to `ready` (ms) | restore_ms (log) | data dir (KB) | sessions present "
              "after restart | delivered after restart | lost | duplicates |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in restarts:
            fill, drain = r.get("fill") or {}, r.get("drain") or {}
            print(f"| {r['broker']} | {fill.get('subscribers', '?')} x "
                  f"{(fill.get('published', 0) // max(1, fill.get('publishers', 1)))} | "
                  f"{fmt_rate(fill.get('acked_per_s'))} | {r['stop_ms']} | {r['ready_ms']} | "
                  f"{r.get('restore_ms')} | {r['db_kb']} | {drain.get('sessions_present', '?')} | "
                  f"{drain.get('unique', '?')} | {drain.get('lost', '?')} | "
                  f"{drain.get('duplicates', '?')} |")

    print("\n### Every run\n")
    print("| broker | scenario | repeat | load1 | msg/s | drained/s | lost | dup | B/msg queue | "
          "B/msg total | CPU-s/M | stopped | ferryd log warnings | error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in sorted((r for r in runs if r.get("label") != "restart"),
                      key=lambda r: (r["label"], r["broker"], r["rep"])):
        m = metrics(run["result"])
        print(f"| {run['broker']} | {run['label']} | {run['rep']} | {run.get('load1')} | "
              f"{fmt_rate(m['rate'])} | {fmt_rate(m['drained'])} | {m['lost']} | {m['dup']} | "
              f"{fmt(m['wb_pub'], 0)} | {fmt(m['wb_total'], 0)} | {fmt(m['cpu'], 1)} | "
              f"{run['stopped']} | {run.get('log_lines', 0)} | {run['result'].get('error', '')} |")

    print("\n<details><summary>Raw JSON lines</summary>\n\n```")
    for run in runs:
        print(json.dumps(run, separators=(",", ":")))
    print("```\n</details>")


if __name__ == "__main__":
    main()
