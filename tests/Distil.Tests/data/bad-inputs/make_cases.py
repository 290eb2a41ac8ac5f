#!/usr/bin/env python3
"""Writes the bad-input corpus: one folder per case, the files that replace parts of a valid run, and cases.json.

Each case names the command to run (placeholders: {model} = a valid tiny encoder folder with the case's files laid over
it, {train}/{dev} = valid tiny data unless the case supplies its own, {out} = a fresh run folder, {case} = the case
folder), the exit code and a piece of the one-line message. BadInputCorpusTests runs them all. The files are checked
in; rerun this script only to change the corpus (python3, standard library only).
"""
import json, os, shutil, struct

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []

def case(name, args, exit_code, message, files=None, why=""):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for rel, content in (files or {}).items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode("utf-8"))
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(f"# {name}\n\n{why}.\n\n`distil {' '.join(args)}` must exit {exit_code} with one error line containing `{message}`.\n")
    cases.append({"name": name, "why": why, "args": args, "exit": exit_code, "message": message})

def st(header, data=b"", length=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(h) if length is None else length) + h + data

FT = ["finetune", "--model", "{model}", "--train", "{train}", "--out", "{out}", "--max-steps", "1", "--max-seq-len", "16", "--threads", "1"]
BAD_INPUT, NOT_FOUND, USAGE = 4, 3, 2
W = "embeddings.word_embeddings.weight"

# --- safetensors ------------------------------------------------------------------------------------------------
case("safetensors-truncated-length", FT, BAD_INPUT, "model.safetensors", {"model/model.safetensors": b"\x10\x00\x00"},
     "3 bytes: shorter than the 8-byte header length")
case("safetensors-huge-header-length", FT, BAD_INPUT, "model.safetensors", {"model/model.safetensors": st({}, length=1 << 40)},
     "header length 1 TiB: must be refused before allocating")
case("safetensors-header-past-end", FT, BAD_INPUT, "model.safetensors", {"model/model.safetensors": st(b'{"a":', length=4096)},
     "header length larger than the file")
case("safetensors-not-json", FT, BAD_INPUT, "model.safetensors", {"model/model.safetensors": st(b"\x00\x01garbage")},
     "header bytes are not JSON")
