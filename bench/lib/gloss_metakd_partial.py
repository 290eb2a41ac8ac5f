#!/usr/bin/env python3
"""What an unfinished `distil metakd` run of bench/gloss-metakd.sh has measured so far, for the gloss table.

    python3 bench/lib/gloss_metakd_partial.py RUN_DIR POS_DIR TEACHER_IF_REUSED [DISTIL]
    # e.g. runs/bench-gloss/metakd/meta-s1 runs/bench-gloss/pos runs/bench-gloss/teacher-s1/best

Evaluates (`distil eval`, one thread) the run's teacher (RUN_DIR/teacher/best, or TEACHER_IF_REUSED for a run that
reused one) on each domain's test pairs and every student whose stage finished (students/DOMAIN/done.json) on its own
domain's, then writes RUN_DIR/results-partial.json in result.json's shape (Domains: the finished domains only). A run
with result.json needs none of this; gloss_table.py reads results-partial.json only where result.json is missing.
"""
import json
import os
import subprocess
import sys

if len(sys.argv) < 4:
    sys.exit(__doc__)
run, pos, reused = sys.argv[1:4]
distil = sys.argv[4] if len(sys.argv) > 4 else "src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli"
out = os.path.join(run, "partial")
os.makedirs(out, exist_ok=True)
with open(os.path.join(pos, "test.tsv"), encoding="utf-8") as f:
    header = f.readline()
    rows = f.readlines()
col = header.rstrip("\n").split("\t").index("domain")
by_domain = {}
for r in rows:
    by_domain.setdefault(r.rstrip("\n").split("\t")[col], []).append(r)
for d, rs in by_domain.items():
    with open(os.path.join(out, f"test-{d}.tsv"), "w", encoding="utf-8") as f:
        f.write(header + "".join(rs))


def accuracy(model, domain, name):
    path = os.path.join(out, f"{name}-{domain}.json")
    if not os.path.exists(path):
        subprocess.run([distil, "eval", "--model", model, "--data", os.path.join(out, f"test-{domain}.tsv"), "--max-seq-len", "64",
                        "--threads", "1", "--metrics-json", path], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(path))["accuracy"]


teacher = os.path.join(run, "teacher", "best")
teacher = teacher if os.path.exists(os.path.join(teacher, "config.json")) else reused
finished = [d for d in by_domain if os.path.exists(os.path.join(run, "students", d, "done.json"))]
result = {
    "Domains": finished,
    "Teacher": {"Name": teacher, "Accuracy": {d: accuracy(teacher, d, "teacher") for d in finished}},
    "Student": {"Name": "students", "Accuracy": {d: accuracy(os.path.join(run, "students", d, "best"), d, "student") for d in finished}},
    "Partial": True,
}
json.dump(result, open(os.path.join(run, "results-partial.json"), "w"), indent=2)
print(json.dumps(result, indent=2))
