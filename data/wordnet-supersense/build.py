#!/usr/bin/env python3
"""Builds data/wordnet-supersense/ from Debian's wordnet-base (Princeton WordNet 3.0). Deterministic: the same
WordNet files give byte-identical outputs (tests/Distil.Tests/WordNetSupersenseDataTests.cs checks the shipped files).

Usage: python3 data/wordnet-supersense/build.py [WORDNET_DIR (default /usr/share/wordnet)] [OUT_DIR (default: this folder)]

For every noun and verb synset, each of its example sentences (the quoted parts of the gloss) is tokenised and the
synset's own word (one of its lemmas, possibly inflected: WordNet's exception lists plus regular -s/-es/-ed/-ing
forms) is looked up in it. A sentence where exactly one lemma of the synset occurs exactly once is kept, with that
word tagged B-/I-<lexicographer file> (26 noun.* and 15 verb.* supersenses): a gold tag, the sense the example
illustrates. So that the tags follow from the text, every other single word that WordNet knows as a noun only or as a
verb only (its possible base forms: the token, the exception lists, regular -s/-es/-ies/-ed/-ing endings; never an
adjective or adverb) gets the supersense of its most frequent sense (WordNet's first sense, ordered by SemCor counts):
silver tags, the "most frequent sense" reading that supersense taggers are measured against. Every other token is O.
Lemmas are split by an MD5 bucket (no lemma in two splits); a sentence text is used once.
"""
import hashlib, json, math, os, re, sys

LEXNAMES = ("adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body noun.cognition "
            "noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive noun.object noun.person "
            "noun.phenomenon noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
            "noun.substance noun.time verb.body verb.change verb.cognition verb.communication verb.competition "
            "verb.consumption verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession "
            "verb.social verb.stative verb.weather adj.ppl").split()
CAPS = {"train": 4000, "dev": 500, "test": 500}
TOKEN = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")


def md5(s):
    return int(hashlib.md5(s.encode("utf-8")).hexdigest(), 16)


def split_of(lemma):
    b = md5(lemma) % 20
    return "test" if b == 0 else "dev" if b == 1 else "train"


def records(wn, name):
    """The entries of a WordNet database file, split at spaces (the licence header's lines start with two spaces)."""
    with open(os.path.join(wn, name), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "): yield line.split()


def read_exceptions(wn, name):
    """base -> inflected forms, from an exception list (noun.exc, verb.exc: 'form base...')."""
    base_to_forms = {}
    for parts in records(wn, name):
        for base in parts[1:]:
            base_to_forms.setdefault(base, set()).add(parts[0])
    return base_to_forms


def inflections(word, pos, exc):
    forms = {word} | exc.get(word, set())
    if pos == "n":
        forms |= {word + "s", word + "es"}
        if word.endswith("y"): forms.add(word[:-1] + "ies")
    else:
        forms |= {word + "s", word + "es", word + "ed", word + "d", word + "ing"}
        if word.endswith("e"): forms.add(word[:-1] + "ing")
        if word.endswith("y"): forms |= {word[:-1] + "ies", word[:-1] + "ied"}
        if len(word) > 2 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou":
            forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}
    return forms


def variants(lemma, pos, exc):
    """Token sequences (lower-case) that spell the lemma: nouns inflect their last word, verbs their first."""
    words = lemma.lower().split("_")
    i = len(words) - 1 if pos == "n" else 0
    return [tuple(words[:i] + [f] + words[i + 1:]) for f in sorted(inflections(words[i], pos, exc))]


def find(tokens, seqs):
    low = [t.lower() for t in tokens]
    hits = []
    for seq in seqs:
        for s in range(len(low) - len(seq) + 1):
            if tuple(low[s:s + len(seq)]) == seq: hits.append((s, len(seq)))
    return hits


def sense_counts(wn):
    counts = {}
    for pos in ("noun", "verb", "adj", "adv"):
        for p in records(wn, "index." + pos):
            counts[p[0]] = counts.get(p[0], 0) + int(p[2])
    return counts


def lexnames_of(wn):
    """lemma -> the set of lexicographer files of all its noun and verb senses."""
    out = {}
    for pos in ("noun", "verb"):
        for p in records(wn, "data." + pos):
            lex, n = LEXNAMES[int(p[1])], int(p[3], 16)
            for k in range(n):
                out.setdefault(p[4 + 2 * k].lower(), set()).add(lex)
    return out


def first_senses(wn):
    """(pos, lemma) -> lexicographer file of the lemma's first (most frequent) sense, pos in noun, verb, adj, adv."""
    lex_of = {(pos, p[0]): LEXNAMES[int(p[1])] for pos in ("noun", "verb") for p in records(wn, "data." + pos)}
    out = {}
    for pos in ("noun", "verb", "adj", "adv"):
        for p in records(wn, "index." + pos):
            first_offset = p[4 + int(p[3]) + 2]  # after lemma pos synset_cnt p_cnt, the p_cnt pointers, sense_cnt tagsense_cnt
            out[(pos, p[0])] = lex_of.get((pos, first_offset))
    return out


