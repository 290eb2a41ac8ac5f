#!/usr/bin/env bash
# Issue 20's second, larger task: the WordNet gloss pairs (data/wordnet-gloss-pairs, 41,580 training pairs, sentence-pair
# classification) for the seed's methods: a teacher (the pre-trained MiniLM encoder fine-tuned on the pairs, seed
# TEACHER_SEED), 2-layer KD students (presets), the AdaBERT CNN searched and retrained from that teacher, and the
# bag-of-words baselines of `distil baseline`, then bench/results/gloss-pairs.md (mean +- sd over seeds).
#   bench/gloss-pairs.sh                                  # every method, seeds 1 2 3, then the table
#   SEEDS=1 METHODS="kd adabert" bench/gloss-pairs.sh     # a part (runs are seed-major, finished runs are skipped)
#   SEEDS=2 bench/gloss-pairs.sh & SEEDS=3 bench/gloss-pairs.sh &   # copies share the work (bench/lib/claim_run.sh)
#   SKIP_CLAIMED=1 bench/gloss-pairs.sh & SKIP_CLAIMED=1 bench/gloss-pairs.sh &   # two lanes that skip each other's runs
#   TABLE_ONLY=1 bench/gloss-pairs.sh                     # rewrite the table from the runs done so far
# Methods: kd, distilbert, pkd, tinybert, minilm (distil distill --preset NAME, L2-H384 from the teacher's layers) and
# adabert / adabert-mean / adabert-mean-beta0 / adabert-pair / adabert-pair-beta0 (distil search with max / mean token pooling / mean and no
# efficiency loss / mean with the pair head / the pair head and no efficiency loss, and the same search retrained with identity-only cells). One torch thread per run. Costs on one quiet core: the teacher's epoch about 30-40 minutes,
# a KD student's epoch 10-20, an AdaBERT seed about 30.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS-1 2 3} # SEEDS= (empty): no seed runs
TEACHER_SEED=${TEACHER_SEED:-1}
METHODS=${METHODS-kd tinybert minilm adabert}
WORK=${WORK:-runs/bench-gloss}
ARCHIVE=${ARCHIVE:-bench/results/gloss-runs} # copies of finished runs' result.json, kept by the repository (bench/lib/claim_run.sh)
THREADS=${THREADS:-1}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-1}
STUDENT_EPOCHS=${STUDENT_EPOCHS:-1}
# 1e-4 (the sentiment teacher's rate) left the loss at ln 2 for 340-420 steps, with mean pooling and with the pooler.
TEACHER_LR=${TEACHER_LR:-3e-5}
SAVE_EVERY=${SAVE_EVERY:-250} # steps between checkpoints of a KD run: an interrupted run goes on from there when rerun
source bench/lib/cli_encoder.sh
G=data/wordnet-gloss-pairs
DATA=(--train $G/train.tsv --dev $G/dev.tsv --test $G/test.tsv --max-seq-len 64)
source bench/lib/claim_run.sh

