"""Text in, logits out for a saved classifier folder, the way transformers'
AutoTokenizer + AutoModelForSequenceClassification would compute them, with the references in this folder
(bert.py, albert.py, wordpiece.py) instead of transformers itself:

- config.json without auto_map: the architecture transformers has built in (BertForSequenceClassification or
  AlbertForSequenceClassification: the tanh pooler on [CLS], then the classifier). Keys transformers does not read
  are not read here either, so a folder that only works if one of them is honoured (classifier_pooling "mean") is
  REFUSED: transformers would load it without a word and give other answers.
- config.json with auto_map: the custom code shipped in the folder (trust_remote_code=True), run for real, against a
  small stand-in for the few transformers names it imports, backed by the references here.

Usage: folder.py MODEL_DIR INPUT [--max-length 128]
INPUT holds one text per line, a tab before the second text of a pair (as `distil predict --input`). Prints
{"architecture": ..., "logits": [[...], ...]} on stdout. Exit 2: refused (the message says why); exit 3: the folder
says in config.json that it needs Distil (not a transformers architecture).
"""
import argparse
import importlib.util
import json
import os
import sys
import types

import torch
from torch import nn

import albert
import bert
import safetensors_io
from wordpiece import BertTokenizer

REFUSED, NEEDS_DISTIL = 2, 3

BERT_DEFAULTS = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1,
                     attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2,
                     layer_norm_eps=1e-12, pad_token_id=0, classifier_dropout=None)
ALBERT_DEFAULTS = dict(vocab_size=30000, embedding_size=128, hidden_size=4096, num_hidden_layers=12,
                       num_hidden_groups=1, num_attention_heads=64, intermediate_size=16384, inner_group_num=1,
                       hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                       max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                       classifier_dropout_prob=0.1, pad_token_id=0, position_embedding_type="absolute")
BUILT_IN = {"BertForSequenceClassification": ("bert", bert.BertForSequenceClassification, BERT_DEFAULTS),
            "AlbertForSequenceClassification": ("albert", albert.AlbertForSequenceClassification, ALBERT_DEFAULTS)}


class Refused(Exception):
    pass


class Config:
    """PretrainedConfig's part that the models read: every config.json key as an attribute over the defaults."""
    model_type = ""
    defaults = {}

    def __init__(self, **kwargs):
        for k, v in {**self.defaults, **kwargs}.items():
            setattr(self, k, v)
        id2label = kwargs.get("id2label")
        self.num_labels = len(id2label) if id2label else kwargs.get("num_labels", 2)


def _stand_in_transformers():
    """The names a folder's modeling file may import from transformers, backed by the references."""
    class BertConfig(Config):
        model_type, defaults = "bert", BERT_DEFAULTS

    class AlbertConfig(Config):
        model_type, defaults = "albert", ALBERT_DEFAULTS

    class PreTrainedModel(nn.Module):
        def __init__(self, config, *args, **kwargs):
            super().__init__()
            self.config = config

        def post_init(self):
            pass  # weight init: the weights are loaded next

    class BertPreTrainedModel(PreTrainedModel):
        config_class, base_model_prefix = BertConfig, "bert"

    class AlbertPreTrainedModel(PreTrainedModel):
        config_class, base_model_prefix = AlbertConfig, "albert"

    class SequenceClassifierOutput:
        def __init__(self, loss=None, logits=None, hidden_states=None, attentions=None):
            self.loss, self.logits, self.hidden_states, self.attentions = loss, logits, hidden_states, attentions

    root = types.ModuleType("transformers")
    for name, value in dict(PretrainedConfig=Config, PreTrainedModel=PreTrainedModel, BertConfig=BertConfig,
                            BertModel=bert.BertModel, BertPreTrainedModel=BertPreTrainedModel,
                            AlbertConfig=AlbertConfig, AlbertModel=albert.AlbertModel,
                            AlbertPreTrainedModel=AlbertPreTrainedModel).items():
        setattr(root, name, value)
    outputs = types.ModuleType("transformers.modeling_outputs")
    outputs.SequenceClassifierOutput = SequenceClassifierOutput
    root.modeling_outputs = outputs
    return {"transformers": root, "transformers.modeling_outputs": outputs}


def _class_ref(folder, cfg, auto):
    ref = cfg["auto_map"].get(auto)
    if not isinstance(ref, str) or "." not in ref or "--" in ref:
        raise Refused(f"{folder}/config.json: auto_map has no local {auto} entry (module.Class)")
    module, cls = ref.rsplit(".", 1)
    path = os.path.join(folder, module + ".py")
    if not os.path.exists(path):
        raise Refused(f"{folder}/config.json: auto_map names {ref}, but {path} is missing")
    return path, cls


