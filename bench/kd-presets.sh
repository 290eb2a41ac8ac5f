#!/usr/bin/env bash
# Per-preset comparison of `distil distill` on data/uci-sentiment (issue 3): every preset (kd, distilbert, pkd,
# tinybert, minilm) and tinybert + augmentation, same student shape, same budget, SEEDS seeds, one torch thread.
# Each run is a real `distil distill` command; its run folder's result.json gives sizes, dev/test accuracy and
# latency; the wall time of the whole command is measured here. `Distil.Bench summarize kd-presets` aggregates mean ± sd into
# bench/results/kd-presets.{md,json} after every run, so a cut-short bench still leaves a table of what finished.
#
#   bench/kd-presets.sh                         (all presets, seeds 1 2 3; about 45 min per seed without tinybert+augment on 2 quiet cores)
#   SEEDS="1" PRESETS="kd tinybert" bench/kd-presets.sh
#   DISTIL=/path/to/Distil.Cli bench/kd-presets.sh    (a copy of the CLI, so rebuilding the repo cannot disturb a run)
#
# Runs are seed-major (all presets for seed 1, then seed 2, ...) and a finished run (result.json present) is
# skipped, so re-running the script completes a cut-short bench. The label store (teacher logits) and the hidden-state
# cache live next to a private copy of the data in WORK, so the first seed's wall time includes building them.
set -euo pipefail
cd "$(dirname "$0")/.."
TEACHER=${TEACHER:-$(bench/make-teacher.sh)}   # default: the bench teacher, made when missing
# L2-H384 (FFN 1536) is 33.34% of the MiniLM teacher's non-embedding parameters, just above 1/3; FFN 1472 gives 32.41%
# and still starts from the teacher (embeddings, layers 1 and 4, the 1472 strongest FFN neurons of each).
STUDENT=${STUDENT:-L2-H384-A12-I1472}
INIT=${INIT:-teacher}                      # or random (bench/results/kd-presets-random-init.md: L3-H312-A12-I1200, LR 5e-4)
SEEDS=${SEEDS:-"1 2 3"}
PRESETS=${PRESETS:-"kd distilbert pkd tinybert minilm tinybert+augment"}
EPOCHS=${EPOCHS:-2}                        # per stage (tinybert and minilm have two stages); 1 epoch left the students undertrained
BATCH=${BATCH:-32}
LR=${LR:-2e-4}                             # chosen with a 1-seed tinybert pilot (bench/results/kd-presets.md)
MAXLEN=${MAXLEN:-64}
AUGMENT=${AUGMENT:-2}                      # TinyBERT uses N = 20; two copies keep the run short on 2 cores
WORK=${WORK:-runs/kd-presets}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}

[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
[ -f "$TEACHER/config.json" ] || { echo "no teacher at $TEACHER (set TEACHER to a fine-tuned model folder)"; exit 2; }
mkdir -p "$WORK/data"
# The commit the CLI comes from (the summary prints it); a copied CLI (DISTIL=...) is taken to be from this checkout.
[ -f "$WORK/cli-commit" ] || git rev-parse --short HEAD > "$WORK/cli-commit"
cp -n data/uci-sentiment/{train,dev,test}.domain.tsv "$WORK/data/"

for seed in $SEEDS; do
  for preset in $PRESETS; do
    name="${preset/+/-}-seed$seed"
    out="$WORK/$name"
    if [ -f "$out/result.json" ]; then echo "== $name: done already"; continue; fi
    rm -rf "$out"
    args=(--preset "${preset%%+*}")
    [ "$preset" = "tinybert+augment" ] && args+=(--augment "$AUGMENT")
    echo "== $name ($(date -u +%H:%M:%S))"
    start=$(date +%s.%N)
    "$DISTIL" distill --teacher "$TEACHER" --student "$STUDENT" --init "$INIT" "${args[@]}" \
      --train "$WORK/data/train.domain.tsv" --dev "$WORK/data/dev.domain.tsv" --test "$WORK/data/test.domain.tsv" \
      --out "$out" --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" --max-seq-len "$MAXLEN" --seed "$seed" --threads 1 \
      > "$WORK/$name.log" 2>&1 || { echo "   failed: see $WORK/$name.log"; continue; }
    end=$(date +%s.%N)
    echo "{\"preset\": \"$preset\", \"seed\": $seed, \"wall_seconds\": $(echo "$end - $start" | bc)}" > "$out/wall.json"
    dotnet run --project bench/Distil.Bench -c Release -- summarize kd-presets "$WORK" bench/results/kd-presets \
      "INIT=$INIT EPOCHS=$EPOCHS BATCH=$BATCH LR=$LR MAXLEN=$MAXLEN AUGMENT=$AUGMENT STUDENT=$STUDENT" --teacher-dir "$TEACHER"
  done
done
