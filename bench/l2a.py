#!/usr/bin/env python3
"""Aggregates `distil l2a` runs (bench/l2a.sh) into a table: per target/portion and arm, test accuracy mean ± sd over seeds."""
import json, statistics, sys, pathlib
from collections import defaultdict

work, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
runs = []
for f in sorted(work.glob("*/result.json")):
    r = json.loads(f.read_text())
    wall = f.parent / "wall_seconds"
    r["wall_seconds"] = int(wall.read_text()) if wall.exists() else None
    runs.append(r)
groups = defaultdict(lambda: defaultdict(list))
teacher = defaultdict(list)
for r in runs:
    key = (r["target"], r["data_portion"])
    teacher[key].append(r["arms"][0]["TeacherTestAccuracy"])
    for a in r["arms"]:
        groups[key][a["Name"]].append(a["TestAccuracy"])

def ms(v):
    v = [x for x in v if isinstance(x, (int, float))]
    if not v: return "-"
    m = 100 * statistics.mean(v)
    return f"{m:.2f}" + (f" ± {100 * statistics.stdev(v):.2f}" if len(v) > 1 else "")

arms = ["none", "eda", "tinybert", "pool", "l2a"]
lines = ["# L2A on data/uci-sentiment (bench/l2a.sh)", "",
         "Student test accuracy (%) on the target domain, mean ± sd over seeds; the teacher is the same for every arm.", "",
         "| target | portion | seeds | target rows | " + " | ".join(arms) + " | teacher |", "|" + "---|" * (len(arms) + 5)]
for key in sorted(groups):
    g = groups[key]
    rows = [r for r in runs if (r["target"], r["data_portion"]) == key]
    lines.append(f"| {key[0]} | {key[1]} | {len(rows)} | {rows[0]['target_rows']} | " + " | ".join(ms(g.get(a, [])) for a in arms) + f" | {ms(teacher[key])} |")
lines += ["", "| run | seed | generated | pool | selected | wall s |", "|---|---|---|---|---|---|"]
for r in runs:
    lines.append(f"| {r['target']} {r['data_portion']} | {r['seed']} | {r['generated']} | {r['pool']} | {r['selected']} | {r['wall_seconds']} |")
notes = pathlib.Path(__file__).with_name("l2a.notes.md")  # the reading of the numbers, kept beside the script
out.with_suffix(".md").write_text("\n".join(lines) + "\n" + ("\n" + notes.read_text() if notes.exists() else ""))
out.with_suffix(".json").write_text(json.dumps(runs, indent=2))
print("\n".join(lines))
