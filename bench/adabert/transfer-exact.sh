#!/usr/bin/env bash
# Does a label store made beforehand give the same AdaBERT student as labelling inside the run? One finished search
# (SEARCH_RUN, e.g. runs/adabert-transfer-store/seed1 from bench/adabert/transfer-store.sh) is retrained twice on the
# 45,140 WordNet transfer sentences: (a) `--transfer data/wordnet-sentences/sentences.txt`, the run labelling them
# itself into a fresh store, and (b) `--transfer STORE`, a store that `distil label` (default settings) made first.
# Prints the logits' comparison and both runs' accuracy and best/model.safetensors hash (bench/results/adabert-transfer-exact.md).
# Usage: bench/adabert/transfer-exact.sh SEARCH_RUN [OUT (default runs/adabert-transfer-exact)]
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${1:?SEARCH_RUN}; OUT=${2:-runs/adabert-transfer-exact}
[ -f "$SRC/search/done.json" ] || { echo "$SRC: the search has not finished (no search/done.json)"; exit 2; }
source bench/lib/cli_copy.sh
DISTIL=$(cli_copy "$OUT")
TEACHER=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['config']['teacher'])" "$SRC/config.resolved.json")
resume=(); [ -d "$OUT/wordnet-labels" ] && resume=(--resume) # finished shards are kept
"$DISTIL" label --teacher "$TEACHER" --data data/wordnet-sentences/sentences.txt --out "$OUT/wordnet-labels" \
  --max-seq-len 64 --threads 1 "${resume[@]}" > "$OUT/label.log" 2>&1
for v in in-run:data/wordnet-sentences/sentences.txt store:$OUT/wordnet-labels; do
  name=${v%%:*}; transfer=${v#*:}; d=$OUT/$name
  if [ ! -f "$d/result.json" ]; then
    rm -rf "$d" && mkdir -p "$d" && cp -r "$SRC/search" "$SRC/config.resolved.json" "$d/"
    store=(); [ "$name" = in-run ] && store=(--label-store "$OUT/in-run-labels")
    "$DISTIL" search --out "$d" --resume --transfer "$transfer" "${store[@]}" --threads 1 > "$d.log" 2>&1 || { echo "$name failed: see $d.log"; exit 1; }
  fi
done
python3 - "$OUT" <<'PY'
import array, glob, hashlib, json, struct, sys
out = sys.argv[1]
def logits(store):
    got = {}
    for f in sorted(glob.glob(f"{store}/shards/*.safetensors")):
        b = open(f, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
        rows = json.loads(h["__metadata__"]["rows"]); s, e = h["logits"]["data_offsets"]; c = h["logits"]["shape"][1]
        a = array.array("f"); a.frombytes(b[8 + n + s:8 + n + e])
        for i, r in enumerate(rows): got.setdefault(r[0], tuple(a[c * i:c * i + c]))
    return got
a, b = logits(f"{out}/in-run-labels"), logits(f"{out}/wordnet-labels")
same = sum(a[k] == b.get(k) for k in a)
print(f"logits: {len(a)} sentences labelled in the run, {len(b)} by distil label; bit-identical: {same}")
for name in ("in-run", "store"):
    r = json.load(open(f"{out}/{name}/result.json"))
    sha = hashlib.sha256(open(f"{out}/{name}/best/model.safetensors", "rb").read()).hexdigest()[:16]
    print(f"{name}: test {100 * r['student']['Test']['accuracy']:.4f}%, dev {100 * r['student']['Dev']['accuracy']:.4f}%, best/model.safetensors sha256 {sha}")
PY
