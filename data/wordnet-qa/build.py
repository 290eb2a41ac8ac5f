"""Builds data/wordnet-qa/{train,dev,test}.json (SQuAD v1.1 format) from Debian's wordnet-base (WordNet 3.0).

Each question is one synset's definition; its context is one usage example of that synset in which a lemma of the
synset occurs (as written, or with a regular -s/-es/-ed/-d/-ing ending), shuffled together with usage examples of
other synsets of the same split; the answer is that occurrence. Lemmas are split by a hash of the lower-cased answer
lemma, so no answer lemma is in two splits. Deterministic: same WordNet files, same output.
Usage: python3 data/wordnet-qa/build.py [WORDNET_DIR] (default /usr/share/wordnet)."""
import hashlib
import json
import os
import random
import re
import sys

WORDNET = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet"
OUT = os.path.dirname(os.path.abspath(__file__))
SIZES = {"train": 3000, "dev": 300, "test": 300}
DISTRACTORS = 3  # other synsets' examples per context
ENDINGS = ("", "s", "es", "ed", "d", "ing")


def synsets(pos):
    """(offset, lemmas, definition, examples) of every synset in data.<pos>."""
    with open(os.path.join(WORDNET, "data." + pos), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue  # the licence header
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            count = int(fields[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ") for i in range(count)]
            examples = re.findall(r'"([^"]+)"', gloss)
            definition = gloss.split('"')[0].strip().rstrip(";").strip()
            yield fields[0], lemmas, definition, [e.strip() for e in examples if e.strip()]


def occurrence(lemma, sentence):
    """(start, text) of the first whole-word occurrence of the lemma or a regular inflection, case-insensitive."""
    for ending in ENDINGS:
        m = re.search(r"(?<![\w-])" + re.escape(lemma + ending) + r"(?![\w-])", sentence, re.IGNORECASE)
        if m:
            return m.start(), m.group(0)
    return None


def split_of(lemma):
    h = int(hashlib.md5(lemma.lower().encode("utf-8")).hexdigest(), 16) % 100
    return "train" if h < 80 else "dev" if h < 90 else "test"


def main():
    items = []  # (split, id, lemma, definition, example, start, text)
    sentences = []  # every usage example: (split of its synset's first lemma, sentence)
    for pos in ("noun", "verb", "adj", "adv"):
        for offset, lemmas, definition, examples in synsets(pos):
            for e in examples:
                sentences.append((split_of(lemmas[0]), e))
            if not definition:
                continue
            found = None
            for e in examples:
                for lemma in lemmas:
                    hit = occurrence(lemma, e)
                    if hit and len(lemma) > 2:
                        found = (lemma, e, *hit)
                        break
                if found:
                    break
            if not found:
                continue
            lemma, example, start, text = found
            if occurrence(lemma, definition):
                continue  # the definition names the word: a string match would answer it
            if len(re.findall(r"(?<![\w-])" + re.escape(text) + r"(?![\w-])", example, re.IGNORECASE)) > 1:
                continue  # the word twice in its own example: the span would not be unique
            items.append((split_of(lemma), f"{pos[0]}.{offset}", lemma, definition, example, start, text))

    rng = random.Random(19)
    pools = {s: [x for sp, x in sentences if sp == s] for s in SIZES}
    for split, size in SIZES.items():
        chosen = [x for x in items if x[0] == split]
        chosen.sort(key=lambda x: hashlib.md5(x[1].encode()).hexdigest())
        data, n = [], 0
        for _, qid, lemma, definition, example, start, text in chosen:
            if n == size:
                break
            others = []
            while len(others) < DISTRACTORS:
                s = rng.choice(pools[split])
                # No distractor may hold the answer word (the span must be unique) or repeat the example.
                if s != example and s not in others and occurrence(lemma, s) is None and text.lower() not in s.lower():
                    others.append(s)
            parts = others + [example]
            rng.shuffle(parts)
            context, at = "", 0
            for p in parts:
                if p is example:
                    at = len(context) + (2 if context else 0)
                context = p if not context else context + ". " + p
            context += "."
            assert context[at + start: at + start + len(text)] == text
            # "title" is the answer lemma: metadata for the split check, not model input.
            data.append({"title": lemma, "paragraphs": [{"context": context, "qas": [
                {"id": qid, "question": definition, "answers": [{"text": text, "answer_start": at + start}]}]}]})
            n += 1
        with open(os.path.join(OUT, split + ".json"), "w", encoding="utf-8") as f:
            json.dump({"version": "1.1", "data": data}, f, ensure_ascii=False, indent=0)
            f.write("\n")
        print(split, n, "questions")


if __name__ == "__main__":
    main()
