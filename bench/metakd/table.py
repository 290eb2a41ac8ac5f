#!/usr/bin/env python3
"""Collects the results.json of every `distil metakd` run under OUT_DIR/s<seed>/<run>/ (written by bench/metakd/run.sh)
into the paper-layout tables: bench/results/metakd.md and metakd.json. Mean over seeds ± the sample standard deviation when
there is more than one seed. Usage: python3 bench/metakd/table.py OUT_DIR [RESULTS_PREFIX]"""
import glob, json, os, statistics, sys

out_dir = sys.argv[1]
prefix = sys.argv[2] if len(sys.argv) > 2 else "bench/results/metakd"
runs = {}
paths = sorted(glob.glob(os.path.join(out_dir, "s*", "*", "results.json")))
# Runs that did not finish: what collect-partial.py measured of them (only the domains whose student finished).
paths += [p for p in sorted(glob.glob(os.path.join(out_dir, "s*", "*", "results-partial.json"))) if not os.path.exists(p.replace("results-partial", "results"))]
for path in paths:
    seed = os.path.basename(os.path.dirname(os.path.dirname(path)))[1:]
    name = os.path.basename(os.path.dirname(path))
    runs.setdefault(name, {})[seed] = json.load(open(path, encoding="utf-8"))

SETTINGS = [
    ("Full training data", "", ["single-tinybert", "mix-tinybert", "meta-tinybert", "meta-kd", "meta-metakd"]),
    ("Few-shot: 10% of each domain's training rows (teachers 10 epochs, students 7 + 15: the full data's student step budget)", "p10-",
     ["p10-single-tinybert", "p10-mix-tinybert", "p10-meta-metakd"]),
    ("Zero-shot: teachers trained without imdb, students distilled on imdb", "zs-imdb-", ["zs-imdb-mix-tinybert", "zs-imdb-meta-metakd"]),
]

def cell(values):
    values = [v for v in values if v is not None]
    if not values: return "-", None
    m = statistics.mean(values)
    if len(values) == 1: return f"{100*m:.1f}", {"mean": m, "n": 1}
    return f"{100*m:.1f} ± {100*statistics.stdev(values):.1f}", {"mean": m, "min": min(values), "max": max(values), "n": len(values), "stdev": statistics.stdev(values)}

md, js = [], {"tables": []}
md.append("# Meta-KD on data/uci-sentiment (3 domains) with the MiniLM encoder\n")
md.append("Test accuracy (%) per domain, paper layout (docs/metakd.md §Results). Produced by `bench/metakd/run.sh runs/metakd SEED` "
          "then `python3 bench/metakd/table.py runs/metakd` (the whole grid: `bench/metakd/grid.sh runs/metakd`); each cell is the "
          "mean over the seeds listed ± the sample standard deviation when there are several. Per-run reports: runs/metakd/s<seed>/<run>/report.md.\n")
for title, _, names in SETTINGS:
    present = [n for n in names if n in runs]
    if not present: continue
    domains = []
    for n in present:
        for r in runs[n].values():
            for d in r["Domains"]:
                if d not in domains: domains.append(d)
    rows, seen_teachers = [], set()
    # A teacher reused by several runs (--teacher) is listed once, from the run that trained it.
    trained_first = sorted(present, key=lambda n: -statistics.mean(r["Teacher"]["Seconds"] for r in runs[n].values()))
    for kind in ("Teacher", "Student"):
        for n in (trained_first if kind == "Teacher" else present):
            seeds = runs[n]
            name = next(iter(seeds.values()))[kind]["Name"]
            if kind == "Teacher":
                if name in seen_teachers: continue
                seen_teachers.add(name)
            accs = {d: [r[kind]["Accuracy"].get(d) for r in seeds.values()] for d in domains}
            avgs = [statistics.mean(r[kind]["Accuracy"][d] for d in domains) for r in seeds.values() if all(d in r[kind]["Accuracy"] for d in domains)]
            secs = [r[kind]["Seconds"] for r in seeds.values()]
            cells, nums = {}, {}
            for d in domains: cells[d], nums[d] = cell(accs[d])
            cells["Avg"], nums["Avg"] = cell(avgs)
            label = f"{name} (teacher)" if kind == "Teacher" else name
            if any(r.get("Partial") for r in seeds.values()): label += " ‡"
            rows.append((label, cells, nums, sorted(seeds), statistics.mean(secs), n))
    md.append(f"## {title}\n")
    md.append("| Teacher → Student | " + " | ".join(domains) + " | Avg | seeds | wall s (mean) |")
    md.append("|---|" + "---|" * (len(domains) + 3))
    table = {"title": title, "domains": domains, "rows": []}
    for label, cells, nums, seeds, secs, run in rows:
        md.append(f"| {label} | " + " | ".join(cells[d] for d in domains + ["Avg"]) + f" | {','.join(seeds)} | {secs:.0f} |")
        table["rows"].append({"name": label, "run": run, "seeds": seeds, "accuracy": nums, "seconds_mean": secs})
    md.append("")
    js["tables"].append(table)

if any(r.get("Partial") for seeds in runs.values() for r in seeds.values()):
  md.append("‡ = the run did not finish on the shared machine before the deadline; its cells are the students that did finish, "
          "measured by `python3 bench/metakd/collect-partial.py runs/metakd 42` (`distil eval` on each domain's test rows); "
          "a missing cell is a student that was not trained in time, and Avg is left out when a domain is missing.\n")
md.append("## Runs\n")
md.append("| run | seed | teacher | distill | train rows | teacher s | students s | whole run s |")
md.append("|---|---|---|---|---|---|---|---|")
for n, seeds in sorted(runs.items()):
    for s, r in sorted(seeds.items()):
        if r.get("Partial"): md.append(f"| {n} ‡ | {s} | {r['Labels']['teacher_source']} | | | | {r['Student']['Seconds']:.0f} | |"); continue
        md.append(f"| {n} | {s} | {r['Labels']['teacher_mode']} ({r['Labels']['teacher_source']}) | {r['Labels']['distill']} | {int(r['Settings']['train_rows'])} | "
                  f"{r['Teacher']['Seconds']:.0f} | {r['Student']['Seconds']:.0f} | {r['TotalSeconds']:.0f} |")
notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
if os.path.exists(notes): md.append(open(notes, encoding="utf-8").read())
js["runs"] = runs
open(prefix + ".md", "w", encoding="utf-8").write("\n".join(md) + "\n")
json.dump(js, open(prefix + ".json", "w", encoding="utf-8"), indent=1, ensure_ascii=False)
print("\n".join(md))
