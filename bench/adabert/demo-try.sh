#!/usr/bin/env bash
# One try of a setting for the AdaBERT step of `distil demo` (bench/results/adabert-demo.md):
#   bench/adabert/demo-try.sh NAME [extra `distil search` flags...]
# Searches and retrains an AdaBERT student from the demo's fine-tuned teacher on data/uci-sentiment, in
# runs/adabert-demo/NAME (TEACHER=runs/demo/finetune/best by default; CLI=a built Distil.Cli binary), and prints one
# JSON line: wall s, CPU s (user + system), test accuracy, genotype, search and retrain seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1; shift
TEACHER=${TEACHER:-runs/demo/finetune/best}
CLI=${CLI:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
out=runs/adabert-demo/$name
mkdir -p runs/adabert-demo
/usr/bin/time -f "%e %U %S" -o "$out.time" "$CLI" search --teacher "$TEACHER" \
  --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --test data/uci-sentiment/test.domain.tsv \
  --max-seq-len 64 --out "$out" "$@" > "$out.log" 2>&1
read -r wall user sys < "$out.time"
python3 bench/adabert/demo-try-summary.py "$out" "$name" "$wall" "$user" "$sys" "$*"
