#!/usr/bin/env bash
# AdaBERT on the shipped sentiment data: search + derive + retrain for 3 seeds, then bench/results/adabert.{md,json}.
# Usage: bench/adabert/run.sh [TEACHER_DIR]   (default /work/teacher-ft; any fine-tuned folder, e.g. runs/demo/finetune/best)
# Runs in parallel (one torch thread each); each run resumes if interrupted.
set -euo pipefail
cd "$(dirname "$0")/../.."
TEACHER=${1:-/work/teacher-ft}
OUT=${OUT:-runs/adabert}
DISTIL=${DISTIL:-"dotnet run --project src/Distil.Cli -c Release --no-build --"}
dotnet build src/Distil.Cli -c Release -v q -nologo
for seed in 42 1 2; do
  resume=""; [ -f "$OUT/seed$seed/config.resolved.json" ] && resume="--resume"
  $DISTIL search --config bench/adabert/uci-sentiment.json --teacher "$TEACHER" --seed $seed --out "$OUT/seed$seed" $resume > "$OUT-seed$seed.log" 2>&1 &
done
wait
python3 bench/adabert/summarize.py "$OUT"/seed42 "$OUT"/seed1 "$OUT"/seed2
