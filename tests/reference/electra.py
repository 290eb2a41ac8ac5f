"""ELECTRA discriminator sequence classifier from config.json + model.safetensors, after transformers'
modeling_electra.py: BERT embeddings embedding_size wide, embeddings_project to hidden_size when the widths differ,
BERT layers, then ElectraClassificationHead (dense -> gelu -> out_proj) on [CLS], or the token / QA head that
config.json's architectures name (ElectraForTokenClassification, ElectraForQuestionAnswering). Eval mode.
Usage: electra.py FOLDER INPUTS.json OUT.json"""
import torch

from _encoder_common import activation, bert_layer, layer_norm, linear, read_args, write_head

config, w, ids, mask, out = read_args()
positions = torch.arange(ids.shape[1])[None, :]
x = (w["electra.embeddings.word_embeddings.weight"][ids] + w["electra.embeddings.position_embeddings.weight"][positions]
     + w["electra.embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)])
x = layer_norm(w, "electra.embeddings.LayerNorm", x, config.get("layer_norm_eps", 1e-12))
if config.get("embedding_size", config["hidden_size"]) != config["hidden_size"]:
    x = linear(w, "electra.embeddings_project", x)
for i in range(config["num_hidden_layers"]):
    x = bert_layer(w, f"electra.encoder.layer.{i}.", x, mask, config)
write_head(out, config, w, x, lambda h: linear(w, "classifier.out_proj", activation("gelu", linear(w, "classifier.dense", h[:, 0]))))
