#!/usr/bin/env python3
"""Why `distil search --cnn-head pair`: can a classifier of one pooled vector see the WordNet gloss pairs at all?

    sudo bench/setup-pytorch-peer.sh; bench/make-teacher.sh        # Debian's python3-torch; the MiniLM encoder
    /usr/bin/python3 bench/adabert/pair-head-probe.py [ENCODER]    # default runs/bench-teacher/encoder; ~10 min, 1 thread

The cheapest student of AdaBERT's shape: the teacher's word embeddings (frozen), a trainable 384 -> 128 projection, mean
pooling, a linear classifier on hard labels; 2 epochs (Adam 1e-3, batch 64, seed 1), dev accuracy after each. Two heads on
the same features: "pooled" (the tokens of both texts in one mean, as the paper's head) and "pair" (each text pooled
apart into u and v, then [u, v, |u-v|, u*v]). Tokens: lower-cased greedy WordPiece of vocab.txt, 30 per text.
Written down in bench/results/gloss-pairs.notes.md.
"""
import json
import os
import re
import struct
import sys

import numpy as np
import torch

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
enc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "runs", "bench-teacher", "encoder")
data = os.path.join(root, "data", "wordnet-gloss-pairs")
torch.set_num_threads(1)

with open(os.path.join(enc, "model.safetensors"), "rb") as f:  # safetensors: u64 header size, JSON header, raw tensors
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    key = next(k for k in header if k.endswith("word_embeddings.weight"))
    start, end = header[key]["data_offsets"]
    f.seek(8 + n + start)
    emb = torch.tensor(np.frombuffer(f.read(end - start), dtype=np.float32).reshape(header[key]["shape"]).copy())
vocab = {w.rstrip("\n"): i for i, w in enumerate(open(os.path.join(enc, "vocab.txt"), encoding="utf-8"))}
LEN = 30


def wordpiece(text):
    ids = []
    for word in re.findall(r"\w+|[^\w\s]", text.lower()):
        s = 0
        while s < len(word):
            e = len(word)
            while e > s and (word[s:e] if s == 0 else "##" + word[s:e]) not in vocab:
                e -= 1
            if e == s:
                ids.append(vocab["[UNK]"])
                break
            ids.append(vocab[word[s:e] if s == 0 else "##" + word[s:e]])
            s = e
    return ids[:LEN]


def load(split):
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(data, split + ".tsv"), encoding="utf-8")][1:]
    a, b = torch.zeros(len(rows), LEN, dtype=torch.long), torch.zeros(len(rows), LEN, dtype=torch.long)
    for i, (x, y, _) in enumerate(rows):
        ta, tb = wordpiece(x), wordpiece(y)
        a[i, :len(ta)], b[i, :len(tb)] = torch.tensor(ta), torch.tensor(tb)
    return a, b, torch.tensor([int(r[2]) for r in rows])


class Probe(torch.nn.Module):
    def __init__(self, pair, hidden=128):
        super().__init__()
        self.pair = pair
        self.embed = torch.nn.Embedding.from_pretrained(emb.clone(), freeze=True)
        self.proj = torch.nn.Linear(emb.shape[1], hidden)
        self.out = torch.nn.Linear(4 * hidden if pair else hidden, 2)

    def sums(self, ids):  # (N, T) -> the summed projected tokens (N, H) and their count (N, 1); id 0 is padding
        m = (ids > 0).float().unsqueeze(-1)
        return (self.proj(self.embed(ids)) * m).sum(1), m.sum(1)

    def forward(self, a, b):
        (sa, na), (sb, nb) = self.sums(a), self.sums(b)
        if not self.pair:
            return self.out(torch.tanh((sa + sb) / (na + nb)))
        u, v = torch.tanh(sa / na.clamp_min(1)), torch.tanh(sb / nb.clamp_min(1))
        return self.out(torch.cat([u, v, (u - v).abs(), u * v], -1))


train, dev = load("train"), load("dev")
for pair in (False, True):
    torch.manual_seed(1)
    model = Probe(pair)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], 1e-3)
    for epoch in range(2):
        order = torch.randperm(len(train[2]))
        for i in range(0, len(order), 64):
            j = order[i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(train[0][j], train[1][j]), train[2][j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(dev[0], dev[1]).argmax(-1) == dev[2]).float().mean().item()
        print(f"head {'pair' if pair else 'pooled'} epoch {epoch + 1}: dev accuracy {100 * acc:.2f}%", flush=True)
