#!/usr/bin/env bash
# Kill-and-resume harness: SIGKILLs real `distil finetune` / `distill` / `search` / `metakd` / `l2a` runs at random moments and during
# checkpoint writes, resumes them, and compares the final weights with uninterrupted runs. Prints a table and writes
# bench/results/kill-resume.{md,json}. Options: --seeds N (3) --kills N per seed (2) --commands finetune,distill,search,metakd,l2a --work DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Distil.Cli -c Release -v q -nologo
dotnet run --project bench/Distil.Reliability -c Release -- --repo . "$@"
