#!/usr/bin/env bash
# Is L2A's selection the same across processes and torch thread counts? A quick teacher (all-MiniLM-L6-v2
# fine-tuned 40 steps, max length 48) and the demo's L2A settings (imdb 5%, amazon + yelp sources, selector 30 steps,
# 100 training steps, max length 64); runs the selection with --threads 1, 2 and 1 again and compares selected.tsv,
# candidates.tsv and the spread of pi(keep) around the 0.5 threshold, for each generator in GENERATORS (default
# "fixed learned": the parameter-free refills and the trained masked-LM head). Writes under runs/l2a-determinism (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
R=runs/l2a-determinism
D=src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli
[ -x "$D" ] || dotnet build src/Distil.Cli -c Release -v q -nologo
mkdir -p "$R"
[ -f "$R/encoder/model.safetensors" ] || dotnet run --project bench/Distil.Bench -c Release -- import-minilm "$R/encoder"
[ -f "$R/ft/best/model.safetensors" ] || "$D" finetune --model "$R/encoder" --train data/uci-sentiment/train.domain.tsv \
  --dev data/uci-sentiment/dev.domain.tsv --max-seq-len 48 --max-steps 40 --eval-every 40 --out "$R/ft"
GENERATORS=${GENERATORS:-fixed learned}
runs=(); for g in $GENERATORS; do for t in t1 t2 t1b; do runs+=("$g-$t"); done; done
for run in "${runs[@]}"; do
  threads=${run#*-t}; threads=${threads:0:1}
  [ -f "$R/$run/selected.tsv" ] || "$D" l2a --generator "${run%%-*}" --teacher "$R/ft/best" --target imdb --sources amazon,yelp \
    --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --domain-column domain \
    --data-portion 0.05 --arms none --student L2-H384 --init teacher --selector-steps 30 --max-steps 100 --max-seq-len 64 \
    --threads "$threads" --out "$R/$run"
done
echo "| run | selected.tsv md5 | candidates.tsv md5 | kept | min / median / max pi(keep) |"
echo "|---|---|---|---|---|"
for run in "${runs[@]}"; do
  kept=$(( $(wc -l < "$R/$run/selected.tsv") - 2 )) # two header lines
  spread=$(awk -F'\t' 'NR>1{print $7}' "$R/$run/candidates.tsv" | sort -n | awk '{a[NR]=$1}END{print a[1]" / "a[int((NR+1)/2)]" / "a[NR]}')
  echo "| $run | $(md5sum < "$R/$run/selected.tsv" | cut -c1-12) | $(md5sum < "$R/$run/candidates.tsv" | cut -c1-12) | $kept | $spread |"
done
