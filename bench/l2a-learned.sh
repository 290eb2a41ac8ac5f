#!/usr/bin/env bash
# L2A with learned vs fixed (parameter-free) generators (issue 20), beside the none / eda / tinybert baselines, on
# data/uci-sentiment: target imdb with PORTIONS of its training rows, amazon + yelp as sources, the settings of
# bench/l2a.sh (L2-H384 students from the bench teacher, 150 KD steps of batch 16 per arm, max length 64, one torch
# thread). Per (seed, portion) two `distil l2a` runs: --generator learned with arms none,eda,tinybert,l2a, and
# --generator fixed with the l2a arm only (its none/eda/tinybert arms would be the same runs again: same rows, seed and
# steps). Writes bench/results/l2a-learned.md (every run: test accuracy per arm, selected / pool, seconds).
#
#   bench/l2a-learned.sh                                   (portions 0.01 0.05 0.2, seed 1)
#   SEEDS="1 2 3" PARALLEL=1 bench/l2a-learned.sh          (PARALLEL=1: every run of a seed at once)
#   EXTRA="more distil l2a flags"
#   GENERATORS=learned LEARNED_ARMS=l2a SEEDS="1 2 3" bench/l2a-learned.sh
#        (the learned arm only: none / eda / tinybert / l2a fixed then come from BASELINE, bench/l2a.sh's runs with the
#        same teacher, data, steps and seeds, which this bench's own arms reproduced to the digit)
# A finished run (result.json present) is skipped and an unfinished one resumed, so re-running completes a cut-short bench.
set -euo pipefail
cd "$(dirname "$0")/.."
TEACHER=${TEACHER:-$(bench/make-teacher.sh)}
SEEDS=${SEEDS:-"1"}
PORTIONS=${PORTIONS:-"0.01 0.05 0.2"}
WORK=${WORK:-runs/l2a-learned}
PARALLEL=${PARALLEL:-0}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
OUT=${OUT:-bench/results/l2a-learned.md}
GENERATORS=${GENERATORS:-learned fixed}
LEARNED_ARMS=${LEARNED_ARMS:-none,eda,tinybert,l2a}
BASELINE=${BASELINE:-bench/results/l2a.json}
D=data/uci-sentiment
run_one() {
  local gen=$1 seed=$2 portion=$3 arms out resume=()
  arms=$([ "$gen" = learned ] && echo "$LEARNED_ARMS" || echo l2a)
  out="$WORK/$gen/imdb-$portion-seed$seed"
  if [ -f "$out/result.json" ]; then echo "done: $out"; return; fi
  [ -f "$out/config.resolved.json" ] && resume=(--resume)
  mkdir -p "$WORK/logs"
  local start; start=$(date +%s)
  "$DISTIL" l2a --generator "$gen" --teacher "$TEACHER" --target imdb --sources amazon,yelp --train $D/train.domain.tsv --dev $D/dev.domain.tsv \
    --test $D/test.domain.tsv --data-portion "$portion" --student L2-H384 --max-seq-len 64 --max-steps 150 \
    --arms "$arms" --eval-every 25 --save-every 150 ${EXTRA:-} --seed "$seed" --threads 1 --out "$out" "${resume[@]}" \
    > "$WORK/logs/$gen-$portion-seed$seed.log" 2>&1
  echo "$(( $(date +%s) - start ))" > "$out/wall_seconds"
}
for seed in $SEEDS; do
  for portion in $PORTIONS; do
    for gen in $GENERATORS; do
      if [ "$PARALLEL" = 1 ]; then run_one $gen "$seed" "$portion" & else run_one $gen "$seed" "$portion"; fi
    done
  done
  wait
