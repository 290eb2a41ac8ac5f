"""bench/gloss-pairs.sh's table: teacher, KD presets and AdaBERT (mean +- sd over seeds) and the baselines.

Usage: python3 bench/lib/gloss_table.py WORK   (WORK/{teacher-sN,METHOD-sN,baseline}/result.json)
"""
import glob
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tasks_table import load, mean_sd, seconds  # noqa: E402

work = sys.argv[1]
teachers = sorted(glob.glob(f"{work}/teacher-s*/result.json"))
runs = {}
for path in sorted(glob.glob(f"{work}/*-s*/result.json")):
    m = re.fullmatch(r"(.+)-s(\d+)", os.path.basename(os.path.dirname(path)))
    if m and m.group(1) != "teacher":
        runs.setdefault(m.group(1), []).append((int(m.group(2)), load(path)))

if not teachers and not runs:
    print("(no finished run)")
    sys.exit(0)
teacher_acc = None
if runs:
    first = next(iter(runs.values()))[0][1]["teacher"]
    teacher_acc, teacher_dev, tp = 100 * first["Test"]["accuracy"], 100 * first["Dev"]["accuracy"], (first["Parameters"], first["NonEmbeddingParameters"])
elif teachers:
    splits = {s["Split"]: s["Metrics"] for s in load(teachers[0])["Splits"]}
    teacher_acc, teacher_dev, tp = 100 * splits["test"]["accuracy"], 100 * splits["dev"]["accuracy"], None

print("| model | seeds | test accuracy | dev accuracy | % of teacher (test) | params (non-embedding) | batch-1 speed-up (median) |")
print("|---|---|---|---|---|---|---|")
print(f"| teacher MiniLM-L6-H384 | 1 | {teacher_acc:.2f} | {teacher_dev:.2f} | 100 | {f'{tp[0] / 1e6:.2f}M ({tp[1] / 1e6:.2f}M)' if tp else '-'} | 1x |")
names = {"adabert": "AdaBERT CNN (searched, max pooling)", "adabert-identity": "AdaBERT max pooling, the same search with identity-only cells (ablation)",
         "adabert-mean": "AdaBERT CNN (searched, mean pooling)", "adabert-mean-identity": "AdaBERT mean pooling, the same search with identity-only cells (ablation)",
         "adabert-mean-beta0": "AdaBERT CNN (searched, mean pooling, beta 0: no efficiency loss)",
         "adabert-mean-beta0-identity": "AdaBERT mean pooling beta 0, the same search with identity-only cells (ablation)"}
details = []
for method, got in sorted(runs.items(), key=lambda kv: (kv[0].startswith("adabert"), kv[0])):
    test = [100 * r["student"]["Test"]["accuracy"] for _, r in got]
    dev = [100 * r["student"]["Dev"]["accuracy"] for _, r in got]
    share = [100 * r["student"]["Test"]["accuracy"] / r["teacher"]["Test"]["accuracy"] for _, r in got]
    speed = statistics.median(r["teacher"]["LatencyMs"] / r["student"]["LatencyMs"] for _, r in got)
    s = got[0][1]["student"]
    name = names.get(method, f"student L2-H384, preset {method}")
    print(f"| {name} | {len(got)} | {mean_sd(test)} | {mean_sd(dev)} | {mean_sd(share, 1)} | {s['Parameters'] / 1e6:.2f}M ({s['NonEmbeddingParameters'] / 1e6:.2f}M) | {speed:.1f}x |")
    for seed, r in got:
        extra = f", genotype: {r['genotype_text']}, search {r['search_seconds']:.0f} s + retrain {r['retrain_seconds']:.0f} s" if "genotype_text" in r else ""
        details.append(f"- {method} seed {seed}: test {100 * r['student']['Test']['accuracy']:.2f}, batch-1 {r['teacher']['LatencyMs']:.1f} / "
                       f"{r['student']['LatencyMs']:.2f} ms, run {seconds(f'{work}/{method}-s{seed}')} s{extra}")
base = f"{work}/baseline/result.json"
if os.path.exists(base):
    for b in load(base)["Baselines"]:
        sp = {s["Split"]: s["Metrics"] for s in b["Splits"]}
        setting = f" ({b['Setting']})" if b.get("Setting") else ""
        print(f"| baseline: {b['Name']}{setting} | - | {100 * sp['test']['accuracy']:.2f} | {100 * sp['dev']['accuracy']:.2f} | "
              f"{100 * 100 * sp['test']['accuracy'] / teacher_acc:.1f} | - | - |")
print()
print(f"Teacher fine-tuning (wall): {', '.join(f'{os.path.basename(os.path.dirname(t))} {seconds(os.path.dirname(t))} s' for t in teachers) or '-'}.")
if details:
    print("Per run:\n")
    print("\n".join(details))
