"""DistilBERT sequence classifier from config.json + model.safetensors, after transformers' modeling_distilbert.py:
word + learned position embeddings (no token types), LayerNorm (eps 1e-12); each TransformerBlock is
sa_layer_norm(attention.out_lin(attn) + x), then output_layer_norm(ffn.lin2(act(ffn.lin1(h))) + h); the head is
pre_classifier -> ReLU -> classifier on [CLS], or the token / QA head that config.json's architectures name
(DistilBertForTokenClassification: `classifier` on every token, no pre_classifier; DistilBertForQuestionAnswering:
`qa_outputs`). Eval mode.
Usage: distilbert.py FOLDER INPUTS.json OUT.json"""
import torch

from _encoder_common import activation, attention, layer_norm, linear, read_args, write_head

config, w, ids, mask, out = read_args()
eps = 1e-12
positions = torch.arange(ids.shape[1])[None, :]
x = w["distilbert.embeddings.word_embeddings.weight"][ids] + w["distilbert.embeddings.position_embeddings.weight"][positions]
x = layer_norm(w, "distilbert.embeddings.LayerNorm", x, eps)
for i in range(config["n_layers"]):
    p = f"distilbert.transformer.layer.{i}."
    ctx = attention(x, mask, config["n_heads"], linear(w, p + "attention.q_lin", x), linear(w, p + "attention.k_lin", x),
                    linear(w, p + "attention.v_lin", x))
    h = layer_norm(w, p + "sa_layer_norm", linear(w, p + "attention.out_lin", ctx) + x, eps)
    f = linear(w, p + "ffn.lin2", activation(config.get("activation", "gelu"), linear(w, p + "ffn.lin1", h)))
    x = layer_norm(w, p + "output_layer_norm", f + h, eps)
write_head(out, config, w, x, lambda h: linear(w, "classifier", torch.relu(linear(w, "pre_classifier", h[:, 0]))))
