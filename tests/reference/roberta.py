"""RoBERTa / XLM-RoBERTa / CamemBERT sequence classifier from config.json + model.safetensors, after transformers'
modeling_roberta.py: positions are padding_idx + cumsum of the non-pad mask (padding keeps padding_idx), token type
0, BERT layers, then RobertaClassificationHead (dense -> tanh -> out_proj) on the first token, or the token / QA head
that config.json's architectures name (RobertaForTokenClassification, RobertaForQuestionAnswering and the XLM-R /
CamemBERT classes: `classifier` / `qa_outputs` on every token). Eval mode.
Usage: roberta.py FOLDER INPUTS.json OUT.json"""
import torch

from _encoder_common import bert_layer, layer_norm, linear, read_args, write_head

config, w, ids, mask, out = read_args()
pad = config.get("pad_token_id", 1)
not_pad = ids.ne(pad).long()
positions = torch.cumsum(not_pad, dim=1) * not_pad + pad
x = (w["roberta.embeddings.word_embeddings.weight"][ids] + w["roberta.embeddings.position_embeddings.weight"][positions]
     + w["roberta.embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)])
x = layer_norm(w, "roberta.embeddings.LayerNorm", x, config.get("layer_norm_eps", 1e-5))
for i in range(config["num_hidden_layers"]):
    x = bert_layer(w, f"roberta.encoder.layer.{i}.", x, mask, config)
write_head(out, config, w, x, lambda h: linear(w, "classifier.out_proj", torch.tanh(linear(w, "classifier.dense", h[:, 0]))))
