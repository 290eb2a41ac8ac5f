#!/usr/bin/env python3
"""PyTorch speed peer of bench/Distil.Bench: the same BERT shapes, timed the same way.

HF-free: a small hand-written BERT with the structure of Distil's BertForSequenceClassification
(embeddings + LayerNorm, multi-head self-attention with softmax, exact-erf GELU FFN, residual LayerNorms,
tanh pooler on [CLS] + dropout + linear classifier), AdamW(lr 1e-4, weight_decay 0.01).

Three modes:
  * one shape, a given plan (what the C# bench calls, once per shape after its own measurements):
      pytorch_peer.py --threads N --shape '<Shape JSON>' --plan '<Measurement[] JSON>'   -> one JSON document
  * serve:  pytorch_peer.py --threads N --serve
      reads one JSON request per line on stdin, {"shape": {...}, "measurement": {...}}, runs it and writes one JSON
      line with the samples on stdout (after a {"ready": true, "meta": ...} line), so that a driver can interleave
      ours / peer / ours / peer per measurement with one long-lived peer process
  * standalone:  pytorch_peer.py --threads N [--shapes minilm,base] [--steps 8] [--warmup 3] [--latency-steps 20]
      runs the same plan as the C# bench alone and prints one JSON document.

Run it with Debian's /usr/bin/python3 (python3-torch 1.13) and LD_LIBRARY_PATH pointing at a pthread OpenBLAS
(bench/setup-pytorch-peer.sh); otherwise torch uses Debian's reference BLAS and is not a fair baseline.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {
    "minilm": dict(Name="minilm-L6-H384", Layers=6, Hidden=384, Heads=12, Ffn=1536, Vocab=30522, MaxPositions=512),
    "base": dict(Name="bert-base-L12-H768", Layers=12, Hidden=768, Heads=12, Ffn=3072, Vocab=30522, MaxPositions=512),
}


class Embeddings(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.word_embeddings = nn.Embedding(s["Vocab"], s["Hidden"], padding_idx=0)
        self.position_embeddings = nn.Embedding(s["MaxPositions"], s["Hidden"])
        self.token_type_embeddings = nn.Embedding(2, s["Hidden"])
        self.LayerNorm = nn.LayerNorm(s["Hidden"], eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], dtype=torch.long).unsqueeze(0)
        x = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(types)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, s):
        super().__init__()
        h = s["Hidden"]
        self.heads, self.head_dim = s["Heads"], h // s["Heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(0.1)

    def split(self, x):
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q.matmul(k.transpose(-1, -2)) / math.sqrt(self.head_dim) + additive_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = probs.matmul(v)
        return ctx.transpose(1, 2).contiguous().view(x.shape[0], x.shape[1], -1)


class ResidualOutput(nn.Module):
    def __init__(self, fin, s):
        super().__init__()
        self.dense = nn.Linear(fin, s["Hidden"])
        self.LayerNorm = nn.LayerNorm(s["Hidden"], eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Layer(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.self_attn = SelfAttention(s)
        self.attn_output = ResidualOutput(s["Hidden"], s)
        self.intermediate = nn.Linear(s["Hidden"], s["Ffn"])
        self.output = ResidualOutput(s["Ffn"], s)

    def forward(self, x, mask):
        a = self.attn_output(self.self_attn(x, mask), x)
        return self.output(F.gelu(self.intermediate(a)), a)


class BertForSequenceClassification(nn.Module):
    def __init__(self, s, num_labels=2):
        super().__init__()
        self.embeddings = Embeddings(s)
        self.layer = nn.ModuleList([Layer(s) for _ in range(s["Layers"])])
        self.pooler = nn.Linear(s["Hidden"], s["Hidden"])
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(s["Hidden"], num_labels)
        for m in self.modules():  # HF BERT init
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.data.normal_(0.0, 0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.data.zero_()

    def forward(self, ids, attention_mask, types):
        b, t = ids.shape
        additive = ((1.0 - attention_mask.to(torch.float32)) * torch.finfo(torch.float32).min).view(b, 1, 1, t)
        h = self.embeddings(ids, types)
        for layer in self.layer:
            h = layer(h, additive)
        pooled = torch.tanh(self.pooler(h[:, 0]))
        return self.classifier(self.dropout(pooled))


def inputs(s, batch, seq):
    ids = torch.randint(0, s["Vocab"], (batch, seq), dtype=torch.long)
    return ids, torch.ones(batch, seq, dtype=torch.long), torch.zeros(batch, seq, dtype=torch.long)


def train_step(model, s, m):
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids, mask, types = inputs(s, m["Batch"], m["Seq"])
    labels = torch.randint(0, 2, (m["Batch"],), dtype=torch.long)
    samples = []
    for i in range(m["Warmup"] + m["Steps"]):
        t0 = time.perf_counter()
        logits = model(ids, mask, types)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        del logits, loss
        dt = (time.perf_counter() - t0) * 1000.0
        if i >= m["Warmup"]:
            samples.append(dt)
    opt.zero_grad(set_to_none=True)
    return samples


def inference(model, s, m):
    model.eval()
    ids, mask, types = inputs(s, m["Batch"], m["Seq"])
    samples = []
    with torch.no_grad():
        for i in range(m["Warmup"] + m["Steps"]):
            t0 = time.perf_counter()
            logits = model(ids, mask, types)
            del logits
            dt = (time.perf_counter() - t0) * 1000.0
            if i >= m["Warmup"]:
                samples.append(dt)
    return samples


def run(model, s, m):
    return train_step(model, s, m) if m["Kind"] == "train_step" else inference(model, s, m)


def median(xs):
    return statistics.median(xs)


def p95(xs):
    ys = sorted(xs)
    return ys[max(0, min(len(ys) - 1, math.ceil(0.95 * len(ys)) - 1))]


def blas_in_use():
    """The BLAS library this process actually mapped (proves that the OpenBLAS peer is in use)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(libs)
    except OSError:
        return []


