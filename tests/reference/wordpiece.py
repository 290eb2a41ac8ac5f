"""BERT's WordPiece tokenizer as transformers' BertTokenizer (slow) behaves: BasicTokenizer (clean, CJK spacing,
lower case, accent stripping, punctuation split) then WordpieceTokenizer (greedy longest match, "##" continuations,
[UNK] for a word over 100 characters or with no match), [CLS] A [SEP] (B [SEP]) with token types 0/1, "longest_first"
truncation. Written from transformers' tokenization_bert.py semantics; nothing here comes from Distil's C#."""
import json
import os
import unicodedata


def _is_whitespace(ch):
    return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    # ASCII non-letters/digits count as punctuation even where Unicode says "symbol" ($, +, ^, `...).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class BasicTokenizer:
    def __init__(self, do_lower_case=True, never_split=(), tokenize_chinese_chars=True, strip_accents=None):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split)
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents

    def tokenize(self, text):
        text = self._clean(text)
        if self.tokenize_chinese_chars:
            text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
        # transformers normalises to NFC first, so a decomposed "e + combining accent" is one word piece.
        text = unicodedata.normalize("NFC", text)
        out = []
        for token in text.split():
            if token not in self.never_split:
                if self.do_lower_case:
                    token = token.lower()
                    if self.strip_accents is not False:
                        token = self._strip_accents(token)
                elif self.strip_accents:
                    token = self._strip_accents(token)
            out.extend(self._split_punctuation(token))
        return " ".join(out).split()

    @staticmethod
    def _clean(text):
        return "".join(" " if _is_whitespace(c) else c for c in text
                       if not (ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c)))

    @staticmethod
    def _strip_accents(text):
        return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")

    def _split_punctuation(self, token):
        if token in self.never_split:
            return [token]
        pieces, start_new = [], True
        for c in token:
            if _is_punctuation(c):
                pieces.append(c)
                start_new = True
            else:
                if start_new:
                    pieces.append("")
                start_new = False
                pieces[-1] += c
        return pieces


class WordpieceTokenizer:
    def __init__(self, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
        self.vocab, self.unk_token, self.max_chars = vocab, unk_token, max_input_chars_per_word

    def tokenize(self, text):
        out = []
        for word in text.split():
            if len(word) > self.max_chars:
                out.append(self.unk_token)
                continue
            pieces, start, bad = [], 0, False
            while start < len(word):
                end, found = len(word), None
                while start < end:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        found = piece
                        break
                    end -= 1
                if found is None:
                    bad = True
                    break
                pieces.append(found)
                start = end
            out.extend([self.unk_token] if bad else pieces)
        return out


class BertTokenizer:
    """From a model folder: vocab.txt plus the do_lower_case / strip_accents / tokenize_chinese_chars of
    tokenizer_config.json (transformers' defaults where a key or the file is missing)."""

    SPECIALS = ("[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]")

    def __init__(self, folder):
        with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
        self.vocab = {t: i for i, t in enumerate(tokens)}
        cfg = {}
        path = os.path.join(folder, "tokenizer_config.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                cfg = json.load(f)
        cls = cfg.get("tokenizer_class", "BertTokenizer")
        if cls not in ("BertTokenizer", "BertTokenizerFast"):
            raise ValueError(f"{path}: tokenizer_class {cls} is not a BERT WordPiece tokenizer")
        self.basic = BasicTokenizer(cfg.get("do_lower_case", True), self.SPECIALS,
                                    cfg.get("tokenize_chinese_chars", True), cfg.get("strip_accents"))
        self.wordpiece = WordpieceTokenizer(self.vocab)
        self.cls, self.sep, self.pad = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[PAD]"]

    def _split_specials(self, text):
        # transformers cuts added/special tokens out of the text before BasicTokenizer sees it.
        parts = [text]
        for special in self.SPECIALS:
            parts = [p for chunk in parts for p in _keep_split(chunk, special)]
        return parts

    def tokenize(self, text):
        out = []
        for part in self._split_specials(text):
            if part in self.SPECIALS and part in self.vocab:
                out.append(part)
                continue
            for word in self.basic.tokenize(part):
                out.extend(self.wordpiece.tokenize(word))
        return out

    def ids(self, text):
        unk = self.vocab["[UNK]"]
        return [self.vocab.get(t, unk) for t in self.tokenize(text)]

    def encode(self, text, pair=None, max_length=128):
        a = self.ids(text)
        b = self.ids(pair) if pair is not None else None
        budget = max_length - (3 if b is not None else 2)
        # "longest_first": drop one token at a time from the longer side (the second on a tie).
        while len(a) + (len(b) if b is not None else 0) > budget:
            if b is None or len(a) > len(b):
                a.pop()
            else:
                b.pop()
        ids = [self.cls] + a + [self.sep]
        types = [0] * len(ids)
        if b is not None:
            ids += b + [self.sep]
            types += [1] * (len(b) + 1)
        return ids, types


def _keep_split(text, token):
    if token not in text:
        return [text]
    out = []
    for i, piece in enumerate(text.split(token)):
        if i > 0:
            out.append(token)
        if piece:
            out.append(piece)
    return out
