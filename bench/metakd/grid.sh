#!/usr/bin/env bash
# The whole Meta-KD comparison of bench/results/metakd.md: the full-data runs for every seed first, then the few-shot and
# zero-shot runs for every seed (so a cut-short grid still has whole full-data rows), then the table.
# Usage: bench/metakd/grid.sh OUT_DIR   (SEEDS="1 2 3" default, LOW_SEEDS for the few-/zero-shot runs; DISTIL as in run.sh).
# Rerunning resumes.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?OUT_DIR}
SEEDS=${SEEDS:-"1 2 3"}
# The issue's rows; meta-tinybert (the paper's Meta-teacher -> TinyBERT-KD) is extra: FULL="... meta-tinybert".
FULL=${FULL:-"meta-metakd meta-kd mix-tinybert single-tinybert"}
LOW=${LOW:-"p10-meta-metakd p10-mix-tinybert p10-single-tinybert zs-imdb-meta-metakd zs-imdb-mix-tinybert"}
table() { dotnet run --project bench/Distil.Bench -c Release -- summarize metakd "$OUT"; }
for seed in $SEEDS; do bench/metakd/run.sh "$OUT" "$seed" $FULL; table > /dev/null; done
for seed in ${LOW_SEEDS:-$SEEDS}; do bench/metakd/run.sh "$OUT" "$seed" $LOW; table > /dev/null; done
table
