"""Trains the small SentencePiece models that tests/Distil.Tests/data/tokenizers/ holds (committed fixtures).

Run from the repository root with Debian's python3-sentencepiece: /usr/bin/python3 tests/reference/make_spm_fixtures.py
Text: data/uci-sentiment/train.tsv and data/wordnet-sentences/sentences.txt. Vocab 500, default nmt_nfkc normaliser.
  unigram.model: unigram, sentencepiece's default ids (<unk>=0 <s>=1 </s>=2), as the base of XLM-R's fairseq layout
  bpe.model:     bpe, same ids
  deberta.model: unigram with DeBERTa-v3's specials: [PAD]=0 [CLS]=1 [SEP]=2 [UNK]=3
"""
import io
import os
import sentencepiece as spm

out = os.path.join("tests", "Distil.Tests", "data", "tokenizers")
lines = []
with open(os.path.join("data", "uci-sentiment", "train.tsv"), encoding="utf-8") as f:
    next(f)
    lines += [l.split("\t")[0] for l in f]
with open(os.path.join("data", "wordnet-sentences", "sentences.txt"), encoding="utf-8") as f:
    lines += [l.rstrip("\n") for l in f][:20000]
text = "\n".join(lines)

def train(name, **kw):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text.split("\n")), model_writer=model, vocab_size=500,
                                   character_coverage=1.0, seed_sentencepiece_size=20000, num_threads=1, **kw)
    with open(os.path.join(out, name), "wb") as f:
        f.write(model.getvalue())

train("unigram.model", model_type="unigram")
train("bpe.model", model_type="bpe")
train("deberta.model", model_type="unigram", pad_id=0, bos_id=1, eos_id=2, unk_id=3,
      pad_piece="[PAD]", bos_piece="[CLS]", eos_piece="[SEP]", unk_piece="[UNK]")
