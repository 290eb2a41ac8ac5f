"""Independent reference: sentencepiece's own encoding (Debian's python3-sentencepiece) of each line of a UTF-8 file.

Usage: spm_encode.py MODEL TEXTS  -> one line of space-separated model ids per input line (tab-free, \\n-separated
input; a literal "\\n" / "\\t" escape in the file stands for that character so odd whitespace can be tested).
"""
import sys
import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f.read().split("\n"):
        text = line.replace("\\t", "\t").replace("\\n", "\n")
        print(" ".join(str(i) for i in sp.encode(text)))
