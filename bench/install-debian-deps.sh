#!/usr/bin/env bash
# The Debian packages the test suite and the bench scripts call: python3-torch / python3-numpy (references that
# follow transformers' semantics, independent of our C#), python3-sentencepiece (tokenizer agreement), redis-server
# (Orleans membership in the cluster tests) and wordnet-base (the source of the WordNet datasets in data/).
# Idempotent: installs only what is missing. Needs root or sudo.
set -euo pipefail
packages=(python3-torch python3-numpy python3-sentencepiece redis-server wordnet-base)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
