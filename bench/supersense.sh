#!/usr/bin/env bash
# Supersense tagging (issue 19): the pre-trained MiniLM encoder with a token head, fine-tuned on data/wordnet-supersense
# (docs/tasks.md). Writes bench/results/supersense.md: dev entity F1 after each epoch and the test split's scores.
#   bench/supersense.sh [EPOCHS (default 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-2}
WORK=${WORK:-runs/bench-supersense}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
[ -f "$WORK/minilm/config.json" ] || dotnet run --project bench/Distil.Bench -c Release -- import-minilm "$WORK/minilm" >&2
D=data/wordnet-supersense
rm -rf "$WORK/sst"
start=$(date +%s)
"$DISTIL" finetune --model "$WORK/minilm" --task token --train $D/train.conll --dev $D/dev.conll --test $D/test.conll \
  --epochs "$EPOCHS" --batch-size 32 --lr 2e-4 --warmup-ratio 0.1 --max-seq-len 64 --out "$WORK/sst" | tee "$WORK/finetune.log"
seconds=$(( $(date +%s) - start ))
source bench/lib/machine.sh
{
  machine_header; echo
  echo "# Supersense tagging: MiniLM fine-tuned with a token head (\`bench/supersense.sh $EPOCHS\`)"
  echo
  echo "$(date -u +%F), commit $(git rev-parse --short HEAD); batch 32, lr 2e-4, warm-up 10%, max length 64; $seconds s in all."
  echo
  echo "Dev evaluations (entity F1 / precision / recall, exact span and type as seqeval; word accuracy):"
  echo; echo '```'; grep -E "^eval @" "$WORK/finetune.log"; echo '```'
  echo; echo "Final table (best/ by dev entity F1; percentages):"
  echo; echo '```'; sed -n '/split/,/└/p' "$WORK/finetune.log"; echo '```'
} > bench/results/supersense.md
cat bench/results/supersense.md
