#!/usr/bin/env bash
# Checks the up-front memory estimate (src/Distil/Training/MemoryEstimate.cs) against the measured peak RSS of real
# short runs: finetune and distill of the MiniLM teacher on the shipped sentiment data at a few batch sizes and lengths.
# Peak RSS = "Maximum resident set size" of GNU time (the whole process: load, training, evaluation, report).
#   bash bench/memory-estimate.sh [TEACHER_DIR]        (default: the bench teacher of bench/make-teacher.sh, a fine-tuned MiniLM, 6 x 384)
# Writes bench/results/memory-estimate.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
teacher=${1:-$(bench/make-teacher.sh)}
[ -f "$teacher/config.json" ] || { echo "$teacher: not a model folder; pass a fine-tuned BERT folder"; exit 3; }
command -v /usr/bin/time >/dev/null || { echo "GNU time not found (apt-get install time)"; exit 3; }
dotnet build src/Distil.Cli -c Release -v q -nologo >/dev/null
cli="dotnet src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli.dll"
mkdir -p runs && work=$(mktemp -d runs/memory-estimate-XXXXXX)
mkdir -p "$work/data"
for s in train dev; do cp "data/uci-sentiment/$s.domain.tsv" "$work/data/$s.tsv"; done
# Long rows (12 sentences each, 170 rows): every batch is padded to the full --max-seq-len, the estimate's assumption.
awk -F'\t' 'NR > 1 { t = t " " $1; if (++n % 12 == 0) { print substr(t, 2) "\t" $2 "\t" $3; t = "" } } BEGIN { print "text\tlabel\tdomain" }' \
  "$work/data/train.tsv" > "$work/data/long.tsv"
rows=()
run() { # NAME TRAIN COMMAND ARGS... : runs distil under GNU time, records (name, estimate MB, peak RSS MB)
  local name=$1 train=$2; shift 2
  local out="$work/$name"
  /usr/bin/time -v -o "$work/$name.time" $cli "$@" --out "$out" --train "$work/data/$train.tsv" --dev "$work/data/dev.tsv" \
    --threads 1 --max-steps 4 --eval-every 4 --save-every 4 > "$work/$name.log" 2>&1 || { echo "$name failed; see $work/$name.log"; exit 1; }
  local est peak
  est=$(grep -ho 'memory estimate about [0-9.]* MB' "$out/report.md" "$work/$name.log" | head -1 | grep -o '[0-9.]*' | head -1)
  peak=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/$name.time")
  local line; line=$(grep -ho 'memory estimate about.*' "$out/report.md" "$work/$name.log" | head -1 | sed 's/ *|$//')
  echo "$name: estimate $est MB, measured peak RSS $peak MB   ($line)"
  rows+=("$name|$*|$est|$peak|$line")
}
ft=(finetune --model "$teacher")
run finetune-b8-s128         train "${ft[@]}" --batch-size 8  --max-seq-len 128
run finetune-b32-s128        train "${ft[@]}" --batch-size 32 --max-seq-len 128
run finetune-long-b8-s256    long  "${ft[@]}" --batch-size 8  --max-seq-len 256
run finetune-long-b32-s128   long  "${ft[@]}" --batch-size 32 --max-seq-len 128
run finetune-long-b32-s256   long  "${ft[@]}" --batch-size 32 --max-seq-len 256
kd=(distill --teacher "$teacher" --student L4-H312)
run distill-kd-b32-s128            train "${kd[@]}" --preset kd       --batch-size 32 --max-seq-len 128
run distill-tinybert-long-b32-s128 long  "${kd[@]}" --preset tinybert --batch-size 32 --max-seq-len 128

dotnet run --project bench/Distil.Bench -c Release -- summarize memory-estimate "${rows[@]}"
echo "runs and logs in $work"
