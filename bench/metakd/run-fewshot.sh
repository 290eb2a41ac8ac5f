#!/usr/bin/env bash
# Few-shot students with the same step budget as the full-data students: the 10% teachers of run.sh's p10-* runs are
# reused, and the students get 7 and 15 epochs (3 steps each per domain), i.e. as many optimizer steps (66 per domain) as
# stage 1: 1 / stage 2: 2 epochs on the full data. With run.sh's epochs a 10% student takes ~6 steps and stays at chance.
# Usage: bench/metakd/run-fewshot.sh OUT_DIR SEED   (after run.sh OUT_DIR SEED p10-meta-metakd p10-mix-tinybert [p10-single-tinybert])
set -euo pipefail
OUT=${1:?OUT_DIR}; SEED=${2:?SEED}
DISTIL=${DISTIL:-"dotnet run --project src/Distil.Cli -c Release --no-build --"}
ENCODER=${ENCODER:-/work/demo-run/teacher-minilm}
DATA=data/uci-sentiment
COMMON=(--teacher "$ENCODER" --train $DATA/train.domain.tsv --dev $DATA/dev.domain.tsv --test $DATA/test.domain.tsv
  --domains amazon,imdb,yelp --student L2-H384 --max-seq-len 64 --lr 1e-4 --batch-size 32 --epochs 2 --data-portion 0.1
  --stage1-epochs 7 --stage2-epochs 15 --stage1-lr 1e-4 --stage2-lr 1e-4 --threads 1 --seed "$SEED")
run() { # name, extra args...
  local dir="$OUT/s$SEED/$1"; shift
  local resume=(); [ -f "$dir/config.resolved.json" ] && resume=(--resume)
  [ -f "$dir/results.json" ] && { echo "== $dir: done"; return; }
  echo "== $dir ($(date -u +%H:%M:%S))"
  $DISTIL metakd "${COMMON[@]}" "$@" --out "$dir" "${resume[@]}" > "$dir.log" 2>&1 || { echo "FAILED: see $dir.log"; tail -5 "$dir.log"; return 1; }
  tail -8 "$dir.log"
}
run p10s-meta-metakd  --teacher-mode meta --distill metakd --finetuned-teacher "$OUT/s$SEED/p10-meta-metakd/teacher/best"
run p10s-meta-tinybert --teacher-mode meta --distill tinybert --finetuned-teacher "$OUT/s$SEED/p10-meta-metakd/teacher/best"
run p10s-mix-tinybert --teacher-mode mix --distill tinybert --finetuned-teacher "$OUT/s$SEED/p10-mix-tinybert/teacher/best"
