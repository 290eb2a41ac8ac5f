#!/usr/bin/env bash
# A short AdaBERT search, before vs after the training conv dispatch (docs/adabert.md §Convolutions on the CPU):
# BASE_CLI (a Distil.Cli built from the commit before, e.g. `git worktree add ../distil-base 0284db9` and
# `dotnet build ../distil-base/src/Distil.Cli -c Release`) against this checkout's Release CLI. Same flags, one torch thread,
# same working folder and caches (teacher probes, op costs), the two interleaved (before/after, then after/before, ...)
# so a changing machine load hits both alike. `distil search --search-max-steps STEPS --retrain-epochs 1`.
# Usage: bench/conv-search-timing.sh BASE_CLI [PAIRS] [STEPS]   (default 3 pairs, 20 steps; TEACHER=dir, default the
#   bench teacher of bench/make-teacher.sh; BASE_NAME=what BASE_CLI is, for the table). Writes
#   bench/results/conv-search-timing.{md,tsv}; bench/conv-kernels.sh appends the .md to conv-kernels.md.
#   bench/conv-search-timing.sh --summarize-only rewrites the .md from the .tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
summarize() { # TSV STEPS PAIRS HEAD BASE_NAME
python3 - "$@" > bench/results/conv-search-timing.md <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
steps, pairs, head, base = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def med(arm, k): return statistics.median(float(r[k]) for r in rows if r['arm'] == arm)
print(f"**AdaBERT search, before vs after** (`bench/conv-search-timing.sh BASE_CLI {pairs} {steps}`): `distil search --config "
      f"bench/adabert/uci-sentiment.json --threads 1 --search-max-steps {steps} --retrain-epochs 1` (batch 32, max length 64, "
      f"hidden 128, 8 cells). before = {base}, after = {head} (the checked dispatch; DISTIL_CONV1D unset). "
      f"{pairs} pairs, interleaved; medians. user s = CPU time of the one-thread process (it includes the teacher's "
      "evaluation, the retraining and the start-up, which both arms share); search s and retrain s are wall seconds as the command prints them.\n")
print("| | wall s | user s | search s | retrain s |\n|---|---:|---:|---:|---:|")
for arm in ("before", "after"):
    print(f"| {arm} | {med(arm,'wall_s'):.1f} | {med(arm,'user_s'):.1f} | {med(arm,'search_s'):.0f} | {med(arm,'retrain_s'):.0f} |")
print(f"| after / before | {med('after','wall_s')/med('before','wall_s'):.2f} | {med('after','user_s')/med('before','user_s'):.2f} | "
      f"{med('after','search_s')/med('before','search_s'):.2f} | {med('after','retrain_s')/med('before','retrain_s'):.2f} |\n")
print("Runs (1-minute load average before each; the derived genotype's depth, which sets the retraining's cost):\n")
print("| pair | arm | wall s | user s | search s | retrain s | load | genotype |\n|---:|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['pair']} | {r['arm']} | {r['wall_s']} | {r['user_s']} | {r['search_s']} | {r['retrain_s']} | {r['load1_before']} | {r['genotype']} |")
PY
}
TSV=bench/results/conv-search-timing.tsv
if [ "${1:-}" = --summarize-only ]; then
  summarize "$TSV" "$(grep -o 'max-steps [0-9]*' bench/results/conv-search-timing.md | head -1 | cut -d' ' -f2)" \
    "$(cut -f1 "$TSV" | tail -1)" "$(git rev-parse --short HEAD)" "${BASE_NAME:-the CLI before the dispatch}"
  cat bench/results/conv-search-timing.md; exit 0
fi
BASE=${1:?BASE_CLI}; PAIRS=${2:-3}; STEPS=${3:-20}
NEW=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ -x "$NEW" ] || dotnet build src/Distil.Cli -c Release -v q -nologo
TEACHER=${TEACHER:-$(bench/make-teacher.sh)}
OUT=runs/conv-search-timing
rm -rf "$OUT"; mkdir -p "$OUT"
printf 'pair\tarm\twall_s\tuser_s\tsearch_s\tretrain_s\tload1_before\tgenotype\n' > "$OUT/timing.tsv"
one() { # pair arm cli
  local run="$OUT/$2-$1" load; load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== pair $1, $2 ($(date -u +%H:%M:%S), load $load)" >&2
  /usr/bin/time -f "%e %U" -o "$run.time" "$3" search --config bench/adabert/uci-sentiment.json --teacher "$TEACHER" --threads 1 \
    --search-max-steps "$STEPS" --retrain-epochs 1 --out "$run" > "$run.log" 2>&1
  local secs; secs=$(tr -s ' \n' ' ' < "$run.log" | grep -o 'search [0-9]* s, retrain [0-9]* s' | tail -1)
  local genotype; genotype=$(tr -s ' \n' ' ' < "$run.log" | grep -o 'genotype: depth [^;]*' | tail -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" $(cat "$run.time") "$(echo "$secs" | cut -d' ' -f2)" "$(echo "$secs" | cut -d' ' -f5)" "$load" "$genotype" >> "$OUT/timing.tsv"
}
for p in $(seq 1 "$PAIRS"); do
  if [ $((p % 2)) -eq 1 ]; then one "$p" before "$BASE"; one "$p" after "$NEW"; else one "$p" after "$NEW"; one "$p" before "$BASE"; fi
done
mv "$OUT/timing.tsv" "$TSV"
summarize "$TSV" "$STEPS" "$PAIRS" "$(git rev-parse --short HEAD)" "${BASE_NAME:-$BASE}"
cat bench/results/conv-search-timing.md
