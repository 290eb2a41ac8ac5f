#!/usr/bin/env bash
# AdaBERT's ShiftedConv1d against torch's conv1d at the derived student's shapes (hidden 128, seq 64, batch 1 and 32,
# kernels 3/5/7, dilation 1/2): interleaved medians for the no_grad forward and the train forward + backward, and both
# paths' output and input gradient against float64 (docs/adabert.md §Convolutions on the CPU). About a minute on 1 thread.
# Usage: bench/conv-kernels.sh [RUNS] [THREADS]   (writes bench/results/conv-kernels.{md,json})
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
THREADS=${2:-1}
dotnet build -c Release bench/Distil.Bench -v q -nologo >/dev/null
dotnet run --project bench/Distil.Bench -c Release --no-build -- conv --runs "$RUNS" --threads "$THREADS" --out bench/results/conv-kernels.json
# The AdaBERT search timing (bench/conv-search-timing.sh, run apart: it needs a build of the commit before) goes below.
if [ -f bench/results/conv-search-timing.md ]; then printf '\n' >> bench/results/conv-kernels.md; cat bench/results/conv-search-timing.md >> bench/results/conv-kernels.md; fi
