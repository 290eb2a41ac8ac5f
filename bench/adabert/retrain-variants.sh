#!/usr/bin/env bash
# Retraining variants on one finished search: each variant copies the search (search/ and the resolved config) into
# its own run folder and resumes it with different retraining flags, so the genotype and the search weights are the
# same for every row and only the retraining differs. Then prints dev/test accuracy per variant.
# Usage: bench/adabert/retrain-variants.sh SEARCH_RUN [OUT]   (SEARCH_RUN: a `distil search` run folder whose search
#   finished, e.g. runs/adabert-aug/seed1 from bench/adabert/run.sh with EXTRA="--search-epochs 15 --arch-lr 1e-2 ...")
#   DISTIL=path/to/Distil.Cli (default: the Release build). A finished variant (result.json) is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${1:?SEARCH_RUN}; OUT=${2:-runs/adabert-retrain}
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ -f "$SRC/search/done.json" ] || { echo "$SRC: the search has not finished (no search/done.json)"; exit 2; }
VARIANTS=${VARIANTS:-} # names to run (default: all), e.g. VARIANTS="identity"
ALL=( # name: retraining flags
  "derived: --retrain-cells derived" # the search run's own retraining again, here: the control for identity
  "identity: --retrain-cells identity" # the same settings, identity ops on the derived edges
  "rows-t1: --augment 0 --retrain-epochs 8 --retrain-temperature 1"
  "rows-t4: --augment 0 --retrain-epochs 8 --retrain-temperature 4"
  "aug10-t4: --augment 10 --retrain-epochs 3 --retrain-temperature 4"
  "aug10-p0.1-t4: --augment 10 --augment-p 0.1 --retrain-epochs 3 --retrain-temperature 4"
  "rows-t4-maxpool: --augment 0 --retrain-epochs 8 --retrain-temperature 4 --token-pooling max"
  "transfer-t4: --augment 0 --retrain-epochs 3 --retrain-temperature 4 --transfer data/wordnet-sentences/sentences.txt"
  "transfer-t4-maxpool: --augment 0 --retrain-epochs 3 --retrain-temperature 4 --token-pooling max --transfer data/wordnet-sentences/sentences.txt"
)
for v in "${ALL[@]}"; do
  name=${v%%:*}; flags=${v#*: }; d="$OUT/$name"
  [ -n "$VARIANTS" ] && [[ " $VARIANTS " != *" $name "* ]] && continue
  if [ ! -f "$d/result.json" ]; then
    if [ ! -d "$d/search" ]; then rm -rf "$d"; mkdir -p "$d"; cp -r "$SRC/search" "$SRC/config.resolved.json" "$d/"; fi
    echo "== $name: $flags"
    "$DISTIL" search --out "$d" --resume $flags > "$d.log" 2>&1 || { echo "   failed: see $d.log"; continue; }
  fi
  dotnet run --project bench/Distil.Bench -c Release -- summarize adabert-variant "$name" "$d"
done
