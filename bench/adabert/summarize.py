#!/usr/bin/env python3
"""Aggregates the result.json of `distil search` runs (one per seed) into RESULTS.{json,table.md} (RESULTS defaults to
bench/results/adabert). A run's RUN.time (written by run.sh with /usr/bin/time) adds its CPU seconds: single-threaded,
that is its wall time on a quiet machine, the fair figure for the 30-minute target when the machine is shared."""
import json, os, re, statistics, sys

runs = sys.argv[1:]
prefix = os.environ.get("RESULTS", "bench/results/adabert")

def cpu_seconds(run):
    f = run.rstrip("/") + ".time"
    if not os.path.exists(f): return None
    m = re.search(r"([0-9.]+) wall s, ([0-9.]+) user s, ([0-9.]+) sys s", open(f).read())
    return {"wall": float(m.group(1)), "cpu": float(m.group(2)) + float(m.group(3))} if m else None
rows = [json.load(open(os.path.join(r, "result.json"))) for r in runs]

def acc(m, split):
    return 100 * m[split]["accuracy"] if m.get(split) else float("nan")

def ms(values):
    return (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)

t = rows[0]["teacher"]
teacher_test = acc(t, "Test")
student_test = [acc(r["student"], "Test") for r in rows]
student_dev = [acc(r["student"], "Dev") for r in rows]
params = [r["student"]["Parameters"] / 1e6 for r in rows]
cells = [(r["student"]["Parameters"] - r["student"]["NonEmbeddingParameters"]) for r in rows]
lat = [r["student"]["LatencyMs"] for r in rows]
tlat = [r["teacher"]["LatencyMs"] for r in rows]
speed = [a / b for a, b in zip(tlat, lat)]
search_s = [r["search_seconds"] for r in rows]
retrain_s = [r["retrain_seconds"] for r in rows]
times = [cpu_seconds(r) for r in runs]

summary = {
    "teacher": {"test_accuracy": teacher_test, "dev_accuracy": acc(t, "Dev"), "parameters_m": t["Parameters"] / 1e6,
                "latency_ms_per_run": tlat},
    "student": {"test_accuracy_mean_std": ms(student_test), "dev_accuracy_mean_std": ms(student_dev), "parameters_m": params,
                "latency_ms": lat, "speedup_vs_teacher": speed, "share_of_teacher_test_accuracy": statistics.mean(student_test) / teacher_test},
    "search_seconds": search_s, "retrain_seconds": retrain_s,
    "runs": [{"run": r, "seed": x["seed"], "genotype": x["genotype_text"], "test_accuracy": acc(x["student"], "Test"),
              "dev_accuracy": acc(x["student"], "Dev"), "parameters": x["student"]["Parameters"], "latency_ms": x["student"]["LatencyMs"],
              "teacher_latency_ms": x["teacher"]["LatencyMs"], "search_seconds": x["search_seconds"], "retrain_seconds": x["retrain_seconds"],
              "search_step": x["search_step"], "search_dev_accuracy": x["search_dev_accuracy"], "process_time": tm,
              "retrain_augment_copies": x.get("retrain_augment_copies", 0)} for r, x, tm in zip(runs, rows, times)],
    "op_costs_ms": rows[0]["op_costs_ms"], "machine": rows[0]["machine"], "latency_seq_len": rows[0]["latency_seq_len"],
}
os.makedirs("bench/results", exist_ok=True)
json.dump(summary, open(prefix + ".json", "w"), indent=2)

m, s = ms(student_test)
md = [
    "| model | params | test acc | dev acc | batch-1 latency (TorchSharp, seq %d, median) | speed-up |" % rows[0]["latency_seq_len"],
    "|---|---|---|---|---|---|",
    "| teacher (MiniLM L6-H384, fine-tuned) | %.2fM | %.2f%% | %.2f%% | %s ms | 1x |" % (t["Parameters"] / 1e6, teacher_test, acc(t, "Dev"), " / ".join("%.1f" % v for v in tlat)),
    "| AdaBERT CNN, %d seed(s) | %s M | **%.2f ± %.2f%%** (%.1f%% of the teacher) | %.2f ± %.2f%% | %s ms | %s |" % (
        len(rows), " / ".join("%.2f" % p for p in params), m, s, 100 * m / teacher_test, *ms(student_dev),
        " / ".join("%.2f" % v for v in lat), " / ".join("%.1fx" % v for v in speed)),
    "",
    "| seed | genotype | test acc | params | search s | retrain s | whole process: wall s / CPU s |",
    "|---|---|---|---|---|---|---|",
]
for x in summary["runs"]:
    tm = x["process_time"]
    md.append("| %d | %s | %.2f%% | %.2fM | %.0f | %.0f | %s |" % (x["seed"], x["genotype"], x["test_accuracy"], x["parameters"] / 1e6, x["search_seconds"],
              x["retrain_seconds"], "%.0f / %.0f" % (tm["wall"], tm["cpu"]) if tm else "-"))
print("\n".join(md))
open(prefix + ".table.md", "w").write("\n".join(md) + "\n")

# The targets, stated plainly (every number above is from the runs given on the command line).
share = 100 * m / teacher_test
total = [a + b for a, b in zip(search_s, retrain_s)]
cpu = [tm["cpu"] for tm in times if tm]
targets = [
    ("test accuracy >= 95%% of the teacher's (>= %.2f%%)" % (0.95 * teacher_test),
     "met" if share >= 95 else "NOT met", "%.2f%% mean = %.1f%% of the teacher" % (m, share)),
    ("batch-1 speed-up >= 10x (same process, same runtime)",
     "met" if min(speed) >= 10 else "NOT met", "%s" % " / ".join("%.1fx" % v for v in speed)),
    ("search + retrain <= 30 min on this machine",
     "met" if max(total) <= 1800 else "NOT met", "%s s wall" % " / ".join("%.0f" % v for v in total)),
] + ([("whole run <= 30 min of CPU time (single thread: the quiet machine's wall time)",
       "met" if max(cpu) <= 1800 else "NOT met", "%s CPU s" % " / ".join("%.0f" % v for v in cpu))] if len(cpu) == len(rows) else []) + [
    ("3 seeds", "met" if len(rows) >= 3 else "NOT met", "%d finished" % len(rows)),
]
summary["targets"] = [{"target": a, "status": b, "measured": c} for a, b, c in targets]
json.dump(summary, open(prefix + ".json", "w"), indent=2)
tmd = ["", "| target | status | measured |", "|---|---|---|"] + ["| %s | %s | %s |" % t for t in targets]
print("\n".join(tmd))
open(prefix + ".table.md", "a").write("\n".join(tmd) + "\n")