def build_custom(folder, cfg):
    """trust_remote_code=True: AutoConfig and AutoModelForSequenceClassification from the folder's own code."""
    model_path, model_cls = _class_ref(folder, cfg, "AutoModelForSequenceClassification")
    config_path, config_cls = _class_ref(folder, cfg, "AutoConfig")
    saved = {k: sys.modules.get(k) for k in ("transformers", "transformers.modeling_outputs")}
    sys.modules.update(_stand_in_transformers())
    try:
        def load(path):
            spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        model_module = load(model_path)
        config_module = model_module if config_path == model_path else load(config_path)
        config_class, model_class = getattr(config_module, config_cls), getattr(model_module, model_cls)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    if config_class.model_type != cfg.get("model_type"):
        raise Refused(f"{folder}/config.json: model_type {cfg.get('model_type')!r} but {config_cls} declares {config_class.model_type!r}")
    if getattr(model_class, "config_class", config_class) is not config_class:
        raise Refused(f"{folder}: {model_cls}.config_class is not {config_cls} (transformers refuses to register it)")
    return f"{model_cls} (custom code: {os.path.basename(model_path)})", model_class(config_class(**cfg))


def build_built_in(folder, cfg):
    """No auto_map: the class transformers has built in, and nothing it would not read."""
    archs = cfg.get("architectures") or []
    if len(archs) != 1 or archs[0] not in BUILT_IN:
        raise Refused(f"{folder}/config.json: architectures {archs} is not a sequence classifier transformers builds "
                      f"(one of {sorted(BUILT_IN)}); AutoModelForSequenceClassification would put a random head on it")
    model_type, cls, defaults = BUILT_IN[archs[0]]
    if cfg.get("model_type") != model_type:
        raise Refused(f"{folder}/config.json: model_type {cfg.get('model_type')!r} does not go with {archs[0]}")
    pooling = cfg.get("classifier_pooling")
    if pooling not in (None, "pooler"):
        raise Refused(f"{folder}/config.json: classifier_pooling {pooling!r} without auto_map: transformers' {archs[0]} "
                      "ignores that key and classifies the tanh pooler of [CLS], so in transformers this folder gives "
                      "other answers than the model that was trained")
    c = Config(**{**defaults, **cfg})
    return archs[0], cls(c)


def load_model(folder):
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("transformers_compatible") is False:
        raise SystemExit(_fail(NEEDS_DISTIL, f"{folder}/config.json says it needs Distil: {cfg.get('requires', '')}"))
    name, model = build_custom(folder, cfg) if "auto_map" in cfg else build_built_in(folder, cfg)
    tensors = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    expected = model.state_dict()
    # transformers initialises missing weights at random (a warning, no error): answers from those are noise.
    missing = sorted(k for k in expected if k not in tensors)
    if missing:
        raise Refused(f"{folder}/model.safetensors lacks {len(missing)} weights transformers would initialise at random: {missing[:6]}")
    for k, v in expected.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise Refused(f"{folder}/model.safetensors: {k} has shape {list(tensors[k].shape)}, the config gives {list(v.shape)}")
    unexpected = sorted(k for k in tensors if k not in expected)
    if unexpected:
        print(f"unused weights (transformers warns and drops them): {unexpected[:6]}", file=sys.stderr)
    model.load_state_dict({k: tensors[k].float() for k in expected}, strict=True)
    return name, model.eval()


def _fail(code, message):
    print(message, file=sys.stderr)
    return code


def logits_of(folder, inputs, max_length=128, batch_size=16):
    name, model = load_model(folder)
    tokenizer = BertTokenizer(folder)
    encoded = [tokenizer.encode(t, p, max_length) for t, p in inputs]
    out = []
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            width = max(len(ids) for ids, _ in chunk)  # pad to the longest, as padding=True does
            ids = torch.tensor([i + [tokenizer.pad] * (width - len(i)) for i, _ in chunk])
            types_ = torch.tensor([t + [0] * (width - len(t)) for _, t in chunk])
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in chunk])
            result = model(input_ids=ids, attention_mask=mask, token_type_ids=types_)
            logits = result.logits if hasattr(result, "logits") else result
            out.extend(logits.tolist())
    return name, out


def read_inputs(path):
    inputs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                parts = line.split("\t", 1)
                inputs.append((parts[0], parts[1] if len(parts) > 1 else None))
    return inputs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("input")
    ap.add_argument("--max-length", type=int, default=128)
    a = ap.parse_args()
    try:
        name, logits = logits_of(a.model_dir, read_inputs(a.input), a.max_length)
    except Refused as e:
        return _fail(REFUSED, f"REFUSED: {e}")
    json.dump({"architecture": name, "logits": logits}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
