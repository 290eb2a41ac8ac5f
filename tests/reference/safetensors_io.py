"""Reads and writes .safetensors files with torch only (the format: 8-byte little-endian header length, a JSON
header of {name: {dtype, shape, data_offsets}}, then the raw little-endian bytes), so the references need no
package beyond Debian's python3-torch."""
import json
import struct

import numpy as np
import torch

_DTYPES = {"F32": (np.float32, torch.float32), "F16": (np.float16, torch.float16), "I64": (np.int64, torch.int64),
           "I32": (np.int32, torch.int32), "U8": (np.uint8, torch.uint8)}


def load(path):
    """{name: tensor} of a .safetensors file (BF16 is widened to float32)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        raw = body[start:end]
        if entry["dtype"] == "BF16":
            halves = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            out[name] = torch.from_numpy(halves.view(np.float32).reshape(entry["shape"]).copy())
            continue
        np_type, _ = _DTYPES[entry["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype=np_type).reshape(entry["shape"]).copy())
    return out


def save(path, tensors):
    """Writes {name: tensor} (F32/F16/I64/I32/U8) as .safetensors, names sorted, offsets contiguous."""
    names = sorted(tensors)
    header, chunks, offset = {}, [], 0
    reverse = {v[1]: k for k, v in _DTYPES.items()}
    for name in names:
        t = tensors[name].contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": reverse[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
