"""bench/gloss-pairs.sh's table: teacher, KD presets and AdaBERT (mean +- sd over seeds) and the baselines, then
bench/gloss-metakd.sh's Meta-KD section (metakd/{meta,mix}-sN/result.json, WORK/pos/test.tsv).

Usage: python3 bench/lib/gloss_table.py WORK [--archive DIR] [--section all|metakd] [--write FILE]
  Runs are read from WORK/{teacher-sN,METHOD-sN,baseline,metakd/KIND-sN}/result.json (and OUT.seconds beside each),
  then from the same layout under DIR for runs WORK lacks: the copies bench/lib/claim_run.sh keeps in
  bench/results/gloss-runs, so the table can be rewritten after runs/ is gone (a fresh checkout has none).
  --write FILE replaces FILE's part: --section metakd its "## Meta-KD" section to the end; --section all the whole
  file, unless the runs found give fewer rows above that section than FILE has (runs finished before their copies were
  kept can't be read back): then FILE is kept, the new table printed, and the exit status is 3.
"""
import argparse
import glob
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tasks_table import load, mean_sd, seconds  # noqa: E402

METAKD_HEADING = "## Meta-KD: parts of speech as domains (`bench/gloss-metakd.sh`)"


def finished(roots, pattern):
    """{run folder relative to its root: (result.json path, seconds)}: the first root that has a run wins."""
    found = {}
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, pattern, "result.json"))):
            folder = os.path.dirname(path)
            found.setdefault(os.path.relpath(folder, root), (path, seconds(folder)))
    return found


def seeded(found):
    """{method: [(seed, result, seconds)]} from folders named METHOD-sSEED."""
    runs = {}
    for rel, (path, secs) in sorted(found.items()):
        m = re.fullmatch(r"(.+)-s(\d+)", os.path.basename(rel))
        if m:
            runs.setdefault(m.group(1), []).append((int(m.group(2)), load(path), secs))
    for got in runs.values():
        got.sort(key=lambda x: x[0])
    return runs


def teacher_of(roots):
    """(test %, dev %, (params, non-embedding params) or None) of the bench teacher, from a KD run or the teacher's own run."""
    runs = {m: got for m, got in seeded(finished(roots, "*-s*")).items() if m != "teacher"}
    if runs:
        first = next(iter(runs.values()))[0][1]["teacher"]
        return 100 * first["Test"]["accuracy"], 100 * first["Dev"]["accuracy"], (first["Parameters"], first["NonEmbeddingParameters"])
    teachers = finished(roots, "teacher-s*")
    if teachers:
        splits = {s["Split"]: s["Metrics"] for s in load(next(iter(teachers.values()))[0])["Splits"]}
        return 100 * splits["test"]["accuracy"], 100 * splits["dev"]["accuracy"], None
    return None


NAMES = {"adabert": "AdaBERT CNN (searched, max pooling)", "adabert-identity": "AdaBERT max pooling, the same search with identity-only cells (ablation)",
         "adabert-mean": "AdaBERT CNN (searched, mean pooling)", "adabert-mean-identity": "AdaBERT mean pooling, the same search with identity-only cells (ablation)",
         "adabert-pair": "AdaBERT CNN (searched, mean pooling, pair head: [u, v, \\|u-v\\|, u*v])",
         "adabert-pair-identity": "AdaBERT pair head, the same search with identity-only cells (ablation)",
         "adabert-pair-beta0": "AdaBERT CNN (searched, mean pooling, pair head, beta 0: no efficiency loss)",
         "adabert-pair-beta0-identity": "AdaBERT pair head beta 0, the same search with identity-only cells (ablation)",
         "adabert-mean-beta0": "AdaBERT CNN (searched, mean pooling, beta 0: no efficiency loss)",
         "adabert-mean-beta0-identity": "AdaBERT mean pooling beta 0, the same search with identity-only cells (ablation)"}


