#!/usr/bin/env bash
# Meta-KD and its baselines on data/uci-sentiment (3 domains) with the pre-trained MiniLM encoder.
# Usage: bench/metakd/run.sh OUT_DIR SEED [RUN ...]   (default: every run below, in order; several scripts may run in parallel
# on different RUN names). Rerunning resumes every finished stage. Then: python3 bench/metakd/table.py OUT_DIR
# Short CPU settings (2 shared cores): max length 64, teacher 2 epochs lr 1e-4 batch 32 (the settings of /work/teacher-ft,
# which is reused as BERT-mix on the full data), student L2-H384 initialised from the pre-trained encoder's layers 0 and 3
# (the same start for every method), stage 1 one epoch, stage 2 two epochs (lr 1e-4), 1 thread per process.
set -euo pipefail
OUT=${1:?OUT_DIR}; SEED=${2:?SEED}; shift 2
RUNS=("$@"); [ ${#RUNS[@]} -eq 0 ] && RUNS=(meta-metakd meta-tinybert mix-tinybert single-tinybert p10-meta-metakd p10-mix-tinybert zs-imdb-meta-metakd zs-imdb-mix-tinybert)
MIX_TEACHER=${MIX_TEACHER:-/work/teacher-ft}
DISTIL=${DISTIL:-"dotnet run --project src/Distil.Cli -c Release --no-build --"}
ENCODER=${ENCODER:-/work/demo-run/teacher-minilm}
DATA=data/uci-sentiment
COMMON=(--teacher "$ENCODER" --train $DATA/train.domain.tsv --dev $DATA/dev.domain.tsv --test $DATA/test.domain.tsv
  --domains amazon,imdb,yelp --student L2-H384 --max-seq-len 64 --lr 1e-4 --batch-size 32
  --stage1-epochs 1 --stage2-epochs 2 --stage1-lr 1e-4 --stage2-lr 1e-4 --threads 1 --seed "$SEED")

run() { # name, extra args...
  local name=$1 dir="$OUT/s$SEED/$1"; shift
  local resume=(); [ -f "$dir/config.resolved.json" ] && resume=(--resume)
  [ -f "$dir/results.json" ] && { echo "== $dir: done"; return; }
  echo "== $dir ($(date -u +%H:%M:%S))"
  # Zero-shot teachers train 1 epoch (meta and mix alike) to fit the shared 2-core machine; all others 2.
  local epochs=2; case $name in zs-*) epochs=${ZS_TEACHER_EPOCHS:-1} ;; esac
  $DISTIL metakd "${COMMON[@]}" --epochs $epochs "$@" --out "$dir" "${resume[@]}" > "$dir.log" 2>&1 || { mkdir -p "$dir"; echo "FAILED: see $dir.log"; tail -5 "$dir.log"; return 1; }
  tail -8 "$dir.log"
}
mkdir -p "$OUT/s$SEED"
for r in "${RUNS[@]}"; do
  case $r in
    meta-metakd)      run $r --teacher-mode meta --distill metakd ;;
    meta-tinybert)    run $r --teacher-mode meta --distill tinybert --finetuned-teacher "$OUT/s$SEED/meta-metakd/teacher/best" ;;
    mix-tinybert)     run $r --teacher-mode mix --distill tinybert --finetuned-teacher "$MIX_TEACHER" ;;
    single-tinybert)  run $r --teacher-mode single --distill tinybert ;;
    p10-meta-metakd)  run $r --teacher-mode meta --distill metakd --data-portion 0.1 ;;
    p10-mix-tinybert) run $r --teacher-mode mix --distill tinybert --data-portion 0.1 ;;
    p10-single-tinybert) run $r --teacher-mode single --distill tinybert --data-portion 0.1 ;;
    zs-imdb-meta-metakd)  run $r --teacher-mode meta --distill metakd --holdout-domain imdb ;;
    zs-imdb-mix-tinybert) run $r --teacher-mode mix --distill tinybert --holdout-domain imdb ;;
    *) echo "unknown run $r"; exit 2 ;;
  esac
done
