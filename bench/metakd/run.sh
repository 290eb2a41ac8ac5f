#!/usr/bin/env bash
# Meta-KD and its baselines on data/uci-sentiment (3 domains) with the pre-trained MiniLM encoder.
# Usage: bench/metakd/run.sh OUT_DIR SEED [RUN ...]   (default: every run below, in order; several scripts may run in parallel
# on different RUN names). Rerunning resumes every finished stage. Then:
#   dotnet run --project bench/Distil.Bench -c Release -- summarize metakd OUT_DIR
# Run it from the repository root (the data paths are relative).
# Short CPU settings (2 shared cores): max length 64, teacher 2 epochs lr 1e-4 batch 32 (the settings of the bench teacher),
# student L2-H384 initialised from the pre-trained encoder's layers 0 and 3
# (the same start for every method), stage 1 one epoch, stage 2 two epochs (lr 1e-4), 1 thread per process; p10-* and
# zs-* runs: see the epochs in run() below.
set -euo pipefail
OUT=${1:?OUT_DIR}; SEED=${2:?SEED}; shift 2
RUNS=("$@"); [ ${#RUNS[@]} -eq 0 ] && RUNS=(meta-metakd meta-kd meta-tinybert mix-tinybert single-tinybert p10-meta-metakd p10-mix-tinybert p10-single-tinybert zs-imdb-meta-metakd zs-imdb-mix-tinybert)
# BERT-mix is trained by the run itself (same settings as the meta-teacher, plain CE); MIX_TEACHER=DIR reuses a fine-tuned folder.
MIX_TEACHER=${MIX_TEACHER:-}
DISTIL=${DISTIL:-"dotnet run --project src/Distil.Cli -c Release --no-build --"}
# The pre-trained MiniLM encoder every teacher starts from: bench/make-teacher.sh imports it (as the demo does) when missing.
if [ -z "${ENCODER:-}" ]; then "$(dirname "$0")/../make-teacher.sh" > /dev/null; ENCODER=${BENCH_TEACHER_DIR:-runs/bench-teacher}/encoder; fi
DATA=data/uci-sentiment
COMMON=(--model "$ENCODER" --train $DATA/train.domain.tsv --dev $DATA/dev.domain.tsv --test $DATA/test.domain.tsv
  --domains amazon,imdb,yelp --student L2-H384 --max-seq-len 64 --lr 1e-4 --batch-size 32
  --stage1-lr 1e-4 --stage2-lr 1e-4 --threads 1 --seed "$SEED")

run() { # name, extra args...
  local name=$1 dir="$OUT/s$SEED/$1"; shift
  local resume=(); [ -f "$dir/config.resolved.json" ] && resume=(--resume)
  [ -f "$dir/result.json" ] && { echo "== $dir: done"; return; }
  echo "== $dir ($(date -u +%H:%M:%S))"
  # Few-shot (10%): a domain has ~70 rows, 3 steps an epoch, so teachers train 10 epochs and students 7 + 15 (as many
  # student steps as the full data's 1 + 2 epochs); with the full-data epochs a 10% student stays at chance.
  local epochs=(--epochs 2 --stage1-epochs 1 --stage2-epochs 2); case $name in
    p10-*) epochs=(--epochs 10 --stage1-epochs 7 --stage2-epochs 15) ;;
    zs-*) epochs=(--epochs ${ZS_TEACHER_EPOCHS:-2} --stage1-epochs 1 --stage2-epochs 2) ;;
  esac
  $DISTIL metakd "${COMMON[@]}" "${epochs[@]}" "$@" --out "$dir" "${resume[@]}" > "$dir.log" 2>&1 || { mkdir -p "$dir"; echo "FAILED: see $dir.log"; tail -5 "$dir.log"; return 1; }
  tail -8 "$dir.log"
}
mkdir -p "$OUT/s$SEED"
for r in "${RUNS[@]}"; do
  case $r in
    meta-metakd)      run $r --teacher-mode meta --distill metakd ;;
    meta-kd)          run $r --teacher-mode meta --distill kd --teacher "$OUT/s$SEED/meta-metakd/teacher/best" ;;
    meta-tinybert)    run $r --teacher-mode meta --distill tinybert --teacher "$OUT/s$SEED/meta-metakd/teacher/best" ;;
    mix-tinybert)     run $r --teacher-mode mix --distill tinybert ${MIX_TEACHER:+--teacher "$MIX_TEACHER"} ;;
    single-tinybert)  run $r --teacher-mode single --distill tinybert ;;
    p10-meta-metakd)  run $r --teacher-mode meta --distill metakd --data-portion 0.1 ;;
    p10-mix-tinybert) run $r --teacher-mode mix --distill tinybert --data-portion 0.1 ;;
    p10-single-tinybert) run $r --teacher-mode single --distill tinybert --data-portion 0.1 ;;
    zs-imdb-meta-metakd)  run $r --teacher-mode meta --distill metakd --holdout-domain imdb ;;
    zs-imdb-mix-tinybert) run $r --teacher-mode mix --distill tinybert --holdout-domain imdb ;;
    *) echo "unknown run $r"; exit 2 ;;
  esac
done
