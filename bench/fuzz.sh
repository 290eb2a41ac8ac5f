#!/usr/bin/env bash
# Fuzzes one parser of user files with SharpFuzz + AFL++ for a while; crashing inputs are copied to
# tests/Distil.Tests/data/fuzz-crashes/TARGET/ (the regression tests replay them).
#   bench/fuzz.sh TARGET [SECONDS]     targets: safetensors onnx tsv csv jsonl; default 600 s
# Needs AFL++ (Debian: apt-get install afl++). Prints executions per second and the corpus size at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: bench/fuzz.sh safetensors|onnx|tsv|csv|jsonl [SECONDS]}
seconds=${2:-600}
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: install AFL++ (apt-get install afl++)"; exit 3; }
[ -x .tools/sharpfuzz ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path .tools
build=bench/fuzz/build
rm -rf "$build"
dotnet publish bench/Distil.Fuzz -c Release -o "$build" -v q -nologo
.tools/sharpfuzz "$build/Distil.dll"          # instrument our library only (its branches guide AFL)
seeds=bench/fuzz/seeds/$target
findings=${FUZZ_OUT:-runs/fuzz}/$target
rm -rf "$findings"; mkdir -p "$findings"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
afl-fuzz -V "$seconds" -i "$seeds" -o "$findings" -t 10000 -m none -- dotnet "$build/Distil.Fuzz.dll" "$target" || true
stats=$findings/default/fuzzer_stats
echo "== $target: $(grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|run_time)' "$stats" | tr -s ' ' | tr '\n' ' ')"
crashes=$(find "$findings/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
if [ "$crashes" -gt 0 ]; then
  mkdir -p "tests/Distil.Tests/data/fuzz-crashes/$target"
  for f in "$findings"/default/crashes/id:*; do cp "$f" "tests/Distil.Tests/data/fuzz-crashes/$target/$(sha1sum "$f" | cut -c1-12)"; done
  echo "$crashes crashing inputs copied to tests/Distil.Tests/data/fuzz-crashes/$target/"
fi
