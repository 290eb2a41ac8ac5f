#!/usr/bin/env bash
# L2A comparison (issue 6) on data/uci-sentiment: target TARGET with PORTIONS of its training rows, the other two
# domains as sources, every arm (none, eda, tinybert, pool, l2a), SEEDS seeds, one torch thread. Each run is one real
# `distil l2a` command; its result.json holds per-arm target dev/test accuracy and the teacher's. `summarize l2a`
# aggregates mean ± sd into bench/results/l2a.{md,json} after every run, so a cut-short bench still leaves a table.
#
#   bench/l2a.sh                                   (imdb, portion 0.05, seed 1)
#   SEEDS="1 2 3" PORTIONS="0.01 0.05 0.2" bench/l2a.sh
#   ARMS=none,eda,tinybert,pool,l2a (default), EXTRA="more distil l2a flags"
#   GENERATOR=fixed (default here: bench/results/l2a.md was measured with the parameter-free generators, before learned
#   became the command's default; GENERATOR=learned, or bench/l2a-learned.sh, for the learned ones)
# Dev is evaluated every EVAL_EVERY steps (default 25) and a checkpoint written every SAVE_EVERY (default 150): with a few
# dozen target rows an epoch is 2-3 steps, and evaluating and checkpointing every epoch cost more than the training.
#
# A finished run (result.json present) is skipped, so re-running completes a cut-short bench.
set -euo pipefail
cd "$(dirname "$0")/.."
TEACHER=${TEACHER:-$(bench/make-teacher.sh)}   # default: the bench teacher, made when missing
TARGET=${TARGET:-imdb}
SOURCES=${SOURCES:-amazon,yelp}
SEEDS=${SEEDS:-"1"}
PORTIONS=${PORTIONS:-"0.05"}
STUDENT=${STUDENT:-L2-H384}
MAXLEN=${MAXLEN:-64}
STEPS=${STEPS:-150}
WORK=${WORK:-runs/l2a}
ARMS=${ARMS:-none,eda,tinybert,pool,l2a}
EVAL_EVERY=${EVAL_EVERY:-25}
SAVE_EVERY=${SAVE_EVERY:-150}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
D=data/uci-sentiment
for seed in $SEEDS; do
  for portion in $PORTIONS; do
    out="$WORK/$TARGET-$portion-seed$seed"
    if [ -f "$out/result.json" ]; then echo "done: $out"; continue; fi
    resume=(); [ -f "$out/config.resolved.json" ] && resume=(--resume)
    start=$(date +%s)
    "$DISTIL" l2a --teacher "$TEACHER" --target "$TARGET" --sources "$SOURCES" --train $D/train.domain.tsv --dev $D/dev.domain.tsv \
      --test $D/test.domain.tsv --data-portion "$portion" --student "$STUDENT" --max-seq-len "$MAXLEN" --max-steps "$STEPS" \
      --arms "$ARMS" --generator "${GENERATOR:-fixed}" --eval-every "$EVAL_EVERY" --save-every "$SAVE_EVERY" ${EXTRA:-} \
      --seed "$seed" --threads 1 --out "$out" "${resume[@]}"
    echo "$(( $(date +%s) - start ))" > "$out/wall_seconds"
    dotnet run --project bench/Distil.Bench -c Release -- summarize l2a "$WORK" bench/results/l2a
  done
done
