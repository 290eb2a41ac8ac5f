#!/usr/bin/env bash
# Meta-KD on the WordNet gloss pairs, parts of speech as domains (noun, verb, adj, adv; bench/lib/gloss_domains.py adds
# the column), beside BERT-mix -> TinyBERT-KD through the same code, then the Meta-KD section of
# bench/results/gloss-pairs.md (bench/gloss-pairs.sh writes the rest; TABLE_ONLY=1 rewrites a script's part).
#   bench/gloss-metakd.sh                          # runs meta and mix for seeds 1 2 3 (finished runs are skipped)
#   SEEDS=1 RUNS=mix bench/gloss-metakd.sh         # a part; copies share the work (bench/lib/claim_run.sh)
# meta: the meta-teacher fine-tuned from the pre-trained MiniLM encoder with the gloss teacher's settings (1 epoch, lr
# 3e-5, warm-up 10%, mean pooling) plus prototype weights and the domain-corruption loss, then one L2-H384 student per
# domain (from the encoder's layers), stage 1 and stage 2 one epoch each at lr 1e-4.
# mix: bench/gloss-pairs.sh's teacher (plain fine-tuning on all domains = BERT-mix) distilled by TinyBERT-KD into the
# same students with the same epochs. One torch thread per run. Costs on one core: the meta-teacher about 70 minutes,
# the four students of a run about 50.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS-1 2 3} # SEEDS= (empty): no seed runs
RUNS=${RUNS-meta mix}
WORK=${WORK:-runs/bench-gloss}
ARCHIVE=${ARCHIVE:-bench/results/gloss-runs} # copies of finished runs' result.json, kept by the repository (bench/lib/claim_run.sh)
THREADS=${THREADS:-1}
SAVE_EVERY=${SAVE_EVERY:-250} # steps between checkpoints: an interrupted run goes on from there when rerun
source bench/lib/cli_encoder.sh
TEACHER=$WORK/teacher-s1/best
POS=$WORK/pos
[ -f "$POS/test.tsv" ] || python3 bench/lib/gloss_domains.py "$POS"
COMMON=(--model "$ENCODER" --train $POS/train.tsv --dev $POS/dev.tsv --test $POS/test.tsv --domains noun,verb,adj,adv
  --student L2-H384 --max-seq-len 64 --batch-size 32 --epochs 1 --lr 3e-5 --warmup-ratio 0.1 --pooling mean
  --stage1-epochs 1 --stage2-epochs 1 --stage1-lr 1e-4 --stage2-lr 1e-4 --save-every "$SAVE_EVERY" --threads "$THREADS")
source bench/lib/claim_run.sh

if [ -z "${TABLE_ONLY:-}" ]; then
  for seed in $SEEDS; do
    for r in $RUNS; do
      case $r in
        meta) run "Meta-KD seed $seed" "$WORK/metakd/meta-s$seed" "$DISTIL" metakd "${COMMON[@]}" --teacher-mode meta --distill metakd --seed "$seed" ;;
        mix)
          [ -f "$TEACHER/config.json" ] || { echo "no teacher at $TEACHER: run bench/gloss-pairs.sh first"; exit 2; }
          run "BERT-mix -> TinyBERT-KD seed $seed" "$WORK/metakd/mix-s$seed" "$DISTIL" metakd "${COMMON[@]}" --teacher-mode mix --distill tinybert --teacher "$TEACHER" --seed "$seed" ;;
        *) echo "unknown run $r (meta, mix)"; exit 2 ;;
      esac
    done
  done
fi

# The Meta-KD section of bench/results/gloss-pairs.md, from the runs in WORK and the copies in ARCHIVE.
python3 bench/lib/gloss_table.py "$WORK" --archive "$ARCHIVE" --section metakd --write bench/results/gloss-pairs.md
