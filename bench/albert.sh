#!/usr/bin/env bash
# ALBERT students (issue 7) on data/uci-sentiment: real `distil distill` runs with the fine-tuned MiniLM teacher,
# an ALBERT student (albert-L6-H384-E128: 6 layers sharing ONE layer's weights, embeddings 128 wide) against the BERT
# student of the same non-embedding size (L1-H384: one unshared layer), same preset, init, budget and seed.
# Each run's result.json gives parameters (total, non-embedding), dev/test accuracy and latency; `summarize albert`
# writes bench/results/albert.{md,json} after every run, so a cut-short bench still leaves a table.
#
#   bench/albert.sh
#   RUNS="albert-L6-H384-E128:kd L1-H384:kd" EPOCHS=1 bench/albert.sh
#   DISTIL=/path/to/Distil.Cli bench/albert.sh    (a copy of the CLI, so rebuilding the repo cannot disturb a run)
set -euo pipefail
cd "$(dirname "$0")/.."
TEACHER=${TEACHER:-$(bench/make-teacher.sh)}   # default: the bench teacher, made when missing
RUNS=${RUNS:-"albert-L6-H384-E128:kd L1-H384:kd albert-L6-H384-E128:tinybert"}   # student:preset
INIT=${INIT:-teacher}
EPOCHS=${EPOCHS:-2}                        # per stage (tinybert has two)
BATCH=${BATCH:-32}
LR=${LR:-2e-4}
MAXLEN=${MAXLEN:-64}
SEED=${SEED:-1}
WORK=${WORK:-runs/albert}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}

[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
[ -f "$TEACHER/config.json" ] || { echo "no teacher at $TEACHER (set TEACHER to a fine-tuned model folder)"; exit 2; }
mkdir -p "$WORK/data"
[ -f "$WORK/cli-commit" ] || git rev-parse --short HEAD > "$WORK/cli-commit"
cp -n data/uci-sentiment/{train,dev,test}.domain.tsv "$WORK/data/"

for spec in $RUNS; do
  student=${spec%%:*}; preset=${spec##*:}
  out="$WORK/$student-$preset-$INIT-e$EPOCHS-seed$SEED"
  [ -f "$out/result.json" ] && { echo "skip $out (done)"; continue; }
  cmd=("$DISTIL" distill --teacher "$TEACHER" --student "$student" --preset "$preset" --init "$INIT"
       --train "$WORK/data/train.domain.tsv" --dev "$WORK/data/dev.domain.tsv" --test "$WORK/data/test.domain.tsv"
       --out "$out" --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" --max-seq-len "$MAXLEN" --seed "$SEED" --threads 1)
  echo "${cmd[*]}"
  start=$(date +%s)
  [ -d "$out" ] && cmd+=(--resume)           # a cut-short run continues from its last checkpoint
  "${cmd[@]}" 2>&1 | grep -v "^step " | tail -20
  echo "$(( $(date +%s) - start ))" > "$out/wall_seconds"
  echo "${cmd[*]}" > "$out/command"
  dotnet run --project bench/Distil.Bench -c Release -- summarize albert "$WORK" --teacher-dir "$TEACHER"
done
