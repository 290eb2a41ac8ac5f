"""DeBERTa-v2/v3 sequence classifier in plain torch, written from the semantics of Hugging Face transformers'
modeling_deberta_v2.py (DebertaV2ForSequenceClassification: embeddings, disentangled attention with c2p/p2c terms
and log-bucketed relative positions, ContextPooler, classifier), in eval mode (no dropout). A folder whose
architectures name DebertaV2ForTokenClassification or DebertaV2ForQuestionAnswering gets that head instead
(`classifier` / `qa_outputs` on every token, no ContextPooler): "logits" (B, T, C), or "start_logits" and "end_logits".

    deberta_v2.py make FOLDER SEED CONFIG_JSON   writes a random model as transformers' save_pretrained would
                                                 (config.json + model.safetensors with HF keys, position_ids included)
    deberta_v2.py forward FOLDER INPUTS_JSON     prints {"logits", "last_hidden_state", "hidden_states"} as JSON for
                                                 {"input_ids", "attention_mask"[, "token_type_ids"]} (lists of rows)
"""
import json
import math
import os
import sys

import torch

import safetensors_io
from _encoder_common import head_outputs

ACT = {
    "gelu": lambda x: torch.nn.functional.gelu(x),
    "gelu_new": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "relu": torch.relu,
    "tanh": torch.tanh,
}

DEFAULTS = dict(vocab_size=128100, hidden_size=1536, num_hidden_layers=24, num_attention_heads=24, intermediate_size=6144,
                hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
                type_vocab_size=0, initializer_range=0.02, layer_norm_eps=1e-7, relative_attention=False,
                max_relative_positions=-1, pad_token_id=0, position_biased_input=True, pos_att_type=None,
                pooler_dropout=0, pooler_hidden_act="gelu")


def read_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        raw = json.load(f)
    cfg = dict(DEFAULTS)
    cfg.update(raw)
    pos = cfg["pos_att_type"]
    if isinstance(pos, str):  # the legacy "p2c|c2p" form
        pos = [x.strip() for x in pos.lower().split("|")]
    cfg["pos_att_type"] = pos or []
    cfg.setdefault("pooler_hidden_size", cfg["hidden_size"])
    cfg.setdefault("embedding_size", cfg["hidden_size"])
    cfg.setdefault("position_buckets", -1)
    cfg.setdefault("norm_rel_ebd", "none")
    cfg.setdefault("share_att_key", False)
    cfg.setdefault("conv_kernel_size", 0)
    return cfg


def layer_norm(x, w, prefix, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], eps)


def linear(x, w, prefix):
    return torch.nn.functional.linear(x, w[prefix + ".weight"], w.get(prefix + ".bias"))


def log_bucket_position(relative_pos, bucket_size, max_position):
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid), torch.tensor(mid - 1).type_as(relative_pos),
                          torch.abs(relative_pos))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)


def relative_position(q_size, k_size, bucket_size, max_position):
    rel = torch.arange(q_size)[:, None] - torch.arange(k_size)[None, :]
    if bucket_size > 0 and max_position > 0:
        rel = log_bucket_position(rel, bucket_size, max_position)
    return rel.to(torch.long).unsqueeze(0)  # (1, q, k)


def heads_first(x, heads):
    """(B, T, nh*dh) -> (B*nh, T, dh), as transformers' transpose_for_scores."""
    x = x.view(x.shape[0], x.shape[1], heads, -1)
    return x.permute(0, 2, 1, 3).contiguous().view(-1, x.shape[1], x.shape[-1])