def meta(threads):
    return {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "requested_threads": threads,
        "blas_libraries_mapped": blas_in_use(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "attention": "matmul + softmax (torch 1.13 has no scaled_dot_product_attention)",
        "optimizer": "torch.optim.AdamW(lr=1e-4, weight_decay=0.01), default (single-tensor) implementation",
    }


class Models:
    """Keeps the model of the last shape (one shape is measured at a time)."""

    def __init__(self):
        self.name, self.model = None, None

    def get(self, s):
        if self.name != s["Name"]:
            self.model = None
            torch.manual_seed(0)
            self.model = BertForSequenceClassification(s)
            self.name = s["Name"]
        return self.model


def serve(threads):
    models = Models()
    # Warm the BLAS so that the mapped libraries are visible in meta.
    torch.ones(64, 64).matmul(torch.ones(64, 64))
    print(json.dumps({"ready": True, "meta": meta(threads)}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        s, m = req["shape"], req["measurement"]
        samples = run(models.get(s), s, m)
        print(json.dumps({"samples_ms": samples, "median_ms": median(samples), "p95_ms": p95(samples)}), flush=True)


def run_plan(threads, s, plan):
    """One shape, a given plan (the C# bench's --shape/--plan call); prints one JSON document."""
    models = Models()
    results = []
    for m in plan:
        samples = run(models.get(s), s, m)
        results.append(dict(shape=s["Name"], measurement=m["Kind"], batch=m["Batch"], seq=m["Seq"], warmup=m["Warmup"],
                            steps=m["Steps"], median_ms=median(samples), p95_ms=p95(samples), samples_ms=samples))
        print(f"peer {s['Name']} {m['Kind']} b{m['Batch']} s{m['Seq']}: median {median(samples):.1f} ms", file=sys.stderr)
    print(json.dumps({"meta": meta(threads), "results": results}, indent=2))


def standalone(args):
    models = Models()
    results = []
    for name in args.shapes.split(","):
        s = SHAPES[name]
        plan = [("train_step", 32, 64, args.warmup, args.steps), ("train_step", 32, 128, args.warmup, args.steps),
                ("infer_latency", 1, 64, max(2, args.warmup), args.latency_steps),
                ("infer_latency", 1, 128, max(2, args.warmup), args.latency_steps),
                ("infer_throughput", 32, 128, args.warmup, args.steps)]
        for kind, b, t, w, n in plan:
            m = dict(Kind=kind, Batch=b, Seq=t, Warmup=w, Steps=n)
            samples = run(models.get(s), s, m)
            results.append(dict(shape=s["Name"], measurement=kind, batch=b, seq=t, warmup=w, steps=n,
                                median_ms=median(samples), p95_ms=p95(samples), samples_ms=samples))
            print(f"{s['Name']} {kind} b{b} s{t}: median {median(samples):.1f} ms", file=sys.stderr)
    print(json.dumps({"meta": meta(args.threads), "results": results}, indent=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--shapes", default="minilm,base")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--latency-steps", type=int, default=20)
    ap.add_argument("--shape", help="one shape as JSON (the C# Shape record); with --plan")
    ap.add_argument("--plan", help="measurements as a JSON array (the C# Measurement records); with --shape")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.serve:
        serve(args.threads)
    elif args.shape and args.plan:
        run_plan(args.threads, json.loads(args.shape), json.loads(args.plan))
    else:
        standalone(args)


if __name__ == "__main__":
    main()
