#!/usr/bin/env bash
# AdaBERT on the shipped sentiment data: search + derive + retrain for 3 seeds, then bench/results/adabert.{md,json}.
# Usage: bench/adabert/run.sh [TEACHER_DIR]   (default: the bench teacher of bench/make-teacher.sh, made when missing; any
#   fine-tuned folder, e.g. runs/demo/finetune/best)
#   SEEDS="42 1 2" (default), CONFIG=bench/adabert/uci-sentiment.json (default), OUT=runs/adabert (results: bench/results/<basename of OUT>, or RESULTS=prefix), DISTIL=path/to/Distil.Cli (default: a copy of the Release build in $OUT/cli,
#   made once, so rebuilding the repository cannot disturb a running bench), EXTRA="more distil search flags" (e.g.
#   EXTRA="--search-epochs 15 --arch-lr 1e-2 --augment 10 --retrain-epochs 3").
# Seeds run one after another with one torch thread (the search's wall time is the issue's target; parallel runs on a
# 2-core machine inflate it several-fold). A finished seed (result.json) is skipped, an interrupted one resumes.
set -euo pipefail
cd "$(dirname "$0")/../.."
TEACHER=${1:-$(bench/make-teacher.sh)}
OUT=${OUT:-runs/adabert}
SEEDS=${SEEDS:-"42 1 2"}
mkdir -p "$OUT"
source bench/lib/cli_copy.sh
DISTIL=${DISTIL:-$(cli_copy "$OUT")}
for seed in $SEEDS; do
  run="$OUT/seed$seed"
  if [ -f "$run/result.json" ]; then echo "== seed $seed: done already"; continue; fi
  resume=""; [ -f "$run/config.resolved.json" ] && resume="--resume"
  echo "== seed $seed ($(date -u +%H:%M:%S))"
  # CPU seconds beside wall seconds: on a shared machine the single-threaded run's CPU time is its quiet wall time.
  /usr/bin/time -f "%e wall s, %U user s, %S sys s" -o "$OUT/seed$seed.time" "$DISTIL" search --config "${CONFIG:-bench/adabert/uci-sentiment.json}" --teacher "$TEACHER" --seed "$seed" --threads 1 ${EXTRA:-} --out "$run" $resume > "$OUT/seed$seed.log" 2>&1 \
    || { echo "   failed: see $OUT/seed$seed.log"; continue; }
done
runs=(); for seed in $SEEDS; do [ -f "$OUT/seed$seed/result.json" ] && runs+=("$OUT/seed$seed"); done
# The table is named after OUT (runs/adabert -> bench/results/adabert, runs/adabert-max -> bench/results/adabert-max), so a
# variant's bench never overwrites the main one.
RESULTS=${RESULTS:-bench/results/$(basename "$OUT")} dotnet run --project bench/Distil.Bench -c Release -- summarize adabert "${runs[@]}"