def main_table(roots):
    out = []
    teacher = teacher_of(roots)
    runs = {m: got for m, got in seeded(finished(roots, "*-s*")).items() if m != "teacher"}
    if teacher is None:
        return ["(no finished run)"]
    teacher_acc, teacher_dev, tp = teacher
    out.append("| model | seeds | test accuracy | dev accuracy | % of teacher (test) | params (non-embedding) | batch-1 speed-up (median) |")
    out.append("|---|---|---|---|---|---|---|")
    out.append(f"| teacher MiniLM-L6-H384 | 1 | {teacher_acc:.2f} | {teacher_dev:.2f} | 100 | {f'{tp[0] / 1e6:.2f}M ({tp[1] / 1e6:.2f}M)' if tp else '-'} | 1x |")
    details = []
    for method, got in sorted(runs.items(), key=lambda kv: (kv[0].startswith("adabert"), kv[0])):
        test = [100 * r["student"]["Test"]["accuracy"] for _, r, _ in got]
        dev = [100 * r["student"]["Dev"]["accuracy"] for _, r, _ in got]
        share = [100 * r["student"]["Test"]["accuracy"] / r["teacher"]["Test"]["accuracy"] for _, r, _ in got]
        speed = statistics.median(r["teacher"]["LatencyMs"] / r["student"]["LatencyMs"] for _, r, _ in got)
        s = got[0][1]["student"]
        name = NAMES.get(method, f"student L2-H384, preset {method}")
        out.append(f"| {name} | {len(got)} | {mean_sd(test)} | {mean_sd(dev)} | {mean_sd(share, 1)} | {s['Parameters'] / 1e6:.2f}M ({s['NonEmbeddingParameters'] / 1e6:.2f}M) | {speed:.1f}x |")
        ablated = {seed for seed, _, _ in runs.get(f"{method}-identity", [])}
        for seed, r, secs in got:
            extra = f", genotype: {r['genotype_text']}, search {r['search_seconds']:.0f} s + retrain {r['retrain_seconds']:.0f} s" if "genotype_text" in r else ""
            if "genotype_text" in r and not method.endswith("-identity") and seed not in ablated \
                    and all(e["op"] == "identity" for n in r["genotype"]["nodes"] for e in n):
                extra += " (identity edges only: its own identity-only ablation, not retrained again)"
            details.append(f"- {method} seed {seed}: test {100 * r['student']['Test']['accuracy']:.2f}, batch-1 {r['teacher']['LatencyMs']:.1f} / "
                           f"{r['student']['LatencyMs']:.2f} ms, run {secs} s{extra}")
    base = finished(roots, "baseline").get("baseline")
    if base:
        for b in load(base[0])["Baselines"]:
            sp = {s["Split"]: s["Metrics"] for s in b["Splits"]}
            setting = f" ({b['Setting']})" if b.get("Setting") else ""
            out.append(f"| baseline: {b['Name']}{setting} | - | {100 * sp['test']['accuracy']:.2f} | {100 * sp['dev']['accuracy']:.2f} | "
                       f"{100 * 100 * sp['test']['accuracy'] / teacher_acc:.1f} | - | - |")
    out.append("")
    teachers = finished(roots, "teacher-s*")
    out.append(f"Teacher fine-tuning (wall): {', '.join(f'{rel} {secs} s' for rel, (_, secs) in sorted(teachers.items())) or '-'}.")
    if details:
        out.append("Per run:\n")
        out.extend(details)
    return out