if [ -z "${TABLE_ONLY:-}" ]; then
  teacher=$WORK/teacher-s$TEACHER_SEED
  run "baselines" "$WORK/baseline" "$DISTIL" baseline --train $G/train.tsv --dev $G/dev.tsv --test $G/test.tsv
  run "teacher seed $TEACHER_SEED" "$teacher" "$DISTIL" finetune --model "$ENCODER" "${DATA[@]}" \
    --pooling mean --epochs "$TEACHER_EPOCHS" --batch-size 32 --lr "$TEACHER_LR" --warmup-ratio 0.1 --eval-every 325 --seed "$TEACHER_SEED" --threads "$THREADS"
  for seed in $SEEDS; do
    for method in $METHODS; do
      case $method in
        adabert|adabert-mean|adabert-mean-beta0|adabert-pair|adabert-pair-beta0)
          # The demo's AdaBERT setting (K_max 8, hidden 128, alpha lr 1e-2, KD temperature 4 in retraining), one search
          # epoch: 1,300 steps on this data, 20x the demo's. adabert pools tokens by max (bench/results/adabert.md),
          # adabert-mean by mean (the paper's and the demo's pooling); adabert-mean-beta0 drops the efficiency loss
          # (beta 0: can any op earn its place when cost is free?). adabert-pair: mean pooling of each text apart, the
          # classifier on [u, v, |u-v|, u*v] (--cnn-head pair), since one pooled vector cannot compare the two texts.
          # adabert-pair-beta0: the pair head without the efficiency loss (does any op beat identity edges when cost is free?).
          pooling=$([ "$method" = adabert ] && echo max || echo mean)
          flags=(); [[ $method == *-beta0 ]] && flags=(--beta 0)
          [[ $method == adabert-pair* ]] && flags+=(--cnn-head pair)
          run "$method seed $seed" "$WORK/$method-s$seed" "$DISTIL" search --teacher "$teacher/best" "${DATA[@]}" "${flags[@]}" \
            --search-epochs 1 --arch-lr 1e-2 --token-pooling "$pooling" --retrain-epochs 2 --retrain-temperature 4 --seed "$seed" --threads "$THREADS"
          # The ablation: the same search retrained with identity ops on the derived edges (does the search's choice earn its cost?)
          # A derived cell of identity edges only is its own ablation (same genotype, same start, same retraining): not rerun.
          ablation=$WORK/$method-identity-s$seed
          if python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); sys.exit(0 if all(e["op"]=="identity" for n in g["nodes"] for e in n) else 1)' "$WORK/$method-s$seed/genotype.json"; then
            echo "== $method seed $seed: the derived cell is identity-only, its own ablation"
          elif [ ! -f "$ablation/result.json" ]; then
            rm -rf "$ablation" && mkdir -p "$ablation" && cp -r "$WORK/$method-s$seed/search" "$WORK/$method-s$seed/config.resolved.json" "$ablation/"
            echo "== $method identity-only ablation seed $seed"; start=$(date +%s)
            "$DISTIL" search --out "$ablation" --resume --retrain-cells identity --threads "$THREADS" > "$ablation.log" 2>&1 || { echo "ablation failed: see $ablation.log"; exit 1; }
            echo $(( $(date +%s) - start )) > "$ablation.seconds"
          fi
          if [ -f "$ablation/result.json" ]; then archive_run "$ablation"; fi ;;
        *)
          run "$method seed $seed" "$WORK/$method-s$seed" "$DISTIL" distill --teacher "$teacher/best" \
            --student L2-H384 --init teacher --preset "$method" "${DATA[@]}" \
            --epochs "$STUDENT_EPOCHS" --batch-size 32 --lr 2e-4 --seed "$seed" --save-every "$SAVE_EVERY" --threads "$THREADS" ;;
      esac
    done
  done
fi

source bench/lib/machine.sh
header=$(mktemp)
{
  machine_header; echo
  echo "# The WordNet gloss pairs: teacher, KD presets, AdaBERT, Meta-KD and bag-of-words baselines (\`bench/gloss-pairs.sh\`, \`bench/gloss-metakd.sh\`)"
  echo
  echo "$(date -u +%F), commit $(git rev-parse --short HEAD). data/wordnet-gloss-pairs: 41,580 / 5,946 / 11,872 pairs (train / dev /"
  echo "test), labels 50/50. Teacher: all-MiniLM-L6-v2 (6 layers, H384) fine-tuned $TEACHER_EPOCHS epoch(s), batch 32, lr $TEACHER_LR,"
  echo "warm-up 10%, max length 64, mean pooling (as the demo's teacher), seed $TEACHER_SEED. KD students: L2-H384 from the teacher's layers, $STUDENT_EPOCHS epoch(s), batch 32,"
  echo "lr 2e-4. AdaBERT: one search epoch (K_max 8, hidden 128, max or mean token pooling, pooled or pair head, alpha lr 1e-2), 2 retraining epochs at"
  echo "T 4. One torch thread per run; speed-ups are teacher / student batch-1 latency timed in the same process."
} > "$header"
# The Meta-KD section below the table needs the domains' test pairs.
if [ -d "$WORK/metakd" ] || [ -d "$ARCHIVE/metakd" ]; then [ -f "$WORK/pos/test.tsv" ] || python3 bench/lib/gloss_domains.py "$WORK/pos"; fi
# Runs come from WORK, then from their copies in ARCHIVE; the table is kept (exit 3) if that would drop rows it has.
rc=0; python3 bench/lib/gloss_table.py "$WORK" --archive "$ARCHIVE" --header "$header" --write bench/results/gloss-pairs.md || rc=$?
rm -f "$header"; exit $rc
