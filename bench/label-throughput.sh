#!/usr/bin/env bash
# Labelling throughput of `distil label` (sentences/s) for the three teacher engines, TorchSharp, ONNX Runtime fp32
# and ONNX Runtime int8, at 1 and 2 threads, on the first ROWS sentences of data/wordnet-sentences (a fresh store
# each time, so every row is labelled; batch 32, rows bucketed by length within 512-row shards).
#
#   bench/label-throughput.sh                  -> bench/results/label-throughput.md
#   TEACHER=runs/bench-teacher/finetune/best ROWS=2000 bench/label-throughput.sh
#
# Teacher: $TEACHER when set, else the bench teacher when bench/make-teacher.sh has already made it, else
# all-MiniLM-L6-v2 with a head fine-tuned for a few steps only (5 steps on the sentiment data): throughput
# depends on the architecture and the sentence lengths, not on how well the head was trained.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-600}
WORK=${WORK:-runs/label-throughput}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
mkdir -p "$WORK"
if [ -z "${TEACHER:-}" ]; then
  if [ -f runs/bench-teacher/finetune/best/model.safetensors ]; then TEACHER=runs/bench-teacher/finetune/best
  else
    TEACHER=$WORK/teacher/best
    if [ ! -f "$TEACHER/model.safetensors" ]; then
      dotnet run --project bench/Distil.Bench -c Release -- import-minilm "$WORK/encoder" >&2
      D=data/uci-sentiment
      "$DISTIL" finetune --model "$WORK/encoder" --train $D/train.domain.tsv --dev $D/dev.domain.tsv --max-steps 5 \
        --max-seq-len 64 --pooling mean --epochs 1 --batch-size 32 --lr 1e-4 --seed 42 --out "$WORK/teacher" > "$WORK/teacher.log"
    fi
  fi
fi
[ -f "$WORK/onnx/model.onnx" ] || "$DISTIL" export --model "$TEACHER" --out "$WORK/onnx" --max-seq-len 64 > "$WORK/export.log"
[ -f "$WORK/int8/model.onnx" ] || "$DISTIL" quantize --model "$WORK/onnx" --out "$WORK/int8" --max-seq-len 64 > "$WORK/quantize.log"
head -n "$ROWS" data/wordnet-sentences/sentences.txt > "$WORK/corpus.txt"

source bench/lib/machine.sh
out=bench/results/label-throughput.md
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  machine_header; echo
  echo "# Labelling throughput (\`bench/label-throughput.sh\`)"
  echo
  echo "$ROWS sentences of data/wordnet-sentences/sentences.txt, max length 128, batch 32, teacher $TEACHER"
  echo "($(python3 -c "import json;c=json.load(open('$TEACHER/config.json'));print(f\"{c['num_hidden_layers']} layers, hidden {c['hidden_size']}\")" 2>/dev/null || echo '?')),"
  echo "CPU: $cpu, $(nproc) cores (shared with other work while measured: read the ratios, not the absolute figures);"
  echo "commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)."
  echo
  echo "| engine | threads | sentences/s | seconds |"
  echo "|---|---|---|---|"
} > "$out.tmp"
for engine in torch onnx int8; do
  case $engine in torch) dir=$TEACHER;; onnx) dir=$WORK/onnx;; int8) dir=$WORK/int8;; esac
  for threads in 1 2; do
    store=$WORK/store-$engine-$threads
    rm -rf "$store"
    line=$("$DISTIL" label --teacher "$dir" --data "$WORK/corpus.txt" --out "$store" --batch-size 32 --threads "$threads" | grep "rows labelled")
    rate=$(echo "$line" | sed -n 's/.*(\([0-9.]*\) rows\/s).*/\1/p')
    secs=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s .*/\1/p')
    echo "$engine threads=$threads: $rate sentences/s" >&2
    echo "| $engine | $threads | $rate | $secs |" >> "$out.tmp"
  done
done
mv "$out.tmp" "$out"
cat "$out"
