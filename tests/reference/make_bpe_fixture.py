"""Trains the small byte-level BPE (RoBERTa / GPT-2 style) that tests/Distil.Tests/data/tokenizers/ holds (committed fixture).

Run from the repository root: python3 tests/reference/make_bpe_fixture.py (standard library only).
Text: data/uci-sentiment/train.tsv. GPT-2's byte-to-unicode alphabet, words split roughly as GPT-2's pattern does (the
split only decides which merges are learnt; tokenising with the result follows the real pattern), 600 merges, the most
frequent pair first (ties: the smaller pair). Writes bpe-vocab.json (RoBERTa's ids: <s>=0 <pad>=1 </s>=2 <unk>=3, the
256 byte symbols, the merged symbols, <mask> last) and bpe-merges.txt ("#version: 0.2", then one "a b" per line).
"""
import collections
import json
import os
import re

out = os.path.join("tests", "Distil.Tests", "data", "tokenizers")


def bytes_to_unicode():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, n = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars


byte_char = bytes_to_unicode()
split = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")
with open(os.path.join("data", "uci-sentiment", "train.tsv"), encoding="utf-8") as f:
    next(f)
    lines = [l.split("\t")[0] for l in f]
words = collections.Counter()
for line in lines:
    for w in split.findall(line):
        words[tuple(byte_char[b] for b in w.encode("utf-8"))] += 1

merges = []
for _ in range(600):
    pairs = collections.Counter()
    for w, c in words.items():
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += c
    if not pairs:
        break
    best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    merges.append(best)
    merged = collections.Counter()
    for w, c in words.items():
        out_w, i = [], 0
        while i < len(w):
            if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                out_w.append(w[i] + w[i + 1])
                i += 2
            else:
                out_w.append(w[i])
                i += 1
        merged[tuple(out_w)] += c
    words = merged

vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
for b in range(256):
    vocab.setdefault(byte_char[b], len(vocab))
for a, b in merges:
    vocab.setdefault(a + b, len(vocab))
vocab["<mask>"] = len(vocab)
with open(os.path.join(out, "bpe-vocab.json"), "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(os.path.join(out, "bpe-merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n")
    for a, b in merges:
        f.write(f"{a} {b}\n")
print(len(vocab), "tokens,", len(merges), "merges")