case("safetensors-non-utf8-key", FT, BAD_INPUT, "model.safetensors",
     {"model/model.safetensors": st(b'{"\xff\xfe": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 4)},
     "a key that is not UTF-8")
case("safetensors-offsets-past-end", FT, BAD_INPUT, W,
     {"model/model.safetensors": st({W: {"dtype": "F32", "shape": [22, 16], "data_offsets": [0, 1408]}}, b"\0" * 64)},
     "data_offsets point past the end of the file")
case("safetensors-overlapping", FT, BAD_INPUT, "overlap",
     {"model/model.safetensors": st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                     "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24)},
     "two tensors share bytes")
case("safetensors-shape-bytes-mismatch", FT, BAD_INPUT, W,
     {"model/model.safetensors": st({W: {"dtype": "F32", "shape": [22, 16], "data_offsets": [0, 64]}}, b"\0" * 64)},
     "shape x dtype size != byte range")
case("safetensors-negative-shape", FT, BAD_INPUT, W,
     {"model/model.safetensors": st({W: {"dtype": "F32", "shape": [-1, 16], "data_offsets": [0, 64]}}, b"\0" * 64)},
     "negative dimension")
case("safetensors-unknown-dtype", FT, BAD_INPUT, "F8_E4M3",
     {"model/model.safetensors": st({W: {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}, b"\0" * 4)},
     "a dtype we do not read")
case("safetensors-wrong-shape", FT, BAD_INPUT, W,
     {"model/model.safetensors": st({W: {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}, b"\0" * 64)},
     "a valid file whose tensor does not fit the config")

# --- pytorch_model.bin and shards (a folder without model.safetensors, under {case}/checkpoint) -----------------------
import io, pickle, zipfile
TINY = {"model_type": "bert", "vocab_size": 22, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32, "max_position_embeddings": 64}
VOCAB = "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "good", "great", "fine", "love", "bad", "awful",
                   "poor", "hate", "the", "movie", "phone", "food", "was", "is", "a"]) + "\n"
FT_CKPT = [a.replace("{model}", "{case}/checkpoint") for a in FT]

def torch_zip(pkl):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")
    return b.getvalue()

class _System:  # pickles as GLOBAL posix.system + REDUCE; only written here, never loaded
    def __reduce__(self):
        return (os.system, ("touch distil-pickle-payload-ran",))

def ckpt(files):
    return {"checkpoint/config.json": json.dumps(TINY), "checkpoint/vocab.txt": VOCAB, **{"checkpoint/" + k: v for k, v in files.items()}}

case("pytorch-bin-code-running-pickle", FT_CKPT, BAD_INPUT, "posix.system",
     ckpt({"pytorch_model.bin": torch_zip(pickle.dumps({W: _System()}, protocol=2))}), "a pickle that would call os.system: refused, not run")
case("pytorch-bin-truncated-zip", FT_CKPT, BAD_INPUT, "truncated",
     ckpt({"pytorch_model.bin": torch_zip(pickle.dumps({}, protocol=2))[:60]}), "the first 60 bytes of a torch.save zip")
case("shard-index-missing-file", FT_CKPT, NOT_FOUND, "model-00002-of-00002.safetensors",
     ckpt({"model.safetensors.index.json": json.dumps({"metadata": {}, "weight_map": {W: "model-00002-of-00002.safetensors"}})}),
     "a shard index naming a file that is not there")

# --- config.json ------------------------------------------------------------------------------------------------
case("config-not-json", FT, BAD_INPUT, "config.json", {"model/config.json": "{ hidden_size: 16,"}, "truncated JSON")
case("config-wrong-type", FT, BAD_INPUT, "hidden_size",
     {"model/config.json": json.dumps({"model_type": "bert", "vocab_size": 22, "hidden_size": "sixteen", "num_hidden_layers": 1,
                                       "num_attention_heads": 2, "intermediate_size": 32})}, "a string where a number belongs")
case("config-heads-do-not-divide", FT, BAD_INPUT, "num_attention_heads",
     {"model/config.json": json.dumps({"model_type": "bert", "vocab_size": 22, "hidden_size": 16, "num_hidden_layers": 1,
                                       "num_attention_heads": 3, "intermediate_size": 32})}, "16 is not a multiple of 3")
case("config-missing-vocab-size", FT, BAD_INPUT, W,
     {"model/config.json": json.dumps({"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                                       "intermediate_size": 32, "max_position_embeddings": 64})}, "vocab_size missing: HF's default 30522 does not fit the weights")
case("config-zero-vocab-size", FT, BAD_INPUT, "vocab_size",
     {"model/config.json": json.dumps({"model_type": "bert", "vocab_size": 0, "hidden_size": 16, "num_hidden_layers": 1,
                                       "num_attention_heads": 2, "intermediate_size": 32})}, "vocab_size 0")
case("config-is-an-array", FT, BAD_INPUT, "config.json", {"model/config.json": "[1, 2, 3]"}, "JSON, but not an object")

case("tokenizer-json-unknown-model", FT, BAD_INPUT, "supported: WordPiece, BPE, Unigram",
     {"model/tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}})},
     "tokenizer.json of a model type we do not implement: refused by name, not tokenised differently from transformers")
# --- vocab.txt --------------------------------------------------------------------------------------------------
base_vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "good", "great", "fine", "love", "bad", "awful", "poor",
              "hate", "the", "movie", "phone", "food", "was", "is", "a"]
for token in ["[CLS]", "[SEP]", "[UNK]"]:
    vocab = [t if t != token else f"unused{base_vocab.index(t)}" for t in base_vocab]
    case(f"vocab-missing-{token.strip('[]').lower()}", FT, BAD_INPUT, token, {"model/vocab.txt": "\n".join(vocab) + "\n"},
         f"vocab.txt without {token}")
case("vocab-empty", FT, BAD_INPUT, "vocab.txt", {"model/vocab.txt": ""}, "empty vocabulary")
case("vocab-larger-than-model", FT, BAD_INPUT, "vocab_size",
     {"model/vocab.txt": "\n".join(base_vocab + [f"extra{i}" for i in range(10)]) + "\n"},
     "ids the embedding table cannot hold")

# --- ONNX -------------------------------------------------------------------------------------------------------
IMPORT = ["import-onnx", "--onnx", "{case}/model.onnx", "--vocab", "{case}/vocab.txt", "--out", "{out}"]
vocab_file = "\n".join(base_vocab) + "\n"
case("onnx-truncated", IMPORT, BAD_INPUT, "model.onnx", {"model.onnx": b"\x08\x07\x12\x0bdistil-test\x3a\xff\xff\xff\x0f", "vocab.txt": vocab_file},
     "a protobuf cut off inside the graph")
case("onnx-garbage", IMPORT, BAD_INPUT, "model.onnx", {"model.onnx": bytes(range(256)) * 4, "vocab.txt": vocab_file},
     "not a protobuf at all")
case("onnx-empty", IMPORT, BAD_INPUT, "model.onnx", {"model.onnx": b"", "vocab.txt": vocab_file}, "empty file")

# --- data files -------------------------------------------------------------------------------------------------
good_rows = ["the movie was good .\t1", "the phone was bad .\t0", "the food is great .\t1", "the movie was awful .\t0"] * 2
def tsv(rows): return "text\tlabel\n" + "\n".join(rows) + "\n"
FT_DATA = ["finetune", "--model", "{model}", "--train", "{case}/train.tsv", "--out", "{out}", "--max-steps", "1", "--max-seq-len", "16", "--threads", "1"]
case("tsv-wrong-column-count", FT_DATA, BAD_INPUT, "train.tsv:4", {"train.tsv": tsv(good_rows[:2] + ["the movie\twas\tgood\t1"] + good_rows[2:])},
     "a row with 4 columns in a 2-column file")
case("tsv-empty-file", FT_DATA, BAD_INPUT, "train.tsv", {"train.tsv": ""}, "no header, no rows")
case("tsv-header-only", FT_DATA, BAD_INPUT, "train.tsv", {"train.tsv": "text\tlabel\n"}, "no examples")
case("tsv-invalid-utf8", FT_DATA, BAD_INPUT, "train.tsv:3", {"train.tsv": tsv(good_rows[:1]).encode() + b"the movie was \xff\xfe good .\t1\n"},
     "bytes that are not UTF-8")
case("tsv-missing-label-column", FT_DATA, BAD_INPUT, "label", {"train.tsv": "text\tscore\n" + "\n".join(good_rows) + "\n"},
     "no column named label")
case("tsv-empty-label", FT_DATA, BAD_INPUT, "train.tsv:3", {"train.tsv": tsv(good_rows[:1] + ["the movie was good .\t"] + good_rows[1:])},
     "a row with an empty label")
FT_DEV = FT_DATA[:5] + ["--dev", "{case}/dev.tsv"] + FT_DATA[5:]
case("labels-only-in-dev", FT_DEV, BAD_INPUT, "dev.tsv", {"train.tsv": tsv(good_rows), "dev.tsv": tsv(["the movie was fine .\tneutral"])},
     "dev has a label the training data never shows")
FT_CSV = ["finetune", "--model", "{model}", "--train", "{case}/train.csv", "--out", "{out}", "--max-steps", "1", "--max-seq-len", "16", "--threads", "1"]
case("csv-unterminated-quote", FT_CSV, BAD_INPUT, "train.csv", {"train.csv": 'text,label\n"the movie was good .,1\n"bad",0\n'},
     "a quote that never closes")
FT_JSONL = ["finetune", "--model", "{model}", "--train", "{case}/train.jsonl", "--out", "{out}", "--max-steps", "1", "--max-seq-len", "16", "--threads", "1"]
case("jsonl-malformed-row", FT_JSONL, BAD_INPUT, "train.jsonl:2",
     {"train.jsonl": '{"text": "the movie was good .", "label": "1"}\n{"text": "the movie was bad .", "label": \n'}, "a row cut off")
case("jsonl-not-an-object", FT_JSONL, BAD_INPUT, "train.jsonl:1", {"train.jsonl": '["the movie was good .", "1"]\n'}, "an array row")

# --- run folders ------------------------------------------------------------------------------------------------
RESUME = ["finetune", "--out", "{case}/run", "--resume"]
case("run-folder-other-version", RESUME, USAGE, "0.0.1",
     {"run/config.resolved.json": json.dumps({"command": "finetune", "distil_version": "0.0.1", "config": {}})},
     "a run folder written by another version of distil")
case("run-folder-corrupt-config", RESUME, BAD_INPUT, "config.resolved.json", {"run/config.resolved.json": '{"command": "finetune", "distil'},
     "a run folder whose resolved config was cut off")
case("run-folder-other-command", RESUME, USAGE, "distil distill",
     {"run/config.resolved.json": json.dumps({"command": "distill", "distil_version": "0.1.0", "config": {}})},
     "resuming a distill run with finetune")

# --- missing things ---------------------------------------------------------------------------------------------
case("model-folder-missing", ["finetune", "--model", "{case}/nope", "--train", "{train}", "--out", "{out}"], NOT_FOUND, "nope", {}, "no such folder")
case("train-file-missing", ["finetune", "--model", "{model}", "--train", "{case}/nope.tsv", "--out", "{out}"], NOT_FOUND, "nope.tsv", {}, "no such file")

with open(os.path.join(HERE, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
print(f"{len(cases)} cases")
