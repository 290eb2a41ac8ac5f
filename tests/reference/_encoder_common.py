"""What the encoder references share: reading a Distil/HF folder and its inputs, the post-LN BERT layer as
transformers' modeling_bert.py defines it (RoBERTa and ELECTRA use it unchanged), the task heads every family shares
(token classification, extractive QA), and writing the outputs."""
import json
import math
import os
import sys

import torch

import safetensors_io


def read_args():
    """argv: folder, inputs.json ({"input_ids": [[..]], "attention_mask": [[..]]}), out.json."""
    folder, inputs, out = sys.argv[1:4]
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    weights = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    with open(inputs) as f:
        batch = json.load(f)
    ids = torch.tensor(batch["input_ids"], dtype=torch.int64)
    mask = torch.tensor(batch["attention_mask"], dtype=torch.int64)
    return config, weights, ids, mask, out


def write(out, logits, last_hidden_state):
    with open(out, "w") as f:
        json.dump({"logits": logits.tolist(), "last_hidden_state": last_hidden_state.tolist()}, f)


def head_outputs(config, w, x, sequence_head):
    """The outputs of the head config.json's architectures name, on the last hidden states x (B, T, H), in eval mode
    (dropout is the identity): ...ForTokenClassification is `classifier` on every token, logits (B, T, C), in every
    family; ...ForQuestionAnswering is `qa_outputs` (H -> 2) on every token, split into start and end logits (B, T);
    anything else is the family's sequence head, sequence_head(x) -> (B, C)."""
    architecture = (config.get("architectures") or [""])[0]
    if architecture.endswith("ForTokenClassification"):
        return {"logits": linear(w, "classifier", x).tolist()}
    if architecture.endswith("ForQuestionAnswering"):
        start, end = linear(w, "qa_outputs", x).split(1, dim=-1)
        return {"start_logits": start.squeeze(-1).tolist(), "end_logits": end.squeeze(-1).tolist()}
    return {"logits": sequence_head(x).tolist()}


def write_head(out, config, w, x, sequence_head):
    """head_outputs plus the last hidden state, as JSON to out."""
    with open(out, "w") as f:
        json.dump({**head_outputs(config, w, x, sequence_head), "last_hidden_state": x.tolist()}, f)


def linear(w, prefix, x):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def layer_norm(w, prefix, x, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], w[prefix + ".weight"], w[prefix + ".bias"], eps)


def activation(name, x):
    if name == "relu":
        return torch.relu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))  # "gelu": the exact erf form


def attention(x, mask, heads, q, k, v):
    """Multi-head self-attention, padding keys masked to the dtype's minimum before softmax (as transformers)."""
    b, t, h = x.shape
    dh = h // heads

    def split(y):
        return y.view(b, t, heads, dh).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    scores = scores.masked_fill(mask[:, None, None, :] == 0, torch.finfo(scores.dtype).min)
    context = torch.softmax(scores, -1) @ split(v)
    return context.transpose(1, 2).reshape(b, t, h)


def bert_layer(w, p, x, mask, config):
    """BertLayer: self-attention, BertSelfOutput (dense, residual, LayerNorm), BertIntermediate, BertOutput."""
    eps = config.get("layer_norm_eps", 1e-12)
    ctx = attention(x, mask, config["num_attention_heads"], linear(w, p + "attention.self.query", x),
                    linear(w, p + "attention.self.key", x), linear(w, p + "attention.self.value", x))
    attended = layer_norm(w, p + "attention.output.LayerNorm", linear(w, p + "attention.output.dense", ctx) + x, eps)
    inner = activation(config.get("hidden_act", "gelu"), linear(w, p + "intermediate.dense", attended))
    return layer_norm(w, p + "output.LayerNorm", linear(w, p + "output.dense", inner) + attended, eps)
