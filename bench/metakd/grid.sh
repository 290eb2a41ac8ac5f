#!/usr/bin/env bash
# The whole Meta-KD comparison of bench/results/metakd.md: the full-data runs for every seed first, then the few-shot and
# zero-shot runs for every seed (so a cut-short grid still has whole full-data rows), then the table.
# Usage: bench/metakd/grid.sh OUT_DIR   (SEEDS="1 2 3" default; DISTIL as in run.sh). Rerunning resumes.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?OUT_DIR}
SEEDS=${SEEDS:-"1 2 3"}
for seed in $SEEDS; do bench/metakd/run.sh "$OUT" "$seed" meta-metakd meta-kd meta-tinybert mix-tinybert single-tinybert; python3 bench/metakd/table.py "$OUT" > /dev/null; done
for seed in $SEEDS; do bench/metakd/run.sh "$OUT" "$seed" p10-meta-metakd p10-mix-tinybert p10-single-tinybert zs-imdb-meta-metakd zs-imdb-mix-tinybert; python3 bench/metakd/table.py "$OUT" > /dev/null; done
python3 bench/metakd/table.py "$OUT"