def read_surface_to_bases(wn):
    """inflected form -> bases, from both exception lists (the reverse of read_exceptions)."""
    out = {}
    for name in ("noun.exc", "verb.exc"):
        for parts in records(wn, name):
            out.setdefault(parts[0], set()).update(parts[1:])
    return out


SUFFIXES = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
            ("es", "e"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""))


def bases(token, surface_to_bases):
    """The token's possible base forms (as WordNet's morphy finds them for nouns and verbs)."""
    w = token.lower()
    out = {w} | surface_to_bases.get(w, set())
    for end, repl in SUFFIXES:
        if w.endswith(end) and len(w) > len(end) + 1: out.add(w[:-len(end)] + repl)
    for end in ("ed", "ing"):  # doubled final consonant: stopped -> stop
        if w.endswith(end) and len(w) > len(end) + 2 and w[-len(end) - 1] == w[-len(end) - 2]: out.add(w[:-len(end) - 1])
    return out


# Closed-class words: never tagged (their stripped forms can be WordNet nouns: his -> hi, was -> wa, us -> u).
FUNCTION_WORDS = set("""a an the this that these those his her hers its our ours their theirs my mine your yours he she it
we they i you me him us them who whom whose which what where when why how there here is was were are am be been being do
does did has have had having will would shall should can could may might must not no nor and or but if then than so as at
by for from in into of on onto off out over under up down to with without about above after before below between
through during against among around across along upon within all any both each either neither few many much more most
other some such own same very too just also only even still yet ever never again once twice one two three""".split())


def silver_tag(token, surface_to_bases, first):
    """The first-sense supersense of a word WordNet knows in one part of speech (noun or verb), else None."""
    if not token.isalpha() or token.lower() in FUNCTION_WORDS: return None
    found = {(pos, b) for b in bases(token, surface_to_bases) for pos in ("noun", "verb", "adj", "adv") if (pos, b) in first}
    if len({pos for pos, _ in found}) != 1 or len(found) != 1: return None
    pos, b = next(iter(found))
    return first[(pos, b)] if pos in ("noun", "verb") else None


def main():
    wn = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    rows, seen = [], set()
    first, surface_to_bases = first_senses(wn), read_surface_to_bases(wn)
    for pos, name in (("n", "noun"), ("v", "verb")):
        exc = read_exceptions(wn, name + ".exc")
        with open(os.path.join(wn, "data." + name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line: continue
                head, gloss = line.split("|", 1)
                p = head.split(" ")
                lex, n = LEXNAMES[int(p[1])], int(p[3], 16)
                lemmas = [re.sub(r"\(.*\)$", "", p[4 + 2 * k]) for k in range(n)]
                for example in re.findall(r'"([^"]+)"', gloss):
                    tokens = TOKEN.findall(example)
                    key = " ".join(tokens).lower()
                    if len(tokens) < 3 or len(tokens) > 60 or key in seen: continue
                    found = [(l, h) for l in lemmas for h in find(tokens, variants(l, pos, exc))]
                    if len({l.lower() for l, _ in found}) != 1 or len({h for _, h in found}) != 1: continue
                    lemma, (start, length) = found[0][0].lower(), found[0][1]
                    seen.add(key)
                    tags = ["O"] * len(tokens)
                    tags[start] = "B-" + lex
                    for i in range(start + 1, start + length): tags[i] = "I-" + lex
                    for i, t in enumerate(tokens):
                        if tags[i] == "O" and (silver := silver_tag(t, surface_to_bases, first)): tags[i] = "B-" + silver
                    rows.append((split_of(lemma), lemma, tokens, tags, start, length))
    counts, lexes = sense_counts(wn), lexnames_of(wn)
    for split, cap in CAPS.items():
        chosen = sorted((r for r in rows if r[0] == split), key=lambda r: md5(" ".join(r[2])))[:cap]
        with open(os.path.join(out_dir, split + ".conll"), "w", encoding="utf-8", newline="\n") as f:
            for r in chosen:
                f.write("".join(f"{t}\t{g}\n" for t, g in zip(r[2], r[3])) + "\n")
        # Sentence-level sets over the same sentences: the word as text, the sentence as text_pair.
        with open(os.path.join(out_dir, split + ".multilabel.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            for _, lemma, tokens, tags, s, n in chosen:
                f.write(json.dumps({"word": " ".join(tokens[s:s + n]), "sentence": " ".join(tokens),
                                    "pos": tags[s][2:6],
                                    "labels": sorted(lexes[lemma])}, ensure_ascii=False) + "\n")
        with open(os.path.join(out_dir, split + ".polysemy.tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("word\tsentence\tpos\tlabel\n")
            for _, lemma, tokens, tags, s, n in chosen:
                f.write(f"{' '.join(tokens[s:s + n])}\t{' '.join(tokens)}\t{tags[s][2:6]}\t{math.log2(counts[lemma]):.4f}\n")
        print(f"{split}: {len(chosen)} of {sum(1 for r in rows if r[0] == split)} sentences")


if __name__ == "__main__":
    main()