def attention(cfg, w, p, hidden, mask4, relative_pos, rel_embeddings):
    heads = cfg["num_attention_heads"]
    pos_types = cfg["pos_att_type"]
    q = heads_first(linear(hidden, w, p + "query_proj"), heads)
    k = heads_first(linear(hidden, w, p + "key_proj"), heads)
    v = heads_first(linear(hidden, w, p + "value_proj"), heads)
    scale_factor = 1 + ("c2p" in pos_types) + ("p2c" in pos_types)
    scale = math.sqrt(q.shape[-1] * scale_factor)
    scores = torch.bmm(q, k.transpose(-1, -2) / scale)
    if cfg["relative_attention"]:
        span = cfg["position_buckets"] if cfg["position_buckets"] > 0 else cfg["_max_rel"]
        rel = rel_embeddings[0:span * 2, :].unsqueeze(0)
        repeat = q.shape[0] // heads
        share = cfg["share_att_key"]
        rel_pos = relative_pos.unsqueeze(1)  # (1, 1, T, T)
        bias = 0
        if "c2p" in pos_types:
            pos_k = heads_first(linear(rel, w, p + ("key_proj" if share else "pos_key_proj")), heads).repeat(repeat, 1, 1)
            c2p = torch.bmm(q, pos_k.transpose(-1, -2))
            c2p_pos = torch.clamp(rel_pos + span, 0, span * 2 - 1)
            c2p = torch.gather(c2p, -1, c2p_pos.squeeze(0).expand([q.shape[0], q.shape[1], rel_pos.shape[-1]]))
            bias = bias + c2p / math.sqrt(pos_k.shape[-1] * scale_factor)
        if "p2c" in pos_types:
            pos_q = heads_first(linear(rel, w, p + ("query_proj" if share else "pos_query_proj")), heads).repeat(repeat, 1, 1)
            p2c_pos = torch.clamp(-rel_pos + span, 0, span * 2 - 1)
            p2c = torch.bmm(k, pos_q.transpose(-1, -2))
            p2c = torch.gather(p2c, -1, p2c_pos.squeeze(0).expand([q.shape[0], k.shape[-2], k.shape[-2]])).transpose(-1, -2)
            bias = bias + p2c / math.sqrt(pos_q.shape[-1] * scale_factor)
        scores = scores + bias
    scores = scores.view(-1, heads, scores.shape[-2], scores.shape[-1])
    scores = scores.masked_fill(~mask4.bool(), torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores, -1)
    ctx = torch.bmm(probs.view(-1, probs.shape[-2], probs.shape[-1]), v)
    ctx = ctx.view(-1, heads, ctx.shape[-2], ctx.shape[-1]).permute(0, 2, 1, 3).contiguous()
    return ctx.view(ctx.shape[0], ctx.shape[1], -1)


def forward(cfg, w, input_ids, attention_mask, token_type_ids):
    eps = cfg["layer_norm_eps"]
    e = w["deberta.embeddings.word_embeddings.weight"][input_ids]
    if cfg["position_biased_input"]:
        e = e + w["deberta.embeddings.position_embeddings.weight"][torch.arange(input_ids.shape[1])].unsqueeze(0)
    if cfg["type_vocab_size"] > 0:
        e = e + w["deberta.embeddings.token_type_embeddings.weight"][token_type_ids]
    if cfg["embedding_size"] != cfg["hidden_size"]:
        e = torch.nn.functional.linear(e, w["deberta.embeddings.embed_proj.weight"])
    e = layer_norm(e, w, "deberta.embeddings.LayerNorm", eps)
    h = e * attention_mask.unsqueeze(2).to(e.dtype)
    embedding_output = h

    ext = attention_mask.unsqueeze(1).unsqueeze(2)
    mask4 = ext * ext.squeeze(-2).unsqueeze(-1)  # (B, 1, T, T)
    relative_pos, rel_embeddings = None, None
    if cfg["relative_attention"]:
        max_rel = cfg["max_relative_positions"]
        cfg["_max_rel"] = max_rel if max_rel >= 1 else cfg["max_position_embeddings"]
        relative_pos = relative_position(h.shape[1], h.shape[1], cfg["position_buckets"], cfg["_max_rel"])
        rel_embeddings = w["deberta.encoder.rel_embeddings.weight"]
        if "layer_norm" in [x.strip() for x in cfg["norm_rel_ebd"].lower().split("|")]:
            rel_embeddings = layer_norm(rel_embeddings, w, "deberta.encoder.LayerNorm", eps)
    states = [h]
    act = ACT[cfg["hidden_act"]]
    for i in range(cfg["num_hidden_layers"]):
        p = f"deberta.encoder.layer.{i}."
        ctx = attention(cfg, w, p + "attention.self.", h, mask4, relative_pos, rel_embeddings)
        att = layer_norm(linear(ctx, w, p + "attention.output.dense") + h, w, p + "attention.output.LayerNorm", eps)
        inner = act(linear(att, w, p + "intermediate.dense"))
        out = layer_norm(linear(inner, w, p + "output.dense") + att, w, p + "output.LayerNorm", eps)
        if i == 0 and cfg["conv_kernel_size"] > 0:
            kernel = cfg["conv_kernel_size"]
            conv = torch.nn.functional.conv1d(embedding_output.permute(0, 2, 1), w["deberta.encoder.conv.conv.weight"],
                                              w["deberta.encoder.conv.conv.bias"], padding=(kernel - 1) // 2,
                                              groups=cfg.get("conv_groups", 1)).permute(0, 2, 1)
            conv = conv.masked_fill((1 - attention_mask).bool().unsqueeze(-1), 0)
            conv = ACT[cfg.get("conv_act", "tanh")](conv)
            out = layer_norm(out + conv, w, "deberta.encoder.conv.LayerNorm", eps) * attention_mask.unsqueeze(2).to(out.dtype)
        h = out
        states.append(h)
    return h, states


