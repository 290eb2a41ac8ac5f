#!/usr/bin/env bash
# Output fidelity (issue 17): every model folder a run wrote, fed the test split through `distil predict` and through
# tests/reference/folder.py (torch code following transformers' AutoTokenizer + AutoModelForSequenceClassification:
# the built-in BertForSequenceClassification / AlbertForSequenceClassification, or the folder's own custom code when
# config.json has auto_map). Prints: folder | family | max |logit diff| | argmax agreement. A folder transformers
# would read differently (e.g. classifier_pooling "mean" without auto_map) is REFUSED and the script exits 1; a folder
# whose config.json says it needs Distil (the AdaBERT CNN) is listed as such.
#
#   bench/fidelity.sh runs/demo                 # every */best folder under a run (teacher, KD student, Meta-KD students, AdaBERT)
#   bench/fidelity.sh runs/demo/finetune/best   # one folder
#   TEST=data/uci-sentiment/test.tsv MAXLEN=64 DISTIL=... bench/fidelity.sh DIR...
set -euo pipefail
cd "$(dirname "$0")/.."
TEST=${TEST:-data/uci-sentiment/test.tsv}
MAXLEN=${MAXLEN:-64}            # distil demo's max length
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ $# -gt 0 ] || { echo "usage: bench/fidelity.sh RUN_OR_MODEL_DIR..."; exit 2; }
[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
PY=""
for p in /usr/bin/python3 python3; do
  if "$p" -c "import torch, numpy" 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "no python3 with torch and numpy: run bench/install-debian-deps.sh"; exit 2; }

folders=()
for arg in "$@"; do
  if [ -f "$arg/config.json" ] && [ -f "$arg/model.safetensors" ]; then folders+=("$arg"); continue; fi
  while IFS= read -r d; do
    [ -f "$d/model.safetensors" ] && folders+=("$d")
  done < <(find "$arg" -type d -name best -exec test -f '{}/config.json' ';' -print | sort)
done
[ ${#folders[@]} -gt 0 ] || { echo "no model folders (config.json + model.safetensors) under $*"; exit 2; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
tail -n +2 "$TEST" | cut -f1 | grep -v '^$' > "$work/input.txt"
n=$(wc -l < "$work/input.txt")
echo "test split: $TEST ($n texts), max length $MAXLEN"
echo
echo "| folder | family | max \|logit diff\| | argmax agreement |"
echo "|---|---|---|---|"
status=0
for f in "${folders[@]}"; do
  set +e
  "$PY" tests/reference/folder.py "$f" "$work/input.txt" --max-length "$MAXLEN" > "$work/ref.json" 2> "$work/ref.err"
  rc=$?
  set -e
  if [ $rc -eq 3 ]; then echo "| $f | needs Distil (config.json says so) | - | - |"; continue; fi
  if [ $rc -ne 0 ]; then
    echo "| $f | $(grep -m1 . "$work/ref.err" | cut -c1-240) | - | - |"; status=1; continue
  fi
  "$DISTIL" predict --model "$f" --input "$work/input.txt" --max-seq-len "$MAXLEN" --json > "$work/ours.jsonl"
  "$PY" - "$f" "$work/ref.json" "$work/ours.jsonl" <<'PYEOF' || status=1
import json, sys
folder, ref, ours = sys.argv[1], json.load(open(sys.argv[2])), [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
r, o = ref["logits"], [x["logits"] for x in ours]
assert len(r) == len(o), f"{len(r)} reference rows, {len(o)} from distil predict"
diff = max(abs(a - b) for x, y in zip(r, o) for a, b in zip(x, y))
agree = sum(max(range(len(x)), key=x.__getitem__) == max(range(len(y)), key=y.__getitem__) for x, y in zip(r, o))
print(f"| {folder} | {ref['architecture']} | {diff:.2e} | {agree}/{len(r)} |")
sys.exit(0 if diff <= 1e-4 and agree == len(r) else 1)
PYEOF
done
exit $status
