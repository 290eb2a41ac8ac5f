#!/usr/bin/env python3
"""Adds a `domain` column (the part of speech: noun, verb, adj, adv) to the WordNet gloss pairs, for Meta-KD.

    python3 bench/lib/gloss_domains.py OUT_DIR     # writes OUT_DIR/{train,dev,test}.tsv: text_a, text_b, label, domain

A pair's part of speech is that of the synset whose definition is text_b ("<lemma>: <definition>"), looked up in
WordNet 3.0 through data/wordnet-gloss-pairs/build.py's own readers. Both pairs of one usage example share lemma and part
of speech (the negative is another sense of the same lemma and part of speech), so when a definition belongs to no
synset of that lemma or to several parts of speech, the example's other pair decides. A pair still undecided stops the
script: there is no silent default domain.
"""
import collections
import os
import runpy
import sys

if len(sys.argv) != 2:
    sys.exit(__doc__)
out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "..", "data", "wordnet-gloss-pairs")
if not os.path.exists("/usr/share/wordnet/data.noun"):
    sys.exit("no WordNet 3.0 at /usr/share/wordnet (Debian package wordnet-base): run bench/install-debian-deps.sh")
argv, sys.argv = sys.argv, ["build.py", "/nonexistent"]  # build.py reads its OUT from argv; run_name keeps main() from running
build = runpy.run_path(os.path.join(data, "build.py"), run_name="gloss_domains")
sys.argv = argv

pos_of = collections.defaultdict(set)  # (lemma as written in text_b, lower case, definition) -> parts of speech
for pos in build["POS"]:
    for _, lemmas, gloss in build["synsets"](pos):
        d = build["definition"](gloss)
        for lemma in lemmas:
            pos_of[(lemma.replace("_", " ").lower(), d)].add(pos)

os.makedirs(out, exist_ok=True)
for split in ("train", "dev", "test"):
    with open(os.path.join(data, split + ".tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["text_a", "text_b", "label"]:
            sys.exit(f"{split}.tsv: header {header}, expected text_a, text_b, label")
        rows = [line.rstrip("\n").split("\t") for line in f]
    found = []
    by_example = collections.defaultdict(set)  # (text_a, lemma) -> parts of speech seen in its pairs
    for a, b, _ in rows:
        lemma, _, d = b.partition(": ")
        p = pos_of.get((lemma.lower(), d), set())
        found.append(p)
        if len(p) == 1:
            by_example[(a, lemma.lower())] |= p
    domains, by_pair = [], 0
    for (a, b, _), p in zip(rows, found):
        if len(p) != 1:
            other = by_example.get((a, b.partition(": ")[0].lower()), set())
            other = other & p if p else other
            if len(other) != 1:
                sys.exit(f"{split}.tsv: no single part of speech for the pair ({a!r}, {b!r}): {sorted(p)}, its example's other pair {sorted(other)}")
            p, by_pair = other, by_pair + 1
        domains.append(next(iter(p)))
    tmp = os.path.join(out, split + ".tsv.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("text_a\ttext_b\tlabel\tdomain\n")
        for (a, b, y), d in zip(rows, domains):
            f.write(f"{a}\t{b}\t{y}\t{d}\n")
    os.replace(tmp, os.path.join(out, split + ".tsv"))
    counts = collections.Counter(domains)
    print(f"{split}: {len(rows)} pairs, " + ", ".join(f"{k} {counts[k]}" for k in build["POS"]) + f" ({by_pair} decided by the example's other pair)")
