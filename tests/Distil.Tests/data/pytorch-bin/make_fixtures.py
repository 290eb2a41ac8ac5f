#!/usr/bin/env python3
"""Writes the pytorch_model.bin fixtures that PytorchBinTests reads. Needs torch (Debian: apt-get install python3-torch);
the outputs are checked in, so the tests need no torch. Rerun only to change the fixtures.

What torch.save writes (zipfile serialization, torch >= 1.6): a zip archive, entries stored uncompressed, all under one
folder named after the file ("pytorch_model/" here, "archive/" in torch >= 2.x):
  <name>/data.pkl   a pickle (protocol 2) of the state dict, tensors as torch._utils._rebuild_tensor_v2(storage,
                    storage_offset, size, stride, requires_grad, backward_hooks) whose storage is a persistent id
                    ('storage', torch.FloatStorage, key, location, numel)
  <name>/data/<key> the storage's raw little-endian bytes
  <name>/version    "3"
Several tensors may share one storage (tied weights, views); a view has a storage offset and strides.

Outputs (all small):
  tiny-bert/        config.json, vocab.txt, pytorch_model.bin: a 1-layer BERT sequence classifier whose query weight is a
                    transposed view, whose key and value biases are slices of one storage (offsets H and 2H), with fp16
                    and bf16 tensors, an int64 buffer and an nn.Parameter (torch._utils._rebuild_parameter)
  tiny-bert/expected.safetensors  the same tensors as torch holds them, widened to float32 (int64 kept), contiguous,
                    written by tests/reference/safetensors_io.py: what the reader must give back exactly
  sharded-bin/      the same weights as pytorch_model.bin.index.json + 2 shards
  sharded-safetensors/  the same weights as model.safetensors.index.json + 2 shards (safetensors written by hand below)
  bad/malicious.bin     a valid-looking archive whose data.pkl is GLOBAL posix.system + REDUCE ("touch MARKER")
  bad/malicious-eval.bin  the same with protocol 4 (STACK_GLOBAL builtins.eval)
  bad/reduce-storage.bin  REDUCE of torch.FloatStorage: a global a state dict names, but never calls
  bad/truncated.bin     the first half of tiny-bert/pytorch_model.bin
  bad/missing-shard/    an index naming a shard file that is not there
"""
import io, json, os, pickle, shutil, struct, sys, zipfile
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "reference"))
import safetensors_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = "distil-pickle-payload-ran"  # the file the payload would create in the working folder; the tests check it never appears
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "good", "great", "fine", "love", "bad", "awful", "poor",
         "hate", "the", "movie", "phone", "food", "was", "is", "a"]
H, I, L, P = 16, 32, 1, 64
CONFIG = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": len(VOCAB), "hidden_size": H,
          "num_hidden_layers": L, "num_attention_heads": 2, "intermediate_size": I, "max_position_embeddings": P,
          "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1,
          "attention_probs_dropout_prob": 0.1,
          "id2label": {"0": "negative", "1": "positive"}, "label2id": {"negative": 0, "positive": 1}}


def fresh(name):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write_folder(d):
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")


def state_dict():
    g = torch.Generator().manual_seed(7)
    r = lambda *s: (torch.randn(*s, generator=g) * 0.1)
    sd = OrderedDict()
    B = "bert."
    sd[B + "embeddings.word_embeddings.weight"] = r(len(VOCAB), H)
    sd[B + "embeddings.position_embeddings.weight"] = r(P, H)
    sd[B + "embeddings.token_type_embeddings.weight"] = r(2, H)
    sd[B + "embeddings.LayerNorm.weight"] = (1 + r(H)).half()          # an fp16 storage
    sd[B + "embeddings.LayerNorm.bias"] = r(H).bfloat16()               # a bf16 storage
    sd[B + "embeddings.position_ids"] = torch.arange(P).unsqueeze(0)    # an int64 buffer
    a = B + "encoder.layer.0.attention."
    sd[a + "self.query.weight"] = r(H, H).t()                       # a transposed view: strides (1, H)
    sd[a + "self.query.bias"] = r(H)
    sd[a + "self.key.weight"] = r(H, H)
    qkv = r(3 * H)
    sd[a + "self.key.bias"] = qkv[H:2 * H]                          # a slice: storage offset H of a 3H storage
    sd[a + "self.value.weight"] = r(H, H)
    sd[a + "self.value.bias"] = qkv[2 * H:]                         # the same storage again, at offset 2H
    sd[a + "output.dense.weight"] = r(H, H)
    sd[a + "output.dense.bias"] = r(H)
    sd[a + "output.LayerNorm.weight"] = 1 + r(H)
    sd[a + "output.LayerNorm.bias"] = r(H)
    f = B + "encoder.layer.0."
    sd[f + "intermediate.dense.weight"] = r(I, H)
    sd[f + "intermediate.dense.bias"] = r(I)
    sd[f + "output.dense.weight"] = r(H, I)
    sd[f + "output.dense.bias"] = r(H)
    sd[f + "output.LayerNorm.weight"] = 1 + r(H)
    sd[f + "output.LayerNorm.bias"] = r(H)
    sd[B + "pooler.dense.weight"] = r(H, H)
    sd[B + "pooler.dense.bias"] = r(H)
    sd["classifier.weight"] = torch.nn.Parameter(r(2, H))            # pickled by torch._utils._rebuild_parameter
    sd["classifier.bias"] = r(2)
    assert not sd[a + "self.query.weight"].is_contiguous() and sd[a + "self.key.bias"].storage_offset() == H
    return sd