def sequence_head(cfg, w, h):
    """ContextPooler (first token, dense, pooler_hidden_act) then classifier: (B, T, H) -> (B, C)."""
    pooled = ACT[cfg["pooler_hidden_act"]](linear(h[:, 0], w, "pooler.dense"))
    return linear(pooled, w, "classifier")


def init_weights(cfg, seed):
    """Random weights with transformers' key names and shapes (normal(0, 0.2) everywhere, so every term matters)."""
    g = torch.Generator().manual_seed(seed)
    H, E, I = cfg["hidden_size"], cfg["embedding_size"], cfg["intermediate_size"]
    labels = len(cfg.get("id2label") or {0: 0, 1: 1})

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    w = {"deberta.embeddings.word_embeddings.weight": r(cfg["vocab_size"], E),
         "deberta.embeddings.LayerNorm.weight": 1 + r(H), "deberta.embeddings.LayerNorm.bias": r(H),
         "deberta.embeddings.position_ids": torch.arange(cfg["max_position_embeddings"]).unsqueeze(0),
         "pooler.dense.weight": r(H, H), "pooler.dense.bias": r(H), "classifier.weight": r(labels, H), "classifier.bias": r(labels)}
    if cfg["position_biased_input"]:
        w["deberta.embeddings.position_embeddings.weight"] = r(cfg["max_position_embeddings"], E)
    if cfg["type_vocab_size"] > 0:
        w["deberta.embeddings.token_type_embeddings.weight"] = r(cfg["type_vocab_size"], E)
    if E != H:
        w["deberta.embeddings.embed_proj.weight"] = r(H, E)
    if cfg["relative_attention"]:
        max_rel = cfg["max_relative_positions"] if cfg["max_relative_positions"] >= 1 else cfg["max_position_embeddings"]
        rows = 2 * (cfg["position_buckets"] if cfg["position_buckets"] > 0 else max_rel)
        w["deberta.encoder.rel_embeddings.weight"] = r(rows, H)
    if "layer_norm" in cfg["norm_rel_ebd"]:
        w["deberta.encoder.LayerNorm.weight"] = 1 + r(H)
        w["deberta.encoder.LayerNorm.bias"] = r(H)
    if cfg["conv_kernel_size"] > 0:
        w["deberta.encoder.conv.conv.weight"] = r(H, H // cfg.get("conv_groups", 1), cfg["conv_kernel_size"])
        w["deberta.encoder.conv.conv.bias"] = r(H)
        w["deberta.encoder.conv.LayerNorm.weight"] = 1 + r(H)
        w["deberta.encoder.conv.LayerNorm.bias"] = r(H)
    for i in range(cfg["num_hidden_layers"]):
        p = f"deberta.encoder.layer.{i}."
        names = ["attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj", "attention.output.dense"]
        if cfg["relative_attention"] and not cfg["share_att_key"]:
            names += [n for t, n in (("c2p", "attention.self.pos_key_proj"), ("p2c", "attention.self.pos_query_proj")) if t in cfg["pos_att_type"]]
        for n in names:
            w[p + n + ".weight"], w[p + n + ".bias"] = r(H, H), r(H)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = r(I, H), r(I)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(H, I), r(H)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + n + ".weight"], w[p + n + ".bias"] = 1 + r(H), r(H)
    return w


def main():
    cmd, folder = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    if cmd == "make":
        seed, config = int(sys.argv[3]), json.loads(sys.argv[4])
        os.makedirs(folder, exist_ok=True)
        full = dict(DEFAULTS)
        full.update(config)
        full.update(model_type="deberta-v2", architectures=["DebertaV2ForSequenceClassification"])
        full.setdefault("pooler_hidden_size", full["hidden_size"])
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(full, f, indent=2)
        safetensors_io.save(os.path.join(folder, "model.safetensors"), init_weights(read_config(folder), seed))
        return
    cfg = read_config(folder)
    w = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    with open(sys.argv[3]) as f:
        inputs = json.load(f)
    ids = torch.tensor(inputs["input_ids"], dtype=torch.long)
    mask = torch.tensor(inputs["attention_mask"], dtype=torch.long)
    types = torch.tensor(inputs.get("token_type_ids") or [[0] * ids.shape[1]] * ids.shape[0], dtype=torch.long)
    with torch.no_grad():
        last, states = forward(cfg, w, ids, mask, types)
        heads = head_outputs(cfg, w, last, lambda h: sequence_head(cfg, w, h))
    json.dump({**heads, "last_hidden_state": last.tolist(), "hidden_states": [s.tolist() for s in states]}, sys.stdout)


if __name__ == "__main__":
    main()
