#!/usr/bin/env python3
"""Rebuilds the wordnet-gloss-pairs construction from Debian's wordnet-base (Princeton WordNet 3.0) into OUT_DIR.

Not byte-identical to the shipped train/dev/test.tsv (see README.md, "Rebuilding"): the shipped files come from an
earlier script that is not in this repository; this one follows its description and reproduces 29,662 of its 29,699
positive pairs, but its random draws (the negative sense, the split, the row order) are not the same. It never
writes into this folder; it prints how its output compares with the shipped files.

Usage: python3 data/wordnet-gloss-pairs/build.py OUT_DIR [WORDNET_DIR (default /usr/share/wordnet)]

Every usage example (a quoted string of at least 3 words) of a synset's gloss is read; the synset lemma that occurs
in it (as written, with a regular inflection, or an exception-list form; nouns inflect their last word, verbs their
first; longest lemma first) is the target. The definition is the gloss without its quoted examples and without
attributions ("- Disraeli"), its ';'-separated parts stripped and the empty ones dropped. An example whose lemma
has another sense (another synset of the same part of speech with another definition) gives two pairs:
(example, "lemma: this synset's definition", 1) and (example, "lemma: a randomly chosen other sense's definition", 0).
Split by (part of speech, lemma), 70/10/20 of the pairs, random.Random(20240601); rows shuffled within a split.
"""
import collections
import os
import random
import re
import sys

if len(sys.argv) < 2:
    sys.exit(__doc__)
OUT = sys.argv[1]
WORDNET = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/wordnet"
HERE = os.path.dirname(os.path.abspath(__file__))
POS = ("noun", "verb", "adj", "adv")


def synsets(pos):
    """(offset, lemmas, gloss) of every synset in data.<pos> (the licence header's lines start with two spaces)."""
    with open(os.path.join(WORDNET, "data." + pos), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            count = int(fields[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]) for i in range(count)]  # adjective markers like (a) dropped
            yield fields[0], lemmas, gloss.strip()


def exceptions(pos):
    """base form -> inflected forms from <pos>.exc ('form base ...' per line)."""
    forms = collections.defaultdict(set)
    with open(os.path.join(WORDNET, pos + ".exc"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            for base in parts[1:]:
                forms[base].add(parts[0])
    return forms


EXC = {pos: exceptions(pos) for pos in POS}


def inflections(word):
    forms = [word, word + "s", word + "es", word + "ed", word + "d", word + "ing", word + "er", word + "est"]
    if word.endswith("e"):
        forms.append(word[:-1] + "ing")
    if word.endswith("y"):
        forms += [word[:-1] + "ies", word[:-1] + "ied"]
    if len(word) > 2 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou":
        forms += [word + word[-1] + "ed", word + word[-1] + "ing"]
    return forms


def spellings(lemma, pos):
    """How the lemma may be written in an example (lower case): nouns inflect their last word, the rest their first."""
    words = lemma.lower().split("_")
    i = len(words) - 1 if pos == "noun" else 0
    forms = [" ".join(words[:i] + [f] + words[i + 1:]) for f in inflections(words[i])]
    return forms + sorted(x.replace("_", " ") for x in EXC[pos].get(lemma.lower(), ()))


def definition(gloss):
    d = re.sub(r'"[^"]*"', "", gloss)
    d = re.sub(r"\s+-+\s*[A-Z][^;]*", "", d)  # attributions: "..." - Disraeli
    return "; ".join(p.strip() for p in d.split(";") if p.strip())


def target(lemmas, pos, example):
    for lemma in sorted(lemmas, key=lambda x: -len(x)):
        for form in spellings(lemma, pos):
            if re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", example, re.IGNORECASE):
                return lemma
    return None


def main():
    entries = [(pos, off, lemmas, gloss, definition(gloss)) for pos in POS for off, lemmas, gloss in synsets(pos)]
    senses = collections.defaultdict(list)  # (pos, lemma) -> [(offset, definition)]
    for pos, off, lemmas, _, d in entries:
        for lemma in lemmas:
            senses[(pos, lemma.lower())].append((off, d))
    rng = random.Random(20240601)
    examples = found = 0
    groups = collections.defaultdict(list)  # (pos, lemma) -> its rows
    for pos, off, lemmas, gloss, d in entries:
        for example in (q.strip() for q in re.findall(r'"([^"]*)"', gloss)):
            if len(example.split()) < 3:
                continue
            examples += 1
            lemma = target(lemmas, pos, example)
            if lemma is None:
                continue
            found += 1
            others = [od for o, od in senses[(pos, lemma.lower())] if o != off and od != d]
            if not others:
                continue
            name = lemma.replace("_", " ")
            groups[(pos, lemma.lower())] += [(example, f"{name}: {d}", "1"), (example, f"{name}: {rng.choice(others)}", "0")]
    keys = sorted(groups)
    rng.shuffle(keys)
    total = sum(len(v) for v in groups.values())
    splits, done = {"train": [], "dev": [], "test": []}, 0
    for key in keys:
        split = "train" if done < 0.7 * total else "dev" if done < 0.8 * total else "test"
        splits[split] += groups[key]
        done += len(groups[key])
    os.makedirs(OUT, exist_ok=True)
    print(f"{examples} examples, lemma found in {found}, {len(groups)} (pos, lemma) targets, {total} pairs")
    for split, rows in splits.items():
        rng.shuffle(rows)
        with open(os.path.join(OUT, split + ".tsv"), "w", encoding="utf-8") as f:
            f.write("text_a\ttext_b\tlabel\n")
            f.writelines("\t".join(r) + "\n" for r in rows)
        shipped = os.path.join(HERE, split + ".tsv")
        note = ""
        if os.path.exists(shipped):
            with open(shipped, encoding="utf-8") as f:
                ours = set(tuple(line.rstrip("\n").split("\t")) for line in f.readlines()[1:])
            note = f"; shipped {len(ours)}, of which {len(ours & set(rows))} also here"
        print(f"{split}: {len(rows)} pairs{note}")
    every = set()
    for s in splits:
        with open(os.path.join(HERE, s + ".tsv"), encoding="utf-8") as f:
            every |= set(tuple(line.rstrip("\n").split("\t")) for line in f.readlines()[1:])
    mine = set(r for rows in splits.values() for r in rows)
    for label in ("1", "0"):
        print(f"label {label}: shipped {sum(r[2] == label for r in every)}, here {sum(r[2] == label for r in mine)}, "
              f"in both (any split) {sum(r[2] == label for r in every & mine)}")


if __name__ == "__main__":
    main()