done
source bench/lib/machine.sh
python3 - "$WORK" "$OUT" "$BASELINE" "$(machine_header)" "$(git rev-parse --short HEAD)" <<'EOF'
import json, os, sys, glob, statistics, time
work, out, baseline, header, commit = sys.argv[1:6]
# bench/l2a.sh's runs (every arm, fixed generators), keyed like this bench's: the fallback for arms not run here
prior = {(r["data_portion"], r["seed"]): r for r in (json.load(open(baseline)) if os.path.exists(baseline) else [])}
runs = {}
for gen in ("learned", "fixed"):
    for f in sorted(glob.glob(f"{work}/{gen}/*/result.json")):
        r = json.load(open(f))
        d = os.path.dirname(f)
        wall = open(f"{d}/wall_seconds").read().strip() if os.path.exists(f"{d}/wall_seconds") else "-"
        runs[(gen, r["data_portion"], r["seed"])] = (r, wall)
def acc(r, arm):
    a = [x for x in r["arms"] if x["Name"] == arm] if r else []
    return 100 * a[0]["TestAccuracy"] if a else None
borrowed = set()
def acc_or_prior(r, arm, key):
    v = acc(r, arm)
    if v is None and key in prior:
        v = acc(prior[key], arm)
        if v is not None: borrowed.add(arm)
    return v
lines = [header, "", "# L2A: learned vs fixed generators (bench/l2a-learned.sh)", "",
         f"Table written {time.strftime('%Y-%m-%d', time.gmtime())} at commit {commit}; the runs' own commits are in their run folders.", "",
         "Student test accuracy (%) on imdb (199 rows); none / eda / tinybert from the learned run's arms (the same KD runs",
         "for either generator); the teacher is the same for every arm.", "",
         "| portion | seed | target rows | none | eda | tinybert | l2a fixed | l2a learned | teacher | fixed: selected / pool | learned: selected / pool | fixed s | learned s |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
keys = sorted({(p, s) for (_, p, s) in runs})
f2 = lambda v: "-" if v is None else f"{v:.2f}"
per = {}
for p, s in keys:
    L, F = runs.get(("learned", p, s)), runs.get(("fixed", p, s))
    l, f = (L or (None, "-"))[0], (F or (None, "-"))[0]
    base = l or f
    row = {k: acc_or_prior(l, k, (p, s)) for k in ("none", "eda", "tinybert")}
    if not f and (p, s) in prior:
        f = prior[(p, s)]
        borrowed.add("l2a fixed")
    row["fixed"] = acc(f, "l2a")
    row["learned"] = acc(l, "l2a") if l else None
    per.setdefault(p, []).append(row)
    teacher = 100 * base["arms"][0]["TeacherTestAccuracy"]
    lines.append(f"| {p} | {s} | {base['target_rows']} | {f2(row['none'])} | {f2(row['eda'])} | {f2(row['tinybert'])} | {f2(row['fixed'])} | {f2(row['learned'])} | {teacher:.2f} | "
                 + (f"{f['selected']} / {f['pool']}" if f else "-") + " | " + (f"{l['selected']} / {l['pool']}" if l else "-")
                 + f" | {(F or (None, '-'))[1]} | {(L or (None, '-'))[1]} |")
if borrowed:
    lines += ["", f"Columns {', '.join(sorted(borrowed))}: from {baseline} (bench/l2a.sh, the same teacher, data, steps and seeds) where this bench did not run that arm."]
if any(len(v) > 1 for v in per.values()):
    lines += ["", "Mean ± sd over seeds:", "", "| portion | seeds | none | eda | tinybert | l2a fixed | l2a learned |", "|---|---|---|---|---|---|---|"]
    for p, rows in sorted(per.items()):
        def ms(k):
            v = [r[k] for r in rows if r[k] is not None]
            return "-" if not v else (f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}")
        lines.append(f"| {p} | {len(rows)} | {ms('none')} | {ms('eda')} | {ms('tinybert')} | {ms('fixed')} | {ms('learned')} |")
os.makedirs(os.path.dirname(out), exist_ok=True)
prev = open(out).read().split("\n## ", 1) if os.path.exists(out) else [""]
notes = ("\n## " + prev[1]) if len(prev) > 1 else ""
open(out + ".tmp", "w").write("\n".join(lines) + "\n" + notes)
os.replace(out + ".tmp", out)
print("\n".join(lines))
EOF
