#!/usr/bin/env python3
"""Aggregates bench/kd-presets.sh runs: WORK/<preset>-seed<k>/{result.json,wall.json} -> OUT.md and OUT.json.

usage: kd-presets.py WORK OUT_PREFIX [SETTINGS]   (standard library only)
"""
import json, os, statistics, subprocess, sys, datetime

ORDER = ["kd", "distilbert", "pkd", "tinybert", "minilm", "tinybert+augment"]


def mean_sd(xs):
    if not xs:
        return None, None
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def main():
    work, out = sys.argv[1], sys.argv[2]
    settings = sys.argv[3] if len(sys.argv) > 3 else ""
    runs = []
    for name in sorted(os.listdir(work)):
        d = os.path.join(work, name)
        if not (os.path.isfile(os.path.join(d, "result.json")) and os.path.isfile(os.path.join(d, "wall.json"))):
            continue
        r = json.load(open(os.path.join(d, "result.json")))
        w = json.load(open(os.path.join(d, "wall.json")))
        runs.append({"run": name, "preset": w["preset"], "seed": w["seed"], "wall_seconds": w["wall_seconds"],
                     "train_seconds": r["train_seconds"], "train_examples": r["train_examples"],
                     "augmented_examples": r["augmented_examples"], "student_shape": r["student_shape"],
                     "teacher": r["teacher"], "student": r["student"]})
    if not runs:
        return
    teacher = runs[0]["teacher"]
    t_ne = teacher["NonEmbeddingParameters"]
    t_test = teacher["Test"]["accuracy"]
    rows = []
    for preset in ORDER + sorted({r["preset"] for r in runs} - set(ORDER)):
        rs = sorted([r for r in runs if r["preset"] == preset], key=lambda r: r["seed"])
        if not rs:
            continue
        s0 = rs[0]["student"]
        test_m, test_sd = mean_sd([r["student"]["Test"]["accuracy"] for r in rs])
        dev_m, dev_sd = mean_sd([r["student"]["Dev"]["accuracy"] for r in rs])
        wall_m, wall_sd = mean_sd([r["wall_seconds"] for r in rs])
        train_m, train_sd = mean_sd([r["train_seconds"] for r in rs])
        lat_m, _ = mean_sd([r["student"]["LatencyMs"] for r in rs])
        rows.append({"preset": preset, "seeds": [r["seed"] for r in rs], "test_accuracy_mean": test_m, "test_accuracy_sd": test_sd,
                     "test_accuracy_per_seed": [r["student"]["Test"]["accuracy"] for r in rs],
                     "dev_accuracy_mean": dev_m, "dev_accuracy_sd": dev_sd, "retention_of_teacher_test": test_m / t_test,
                     "parameters": s0["Parameters"], "non_embedding_parameters": s0["NonEmbeddingParameters"],
                     "non_embedding_share_of_teacher": s0["NonEmbeddingParameters"] / t_ne,
                     "latency_ms_batch1_mean": lat_m, "wall_seconds_mean": wall_m, "wall_seconds_sd": wall_sd,
                     "wall_seconds_per_seed": [round(r["wall_seconds"], 1) for r in rs],
                     "train_seconds_mean": train_m, "train_examples": rs[0]["train_examples"]})
    # The commit the CLI was built from (kd-presets.sh writes it when the run starts); else the checkout's HEAD.
    stamp = os.path.join(work, "cli-commit")
    if os.path.isfile(stamp):
        commit = open(stamp).read().strip()
    else:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        except OSError:
            commit = "?"
    meta = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit,
            "command": f"bench/kd-presets.sh ({settings})", "work": work, "machine": f"{os.cpu_count()} cores, shared with other jobs"}
    json.dump({"meta": meta, "teacher": teacher, "presets": rows, "runs": runs}, open(out + ".json", "w"), indent=2)

    pct = lambda x: f"{100 * x:.2f}"
    md = [f"# Distillation presets on data/uci-sentiment (3 domains, 2 labels)", "",
          f"Command: `bench/kd-presets.sh` with {settings}; commit {commit}; {meta['date_utc']}. "
          f"One torch thread per run, runs one after another on a 2-core machine shared with other jobs (timings are noisy).", "",
          f"Teacher: {teacher['Name']} = `/work/teacher-ft` (fine-tuned MiniLM, 6 layers, H384): test {pct(t_test)}%, dev {pct(teacher['Dev']['accuracy'])}%, "
          f"{teacher['Parameters'] / 1e6:.2f}M parameters, {t_ne / 1e6:.2f}M non-embedding, batch-1 latency {teacher['LatencyMs']:.1f} ms.", "",
          "| preset | seeds | test acc % (mean ± sd) | dev acc % | % of teacher test acc | params | non-emb params (share of teacher) | batch-1 ms | wall s per run (mean ± sd) | train s | train examples |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    md.append(f"| teacher (MiniLM-L6-H384) | - | {pct(t_test)} | {pct(teacher['Dev']['accuracy'])} | 100.00 | {teacher['Parameters'] / 1e6:.2f}M | "
              f"{t_ne / 1e6:.3f}M (100.00%) | {teacher['LatencyMs']:.1f} | - | - | - |")
    for r in rows:
        md.append(f"| {r['preset']} | {len(r['seeds'])} | {pct(r['test_accuracy_mean'])} ± {pct(r['test_accuracy_sd'])} | {pct(r['dev_accuracy_mean'])} ± {pct(r['dev_accuracy_sd'])} | "
                  f"{pct(r['retention_of_teacher_test'])} | {r['parameters'] / 1e6:.2f}M | {r['non_embedding_parameters'] / 1e6:.3f}M ({pct(r['non_embedding_share_of_teacher'])}%) | "
                  f"{r['latency_ms_batch1_mean']:.1f} | {r['wall_seconds_mean']:.0f} ± {r['wall_seconds_sd']:.0f} | {r['train_seconds_mean']:.0f} | {r['train_examples']} |")
    # The bar: a student keeping >= 95% of the teacher's test accuracy with <= 1/3 of its non-embedding parameters,
    # judged on the mean over seeds (only presets with 3 seeds count as a result).
    full = [r for r in rows if len(r["seeds"]) >= 3]
    best = max(full or rows, key=lambda r: r["test_accuracy_mean"])  # a 1-seed mean does not beat a 3-seed one
    ok = [r for r in rows if r["retention_of_teacher_test"] >= 0.95 and r["non_embedding_share_of_teacher"] <= 1 / 3 and len(r["seeds"]) >= 3]
    md += ["", f"**Best preset{' (of those with 3 seeds)' if full else ''}: {best['preset']}**, {pct(best['test_accuracy_mean'])}% ± {pct(best['test_accuracy_sd'])} test accuracy over "
               f"{len(best['seeds'])} seed(s) = {pct(best['retention_of_teacher_test'])}% of the teacher's with {pct(best['non_embedding_share_of_teacher'])}% of its non-embedding parameters. "
               + (f"Target (>= 95% of the teacher, i.e. >= {95 * t_test:.2f}%, at <= 1/3 of its non-embedding parameters, 3-seed mean) **met** by: {', '.join(r['preset'] for r in ok)}."
                  if ok else f"Target (>= 95% of the teacher, i.e. >= {95 * t_test:.2f}%, at <= 1/3 of its non-embedding parameters, 3-seed mean) **not met** by any preset with 3 seeds.")]
    short = [f"{r['preset']} ({len(r['seeds'])})" for r in rows if len(r["seeds"]) < 3]
    if short:
        md += ["", f"**Incomplete**: fewer than 3 seeds for {', '.join(short)} (the 2-core machine was shared with other jobs). "
               "`bench/kd-presets.sh` with the same settings runs only the missing seeds (finished runs are skipped) and rewrites this file."]
    md += ["", "Per seed (test accuracy %, wall seconds):", ""]
    for r in rows:
        md.append(f"- {r['preset']}: " + ", ".join(f"seed {s}: {pct(a)} ({w:.0f} s)" for s, a, w in zip(r["seeds"], r["test_accuracy_per_seed"], r["wall_seconds_per_seed"])))
    md += ["", "Budget: the same EPOCHS per stage for every preset, so tinybert and minilm (two stages) take twice the steps of the "
           "one-stage presets, and tinybert+augment trains on the original rows plus AUGMENT teacher-labelled copies of each "
           "(TinyBERT word replacement, p 0.4, M 15; the teacher has no MLM head, so candidates are its word-embedding neighbours). "
           "`% of teacher test acc` is the student's mean test accuracy over the teacher's.", "",
           "Wall time is the whole `distil distill` command (load, caches, every stage, dev evaluation, test and latency of teacher and student). "
           "The first seed of each data/teacher pair also builds the teacher-logits, hidden-state and augmentation caches; later seeds reuse them.", ""]
    notes = out + ".notes.md"  # hand-written findings kept next to the generated table, appended verbatim
    if os.path.isfile(notes):
        md += [open(notes).read().rstrip(), ""]
    open(out + ".md", "w").write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
