#!/usr/bin/env bash
# Non-neural baselines (issues 19 and 20) on every shipped task, with the metrics `distil eval` gives models
# (docs/baselines.md): majority / mean / label frequency, tf-idf linear models (C on dev), the most-frequent-tag
# tagger and the word-overlap span baseline. Writes bench/results/baselines.md (and each run's result.json and
# report.md under $WORK). Deterministic: a rerun gives the same figures. A few CPU minutes in all.
#   bench/baselines.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs/bench-baselines}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
rm -rf "$WORK"; mkdir -p "$WORK"
U=data/uci-sentiment S=data/wordnet-supersense Q=data/wordnet-qa G=data/wordnet-gloss-pairs
declare -A SECONDS_OF
run() { # NAME ARGS...: one `distil baseline` into $WORK/NAME
  local name=$1; shift
  local start; start=$(date +%s)
  "$DISTIL" baseline "$@" --out "$WORK/$name" > "$WORK/$name.log"
  SECONDS_OF[$name]=$(( $(date +%s) - start ))
  echo "$name: ${SECONDS_OF[$name]} s" >&2
}
run uci-sentiment --train $U/train.domain.tsv --dev $U/dev.domain.tsv --test $U/test.domain.tsv
run supersense-token --task token --train $S/train.conll --dev $S/dev.conll --test $S/test.conll
run supersense-polysemy --task regression --train $S/train.polysemy.tsv --dev $S/dev.polysemy.tsv --test $S/test.polysemy.tsv \
  --text-column word --text-pair-column sentence --domain-column pos
run supersense-multilabel --task multi-label --train $S/train.multilabel.jsonl --dev $S/dev.multilabel.jsonl --test $S/test.multilabel.jsonl \
  --text-column word --text-pair-column sentence --label-column labels --domain-column pos
run wordnet-qa --train $Q/train.json --dev $Q/dev.json --test $Q/test.json
run wordnet-gloss-pairs --train $G/train.tsv --dev $G/dev.tsv --test $G/test.tsv

source bench/lib/machine.sh
{
  machine_header; echo
  echo "# Baselines on every shipped task (\`bench/baselines.sh\`)"
  echo
  echo "$(date -u +%F), commit $(git rev-parse --short HEAD). \`distil baseline\` (docs/baselines.md): the same files, readers and"
  echo "metrics as \`distil finetune\` / \`eval\`; linear models fitted by L-BFGS (200 iterations), C chosen on dev from"
  echo "0.01 ... 1000 (ridge: alpha = 1/C). Deterministic: a rerun gives the same figures. Seconds are wall-clock on a shared machine."
  echo
  echo "| data | task | baseline | setting | headline | dev | test |"
  echo "|---|---|---|---|---|---|---|"
  for name in uci-sentiment supersense-token supersense-polysemy supersense-multilabel wordnet-qa wordnet-gloss-pairs; do
    python3 - "$WORK/$name/result.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def fmt(k, v):
    if r["Task"] == "qa": return f"{v:.2f}"
    if k in ("mcc", "mse") or k.startswith("pearson") or k.startswith("spearman"): return f"{v:.4f}"
    return f"{100 * v:.2f}"
for b in r["Baselines"]:
    m = {s["Split"]: s["Metrics"] for s in b["Splits"]}
    h = r["Headline"]
    print(f"| {sys.argv[2]} | {r['Task']} | {b['Name']} | {b['Setting'] or ''} | {h} | {fmt(h, m['dev'][h])} | {fmt(h, m['test'][h])} |")
PY
  done
  echo
  for name in uci-sentiment supersense-token supersense-polysemy supersense-multilabel wordnet-qa wordnet-gloss-pairs; do
    echo "## $name (${SECONDS_OF[$name]} s)"
    echo
    sed '1{/^# /d}' "$WORK/$name/report.md"
    echo
  done
} > bench/results/baselines.md
cat bench/results/baselines.md
