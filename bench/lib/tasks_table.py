"""bench/tasks.sh's table: teacher, KD student and baselines per task, mean +- sd over seeds.

Usage: python3 bench/lib/tasks_table.py WORK TASK... (WORK/TASK/{teacher-sN,kd-sN,baseline}/result.json)
"""
import glob
import json
import os
import statistics
import sys

# The task's metrics as (result key, column name, scale to percent or 1).
METRICS = {
    "token": [("f1", "entity F1", 100), ("token_accuracy", "word acc", 100)],
    "qa": [("exact", "EM", 1), ("f1", "F1", 1)],
    "regression": [("pearson", "Pearson", 1), ("spearman", "Spearman", 1)],
    "multilabel": [("micro_f1", "micro-F1", 100), ("macro_f1", "macro-F1", 100)],
}
DATA = {
    "token": "wordnet-supersense (CoNLL, 41 supersense types)",
    "qa": "wordnet-qa (SQuAD v1.1 format)",
    "regression": "wordnet-supersense polysemy view",
    "multilabel": "wordnet-supersense multi-label view",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_metrics_of_finetune(result):
    return next((s["Metrics"] for s in result["Splits"] if s["Split"] == "test"), None)


def mean_sd(values, digits=2):
    values = [v for v in values if v == v]  # NaN (a ratio to a zero) is left out
    if not values:
        return "-"
    if len(values) == 1 or max(values) == min(values):  # one run, or the one teacher read from every student's run
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def seconds(folder):
    """The run's wall seconds as bench/tasks.sh wrote them; else from its first and last file (a run whose script was stopped)."""
    p = folder + ".seconds"
    if os.path.exists(p):
        return int(open(p).read())
    first, last = f"{folder}/config.resolved.json", f"{folder}/result.json"
    if os.path.exists(first) and os.path.exists(last):
        return round(os.path.getmtime(last) - os.path.getmtime(first))
    return None


def task_table(work, task):
    metrics = METRICS[task]
    students = sorted(glob.glob(f"{work}/{task}/kd-s*/result.json"))
    rows, per_seed = {"teacher": {}, "student": {}}, []
    ratios, speedups, params = [], [], {}
    for path in students:
        seed = path.split("/")[-2][4:]
        r = load(path)
        t, s = r["teacher"], r["student"]
        params = {"teacher": (t["Parameters"], t["NonEmbeddingParameters"]), "student": (s["Parameters"], s["NonEmbeddingParameters"])}
        for who, m in (("teacher", t), ("student", s)):
            for key, _, scale in metrics:
                rows[who].setdefault(key, []).append(m["Test"][key] * scale)
        first = metrics[0][0]
        ratios.append(100 * s["Test"][first] / t["Test"][first] if t["Test"][first] else float("nan"))  # NaN: shown as -
        speedups.append(t["LatencyMs"] / s["LatencyMs"])
        per_seed.append(f"seed {seed}: teacher {t['Test'][first] * metrics[0][2]:.2f}, student {s['Test'][first] * metrics[0][2]:.2f}"
                        f" ({f'{ratios[-1]:.1f}% of the teacher' if ratios[-1] == ratios[-1] else 'both zero'}), batch-1 {t['LatencyMs']:.1f} / {s['LatencyMs']:.1f} ms,"
                        f" student run {seconds(f'{work}/{task}/kd-s{seed}')} s")
    out = [f"## {task}: {DATA[task]}", ""]
    teachers = sorted(glob.glob(f"{work}/{task}/teacher-s*/result.json"))
    if not students and not teachers:
        return out + ["(no finished run)", ""]
    if not students:  # a teacher alone: its test metrics from the fine-tuning's result
        test = test_metrics_of_finetune(load(teachers[0]))
        for key, _, scale in metrics:
            rows["teacher"].setdefault(key, []).append(test[key] * scale)
    head = "| model | seeds | " + " | ".join(f"test {name}" for _, name, _ in metrics) + " | % of teacher | params (non-emb) | batch-1 speed-up |"
    out += [head, "|" + "---|" * (head.count("|") - 1)]
    n = len(students)
    for who in ("teacher", "student") if students else ("teacher",):
        p, ne = params.get(who, (None, None))
        cells = [mean_sd(rows[who][k], 3 if scale == 1 and task == "regression" else 2) for k, _, scale in metrics]
        pct = "100" if who == "teacher" else mean_sd(ratios)
        speed = "1x" if who == "teacher" else f"{statistics.median(speedups):.1f}x (median)"
        name = "teacher MiniLM-L6-H384" if who == "teacher" else "student L2-H384, preset kd"
        out.append(f"| {name} | {n if who == 'student' else 1} | " + " | ".join(cells) + f" | {pct} | {f'{p / 1e6:.2f}M ({ne / 1e6:.2f}M)' if p else '-'} | {speed} |")
    tuned_teacher = 0
    tuned = {"teacher": sorted(glob.glob(f"{work}/{task}/teacher-s*/threshold.json")),
             "student": sorted(glob.glob(f"{work}/{task}/kd-s*/threshold.json"))}
    for who, files in tuned.items():
        if files:
            got = [load(f) for f in files]
            cells = [mean_sd([g["test"][k] * scale for g in got]) for k, _, scale in metrics]
            thresholds = ", ".join(f"{g['threshold']:g}" for g in got)
            first_key, _, _ = metrics[0]
            if who == "teacher":
                tuned_teacher = got[0]["test"][first_key]
                pct = "100"
            else:
                pct = mean_sd([100 * g["test"][first_key] / tuned_teacher for g in got]) if tuned.get("teacher") and tuned_teacher else "-"
            out.append(f"| {who}, threshold chosen on dev ({thresholds}) | {len(got)} | " + " | ".join(cells) + f" | {pct} | - | - |")
    for base in sorted(glob.glob(f"{work}/{task}/baseline*/result.json")):
        suffix = f" at threshold {load(base)['Threshold']:g}" if base.split("/")[-2] != "baseline" and "Threshold" in load(base) else (" at the tuned threshold" if base.split("/")[-2] != "baseline" else "")
        first_key, _, first_scale = metrics[0]
        teacher_first = statistics.mean(rows["teacher"][first_key])
        for b in load(base)["Baselines"]:
            test = next(s["Metrics"] for s in b["Splits"] if s["Split"] == "test")
            cells = [f"{test[k] * scale:.{3 if task == 'regression' else 2}f}" if k in test else "-" for k, _, scale in metrics]
            pct = f"{100 * test[first_key] * first_scale / teacher_first:.1f}" if teacher_first else "-"
            setting = f" ({b['Setting']})" if b.get("Setting") else ""
            out.append(f"| baseline: {b['Name']}{setting}{suffix} | - | " + " | ".join(cells) + f" | {pct} | - | - |")
    teacher_runs = ", ".join(f"{os.path.basename(os.path.dirname(t))} {seconds(os.path.dirname(t))} s" for t in teachers)
    out += ["", f"Teacher fine-tuning (wall): {teacher_runs}. Per student seed (first metric):", ""] + [f"- {line}" for line in per_seed] + [""]
    return out


def main():
    work, tasks = sys.argv[1], sys.argv[2:]
    for task in tasks:
        print("\n".join(task_table(work, task)))


if __name__ == "__main__":
    main()
