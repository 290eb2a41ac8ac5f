"""bench/gloss-pairs.sh's table: teacher, KD presets and AdaBERT (mean +- sd over seeds) and the baselines, then
bench/gloss-metakd.sh's Meta-KD section (WORK/metakd/{meta,mix}-sN/result.json, WORK/pos/test.tsv).

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
         "adabert-pair": "AdaBERT CNN (searched, mean pooling, pair head: [u, v, \\|u-v\\|, u*v])",
         "adabert-pair-identity": "AdaBERT pair head, the same search with identity-only cells (ablation)",
         "adabert-pair-beta0": "AdaBERT CNN (searched, mean pooling, pair head, beta 0: no efficiency loss)",
         "adabert-pair-beta0-identity": "AdaBERT pair head beta 0, the same search with identity-only cells (ablation)",
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
        if "genotype_text" in r and not method.endswith("-identity") and not os.path.exists(f"{work}/{method}-identity-s{seed}/result.json") \
                and all(e["op"] == "identity" for n in r["genotype"]["nodes"] for e in n):
            extra += " (identity edges only: its own identity-only ablation, not retrained again)"
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

# Meta-KD (bench/gloss-metakd.sh): parts of speech as domains, one student per domain. Domain accuracies come from
# result.json; "all pairs" weights them by the domain's test rows, so it compares with the overall rows above.
metakd = {}
for run in sorted(glob.glob(f"{work}/metakd/*-s*/")):
    m = re.fullmatch(r"(.+)-s(\d+)", os.path.basename(run.rstrip("/")))
    # A run that did not finish: what bench/lib/gloss_metakd_partial.py measured of it (its finished domains only).
    path = next((f"{run}{f}" for f in ("result.json", "results-partial.json") if os.path.exists(f"{run}{f}")), None)
    if m and path:
        metakd.setdefault(m.group(1), []).append((int(m.group(2)), load(path)))
if metakd:
    counts = {}
    with open(f"{work}/pos/test.tsv", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("domain")
        for line in f:
            d = line.rstrip("\n").split("\t")[col]
            counts[d] = counts.get(d, 0) + 1
    domains = [d for d in ("noun", "verb", "adj", "adv") if d in counts]

    def overall(acc):
        return sum(acc[d] * counts[d] for d in domains) / sum(counts[d] for d in domains)

    def row(name, rows):  # rows: the MetaKdRow of each seed; a partial run lacks domains, so its averages are "-"
        cells = [mean_sd([100 * r["Accuracy"][d] for r in rows if d in r["Accuracy"]]) if any(d in r["Accuracy"] for r in rows) else "-" for d in domains]
        if not all(d in r["Accuracy"] for r in rows for d in domains):
            return f"| {name} (unfinished run: its finished domains) | {len(rows)} | " + " | ".join(cells) + " | - | - | - |"
        avg = mean_sd([100 * statistics.mean(r["Accuracy"][d] for d in domains) for r in rows])
        all_ = [100 * overall(r["Accuracy"]) for r in rows]
        return f"| {name} | {len(rows)} | " + " | ".join(cells) + f" | {avg} | {mean_sd(all_)} | {mean_sd([a / teacher_acc * 100 for a in all_], 1)} |"

    titles = {"mix": ("the bench teacher (plain fine-tuning on every domain: BERT-mix)", "BERT-mix -> TinyBERT-KD, L2-H384 per domain"),
              "meta": ("meta-teacher (prototype weights + domain-corruption loss)", "meta-teacher -> Meta-KD, L2-H384 per domain")}
    print()
    print("## Meta-KD: parts of speech as domains (`bench/gloss-metakd.sh`)")
    print()
    print(f"Domains from WordNet (bench/lib/gloss_domains.py), test pairs: {', '.join(f'{d} {counts[d]:,}' for d in domains)}. Both teachers")
    print("1 epoch, lr 3e-5, mean pooling; one L2-H384 student per domain from the pre-trained encoder's layers, stage 1 and")
    print("stage 2 one epoch each at lr 1e-4 (TinyBERT-KD: hidden / attention / embedding MSE, then soft CE; Meta-KD: the same")
    print("weighted by the teacher's expertise λ plus the domain-knowledge term). Accuracy in %; \"all pairs\" weights the")
    print(f"domains by their test pairs; % of teacher is of the bench teacher's {teacher_acc:.2f} (all pairs).")
    print()
    print("| model | seeds | " + " | ".join(domains) + " | domain mean | all pairs | % of teacher |")
    print("|---|---|" + "---|" * len(domains) + "---|---|---|")
    details = []
    for kind in ("mix", "meta"):
        got = sorted(metakd.get(kind, []), key=lambda x: x[0])
        if not got:
            continue
        teacher_title, student_title = titles[kind]
        # mix reads the one bench teacher in every seed's run; meta trains a meta-teacher per seed, so each one counts.
        teachers = got if kind == "meta" else got[:1]
        print(row(teacher_title, [r["Teacher"] for _, r in teachers]))
        print(row(student_title, [r["Student"] for _, r in got]))
        for seed, r in got:
            if r.get("Partial"):
                details.append(f"- {kind} seed {seed}: stopped unfinished; students of {', '.join(r['Domains'])} finished (bench/lib/gloss_metakd_partial.py)")
            else:
                details.append(f"- {kind} seed {seed}: teacher {r['Teacher']['Seconds']:.0f} s, students {r['Student']['Seconds']:.0f} s, run {r['TotalSeconds']:.0f} s")
    print()
    print("\n".join(details))
