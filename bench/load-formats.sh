#!/usr/bin/env bash
# Load time of a ~110M-parameter BERT-base-shaped checkpoint in each format Distil reads (issue 17): one random state dict
# written by Debian's python3-torch as model.safetensors, pytorch_model.bin (torch.save) and 4 shards of each, then
# WeightFiles.Read timed on each folder (median of 3, `Distil.Bench load-formats`). Writes bench/results/load-formats.md.
#
#   bench/load-formats.sh            (WORK=runs/load-formats by default; ~2.5 GB of disk while it runs, removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
WORK=${WORK:-runs/load-formats}
"$PY" -c "import torch" 2>/dev/null || { echo "no torch in $PY: run bench/install-debian-deps.sh"; exit 2; }
mkdir -p "$WORK"
"$PY" - "$WORK" <<'PYEOF'
import json, os, sys
from collections import OrderedDict
import torch
sys.path.insert(0, "tests/reference")
import safetensors_io

work = sys.argv[1]
V, H, I, L, P = 30522, 768, 3072, 12, 512
g = torch.Generator().manual_seed(0)
sd = OrderedDict()
def add(name, *shape):
    sd[name] = torch.randn(*shape, generator=g) * 0.02
add("embeddings.word_embeddings.weight", V, H); add("embeddings.position_embeddings.weight", P, H)
add("embeddings.token_type_embeddings.weight", 2, H); add("embeddings.LayerNorm.weight", H); add("embeddings.LayerNorm.bias", H)
for l in range(L):
    p = f"encoder.layer.{l}."
    for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
        add(p + m + ".weight", H, H); add(p + m + ".bias", H)
    add(p + "attention.output.LayerNorm.weight", H); add(p + "attention.output.LayerNorm.bias", H)
    add(p + "intermediate.dense.weight", I, H); add(p + "intermediate.dense.bias", I)
    add(p + "output.dense.weight", H, I); add(p + "output.dense.bias", H)
    add(p + "output.LayerNorm.weight", H); add(p + "output.LayerNorm.bias", H)
add("pooler.dense.weight", H, H); add("pooler.dense.bias", H)
print("parameters:", sum(t.numel() for t in sd.values()))

def folder(name):
    d = os.path.join(work, name); os.makedirs(d, exist_ok=True); return d
safetensors_io.save(os.path.join(folder("safetensors"), "model.safetensors"), sd)
torch.save(sd, os.path.join(folder("pytorch-bin"), "pytorch_model.bin"))
keys = list(sd); n = 4; parts = [keys[i * len(keys) // n:(i + 1) * len(keys) // n] for i in range(n)]
for kind, index, pattern, save in (("safetensors-4-shards", "model.safetensors.index.json", "model-{:05d}-of-{:05d}.safetensors",
                                    lambda p, t: safetensors_io.save(p, t)),
                                   ("pytorch-bin-4-shards", "pytorch_model.bin.index.json", "pytorch_model-{:05d}-of-{:05d}.bin", lambda p, t: torch.save(t, p))):
    d = folder(kind); wm = {}
    for i, part in enumerate(parts):
        f = pattern.format(i + 1, n); save(os.path.join(d, f), OrderedDict((k, sd[k]) for k in part)); wm.update({k: f for k in part})
    json.dump({"metadata": {"total_size": 4 * sum(t.numel() for t in sd.values())}, "weight_map": wm}, open(os.path.join(d, index), "w"))
PYEOF
dotnet build bench/Distil.Bench -c Release -v q -nologo >/dev/null
table=$(dotnet bench/Distil.Bench/bin/Release/net10.0/linux-x64/Distil.Bench.dll load-formats \
  "$WORK/safetensors" "$WORK/safetensors-4-shards" "$WORK/pytorch-bin" "$WORK/pytorch-bin-4-shards")
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
source bench/lib/machine.sh
mkdir -p bench/results
{
  machine_header; echo
  echo "# Checkpoint load time by format"
  echo
  echo "\`bench/load-formats.sh\` at $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d): \`WeightFiles.Read\` (read, check and widen to"
  echo "float32 tensors) of one random BERT-base-shaped state dict (float32) saved four ways by torch $("$PY" -c 'import torch; print(torch.__version__)')."
  echo "Median of 3 reads right after writing (warm OS file cache), one process. CPU: $cpu ($(nproc) cores visible, shared)."
  echo
  echo "$table"
} > bench/results/load-formats.md
cat bench/results/load-formats.md
rm -rf "$WORK"
