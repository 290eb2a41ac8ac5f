#!/usr/bin/env bash
# Our tokenizers against Hugging Face's Rust tokenizers (NuGet Tokenizers.DotNet 1.4.1, tokenizers 0.22.2) on the
# tokenizer.json we write: agreement of ids (263 hostile texts, 2,086 UCI sentences) and speed in sentences/s (one text
# per call, template + truncation to 128, one thread, median of 5 passes) for WordPiece, byte-level BPE and Unigram.
# The measuring code is tests/Distil.Tests/TokenizerSpeedBench.cs (the library is a test-only dependency); this script
# runs it and writes bench/results/tokenizers.md with the machine in the header. About a minute on 2 cores.
#
#   bench/tokenizer-speed.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/tokenizers.md
BODY=$(mktemp)
trap 'rm -f "$BODY"' EXIT
[ "${1:-}" = "--no-build" ] || dotnet build -c Release tests/Distil.Tests >/dev/null
DISTIL_TOKENIZER_BENCH="$BODY" dotnet test -c Release --no-build tests/Distil.Tests \
  --filter "FullyQualifiedName~TokenizerSpeedBench" >/dev/null
[ -s "$BODY" ] || { echo "the bench wrote nothing"; exit 1; }
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512_vnni|avx_vnni)$' | tr '\n' ' ')
{
  echo "# Tokenizers: ours vs Hugging Face tokenizers (Rust, via Tokenizers.DotNet 1.4.1)"
  echo
  echo "Made by \`bench/tokenizer-speed.sh\` on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD)."
  echo "CPU: $cpu, $(nproc) cores visible; flags: $flags; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Each tokenizer writes its tokenizer.json (TextTokenizer.ToTokenizerJson); the library loads that file. Agreement:"
  echo "identical id sequences with the family's template (the 263 texts: UCI and WordNet sentences, accents composed and"
  echo "decomposed, emoji, CJK, Hangul, odd whitespace, empty input, an 8,000-character line, each untruncated and"
  echo "truncated to 128). Speed: 2,086 UCI training sentences, one per call, truncated to 128, one thread, median of 5"
  echo "passes after a warm-up pass. The library returns ids only, so its offsets are not compared."
  echo
  cat "$BODY"
} > "$OUT"
cat "$OUT"