def expected(sd):
    """Every tensor as torch holds it, contiguous, floats widened to float32 (what Distil's readers return)."""
    return {k: (t.detach().to(torch.float32) if t.is_floating_point() else t.detach()).contiguous().clone() for k, t in sd.items()}


def save_safetensors(path, tensors):
    """safetensors by the spec: u64 LE header length, JSON header, raw data (F32 / F16 / BF16 / I64)."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for k, t in tensors.items():
        c = t.detach().contiguous()
        raw = c.view(torch.int16).numpy().tobytes() if c.dtype == torch.bfloat16 else c.numpy().tobytes()
        header[k] = {"dtype": names[c.dtype], "shape": list(c.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def shards(sd):
    keys = list(sd)
    return [OrderedDict((k, sd[k]) for k in keys[:len(keys) // 2]), OrderedDict((k, sd[k]) for k in keys[len(keys) // 2:])]


def write_index(d, name, parts, shard_names):
    weight_map = {k: shard_names[i] for i, part in enumerate(parts) for k in part}
    with open(os.path.join(d, name), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1)


sd = state_dict()

d = fresh("tiny-bert")
write_folder(d)
torch.save(sd, os.path.join(d, "pytorch_model.bin"))
safetensors_io.save(os.path.join(d, "expected.safetensors"), expected(sd))

d = fresh("sharded-bin")
write_folder(d)
parts, names = shards(sd), ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
for part, n in zip(parts, names):
    torch.save(part, os.path.join(d, n))
write_index(d, "pytorch_model.bin.index.json", parts, names)

d = fresh("sharded-safetensors")
write_folder(d)
names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
for part, n in zip(parts, names):
    save_safetensors(os.path.join(d, n), part)
write_index(d, "model.safetensors.index.json", parts, names)

d = fresh("bad")


class Payload:
    """Unpickling this calls posix.system(...): what a hostile checkpoint does. Only written here, never loaded."""
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


evil = OrderedDict(); evil["embeddings.word_embeddings.weight"] = Payload()
with zipfile.ZipFile(os.path.join(d, "malicious.bin"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("malicious/data.pkl", pickle.dumps(evil, protocol=2))
    z.writestr("malicious/version", "3\n")
assert b"posix" in pickle.dumps(evil, protocol=2)  # os.system pickles as posix.system on Linux


class EvalPayload:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch " + MARKER + "')",))


evil = OrderedDict(); evil["embeddings.word_embeddings.weight"] = EvalPayload()
with zipfile.ZipFile(os.path.join(d, "malicious-eval.bin"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", pickle.dumps(evil, protocol=4))
    z.writestr("archive/version", "3\n")
assert b"\x93" in pickle.dumps(evil, protocol=4) and b"builtins" in pickle.dumps(evil, protocol=4)

# By hand, opcode by opcode: {"w": torch.FloatStorage(4)}, REDUCE of an allowed global that is no callable of a state dict.
ops = (b"\x80\x02" + b"}q\x00" + b"X\x01\x00\x00\x00w" + b"ctorch\nFloatStorage\n" + b"K\x04\x85" + b"R" + b"s" + b".")
with zipfile.ZipFile(os.path.join(d, "reduce-storage.bin"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", ops)
    z.writestr("archive/version", "3\n")

with open(os.path.join(HERE, "tiny-bert", "pytorch_model.bin"), "rb") as f:
    whole = f.read()
with open(os.path.join(d, "truncated.bin"), "wb") as f:
    f.write(whole[:len(whole) // 2])

m = os.path.join(d, "missing-shard")
os.makedirs(m)
write_folder(m)
torch.save(parts[0], os.path.join(m, "pytorch_model-00001-of-00002.bin"))
write_index(m, "pytorch_model.bin.index.json", parts, ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"])

total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(HERE) for f in fs)
print(f"fixtures written: {total} bytes")