def metakd_section(roots, counts):
    """Meta-KD (bench/gloss-metakd.sh): parts of speech as domains, one student per domain. Domain accuracies come from
    result.json; "all pairs" weights them by the domain's test rows (counts), so it compares with the overall rows above."""
    metakd = {}
    for root in roots:
        for run in sorted(glob.glob(f"{root}/metakd/*-s*/")):
            m = re.fullmatch(r"(.+)-s(\d+)", os.path.basename(run.rstrip("/")))
            # A run that did not finish: what bench/lib/gloss_metakd_partial.py measured of it (its finished domains only).
            path = next((f"{run}{f}" for f in ("result.json", "results-partial.json") if os.path.exists(f"{run}{f}")), None)
            if m and path and int(m.group(2)) not in {s for s, _ in metakd.get(m.group(1), [])}:
                metakd.setdefault(m.group(1), []).append((int(m.group(2)), load(path)))
    if not metakd:
        return []
    if not counts:
        sys.exit("no pos/test.tsv in WORK for the Meta-KD domains' test pairs: run python3 bench/lib/gloss_domains.py WORK/pos")
    teacher = teacher_of(roots)
    domains = [d for d in ("noun", "verb", "adj", "adv") if d in counts]

    def overall(acc):
        return sum(acc[d] * counts[d] for d in domains) / sum(counts[d] for d in domains)

    if teacher is None:  # the bench teacher's own run is gone: its per-domain row in a mix run gives the same figure
        mix = metakd.get("mix")
        teacher = (100 * overall(mix[0][1]["Teacher"]["Accuracy"]),) if mix else (float("nan"),)
    teacher_acc = teacher[0]

    def row(name, rows):  # rows: the MetaKdRow of each seed; a partial run lacks domains, so its averages are "-"
        cells = [mean_sd([100 * r["Accuracy"][d] for r in rows if d in r["Accuracy"]]) if any(d in r["Accuracy"] for r in rows) else "-" for d in domains]
        if not all(d in r["Accuracy"] for r in rows for d in domains):
            return f"| {name} (unfinished run: its finished domains) | {len(rows)} | " + " | ".join(cells) + " | - | - | - |"
        avg = mean_sd([100 * statistics.mean(r["Accuracy"][d] for d in domains) for r in rows])
        all_ = [100 * overall(r["Accuracy"]) for r in rows]
        return f"| {name} | {len(rows)} | " + " | ".join(cells) + f" | {avg} | {mean_sd(all_)} | {mean_sd([a / teacher_acc * 100 for a in all_], 1)} |"

    titles = {"mix": ("the bench teacher (plain fine-tuning on every domain: BERT-mix)", "BERT-mix -> TinyBERT-KD, L2-H384 per domain"),
              "meta": ("meta-teacher (prototype weights + domain-corruption loss)", "meta-teacher -> Meta-KD, L2-H384 per domain")}
    out = [METAKD_HEADING, "",
           f"Domains from WordNet (bench/lib/gloss_domains.py), test pairs: {', '.join(f'{d} {counts[d]:,}' for d in domains)}. Both teachers",
           "1 epoch, lr 3e-5, mean pooling; one L2-H384 student per domain from the pre-trained encoder's layers, stage 1 and",
           "stage 2 one epoch each at lr 1e-4 (TinyBERT-KD: hidden / attention / embedding MSE, then soft CE; Meta-KD: the same",
           "weighted by the teacher's expertise λ plus the domain-knowledge term). Accuracy in %; \"all pairs\" weights the",
           f"domains by their test pairs; % of teacher is of the bench teacher's {teacher_acc:.2f} (all pairs).", "",
           "| model | seeds | " + " | ".join(domains) + " | domain mean | all pairs | % of teacher |",
           "|---|---|" + "---|" * len(domains) + "---|---|---|"]
    details = []
    for kind in ("mix", "meta"):
        got = sorted(metakd.get(kind, []), key=lambda x: x[0])
        if not got:
            continue
        teacher_title, student_title = titles[kind]
        # mix reads the one bench teacher in every seed's run; meta trains a meta-teacher per seed, so each one counts.
        teachers = got if kind == "meta" else got[:1]
        out.append(row(teacher_title, [r["Teacher"] for _, r in teachers]))
        out.append(row(student_title, [r["Student"] for _, r in got]))
        for seed, r in got:
            if r.get("Partial"):
                details.append(f"- {kind} seed {seed}: stopped unfinished; students of {', '.join(r['Domains'])} finished (bench/lib/gloss_metakd_partial.py)")
            else:
                source = f" ({r['Source']})" if r.get("Source") else ""
                details.append(f"- {kind} seed {seed}: teacher {r['Teacher']['Seconds']:.0f} s, students {r['Student']['Seconds']:.0f} s, run {r['TotalSeconds']:.0f} s{source}")
    out.append("")
    out.extend(details)
    return out


def test_counts(work):
    counts = {}
    path = f"{work}/pos/test.tsv"
    if not os.path.exists(path):
        return counts
    with open(path, encoding="utf-8") as f:
        col = f.readline().rstrip("\n").split("\t").index("domain")
        for line in f:
            d = line.rstrip("\n").split("\t")[col]
            counts[d] = counts.get(d, 0) + 1
    return counts


def table_rows(lines):
    return sum(1 for line in lines if line.startswith("| ") and not line.startswith("| model"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--archive")
    ap.add_argument("--section", choices=["all", "metakd"], default="all")
    ap.add_argument("--write")
    ap.add_argument("--header", help="a file whose text goes above the table (--section all)")
    a = ap.parse_args()
    roots = [a.work] + ([a.archive] if a.archive else [])
    metakd = metakd_section(roots, test_counts(a.work))
    old = open(a.write, encoding="utf-8").read().split("\n") if a.write and os.path.exists(a.write) else []
    cut = old.index(METAKD_HEADING) if METAKD_HEADING in old else len(old)
    if a.section == "metakd":
        if not metakd:
            sys.exit("no finished Meta-KD run")
        above = old[:cut]
        new = above + ([""] if above and above[-1] else []) + metakd
    else:
        header = open(a.header, encoding="utf-8").read().rstrip("\n").split("\n") + [""] if a.header else []
        body = header + main_table(roots)
        new = body + ([""] + metakd if metakd else [])
        if a.write and table_rows(body) < table_rows(old[:cut]):
            print("\n".join(new))
            print(f"\nkept {a.write}: the runs found give {table_rows(body)} rows above the Meta-KD section, it has {table_rows(old[:cut])} "
                  "(runs finished before bench/results/gloss-runs kept their copies can't be read back)", file=sys.stderr)
            sys.exit(3)
    text = "\n".join(new).rstrip("\n") + "\n"
    if a.write:
        tmp = a.write + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, a.write)
    print(text, end="")


if __name__ == "__main__":
    main()
