#!/usr/bin/env bash
# The fine-tuned teacher every bench uses, made inside the repository (runs/ is git-ignored):
#   runs/bench-teacher/encoder/         all-MiniLM-L6-v2, pre-trained, imported from its NuGet package as `distil demo` does
#                                        (bench/metakd/run.sh fine-tunes its own teachers from it)
#   runs/bench-teacher/finetune/best/   that encoder fine-tuned on data/uci-sentiment with exactly the demo's settings
#                                        (src/Distil.Cli/Commands/DemoCommand.cs): max length 64, mean pooling, 2 epochs,
#                                        batch 32, lr 1e-4, warm-up 10%, dev every 22 steps, seed 42. This is the teacher of
#                                        bench/results/ (test 93.61%, dev 90.97%, 22.71M parameters).
# Prints the teacher folder on stdout (progress goes to stderr), so a bench script can say
#   TEACHER=${TEACHER:-$(bench/make-teacher.sh)}
# Idempotent: a finished teacher is reused at once (nothing is built); an interrupted fine-tuning resumes from its last
# checkpoint. Options (environment): BENCH_TEACHER_DIR (default runs/bench-teacher), THREADS (default: every core, as the
# demo), DISTIL (default: the Release build of src/Distil.Cli, built when missing). 29 minutes on 2 busy cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${BENCH_TEACHER_DIR:-runs/bench-teacher}
RUN=$ROOT/finetune
# report.md is the fine-tuning's last write (after best/ and the test evaluation).
if [ -f "$RUN/report.md" ] && [ -f "$RUN/best/model.safetensors" ] && [ -f "$ROOT/encoder/model.safetensors" ]; then echo "$RUN/best"; exit 0; fi
{
  DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
  [ -x "$DISTIL" ] || dotnet build src/Distil.Cli -c Release -v q -nologo
  echo "== bench teacher: importing all-MiniLM-L6-v2 into $ROOT/encoder"
  dotnet run --project bench/Distil.Bench -c Release -- import-minilm "$ROOT/encoder"
  threads=(); [ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
  if [ ! -f "$RUN/report.md" ]; then
    if [ -f "$RUN/config.resolved.json" ]; then
      echo "== bench teacher: resuming the fine-tuning in $RUN"
      "$DISTIL" finetune --out "$RUN" --resume "${threads[@]}"
    else
      echo "== bench teacher: fine-tuning (the demo's settings) into $RUN"
      D=data/uci-sentiment
      "$DISTIL" finetune --model "$ROOT/encoder" --train $D/train.domain.tsv --dev $D/dev.domain.tsv --test $D/test.domain.tsv \
        --max-seq-len 64 --pooling mean --epochs 2 --batch-size 32 --lr 1e-4 --warmup-ratio 0.1 --eval-every 22 --seed 42 \
        --out "$RUN" "${threads[@]}"
    fi
  fi
} >&2
[ -f "$RUN/best/model.safetensors" ] || { echo "bench/make-teacher.sh: no teacher in $RUN/best" >&2; exit 1; }
echo "$RUN/best"
