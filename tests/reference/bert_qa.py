"""BertForQuestionAnswering as transformers' modeling_bert.py computes it: BertModel without the pooler, qa_outputs =
Linear(hidden, 2) on every token, split into start and end logits; the loss clamps the positions to [0, T] with T
also the ignore index and averages the start and end cross-entropies. The encoder is bert.py's; nothing here comes
from Distil's C#. Eval mode.
Usage: bert_qa.py FOLDER INPUTS.json OUT.json
INPUTS.json: {"input_ids", "attention_mask", "token_type_ids": [[..]], "start_positions", "end_positions": [..]}.
OUT.json: {"start_logits", "end_logits": [[..]], "loss": float}."""
import json
import os
import sys
import types

import torch
from torch import nn

import bert
import safetensors_io

DEFAULTS = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
                type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)


class BertForQuestionAnswering(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = bert.BertModel(c, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(c.hidden_size, 2)

    def forward(self, input_ids, attention_mask, token_type_ids, start_positions=None, end_positions=None):
        sequence = self.bert(input_ids, attention_mask, token_type_ids).last_hidden_state
        logits = self.qa_outputs(sequence)  # (B, T, 2)
        start_logits, end_logits = logits.split(1, dim=-1)
        start_logits, end_logits = start_logits.squeeze(-1).contiguous(), end_logits.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored_index = start_logits.size(1)
            start_positions = start_positions.clamp(0, ignored_index)
            end_positions = end_positions.clamp(0, ignored_index)
            ce = nn.CrossEntropyLoss(ignore_index=ignored_index)
            loss = (ce(start_logits, start_positions) + ce(end_logits, end_positions)) / 2
        return start_logits, end_logits, loss


def main():
    folder, inputs, out = sys.argv[1:4]
    with open(os.path.join(folder, "config.json")) as f:
        config = types.SimpleNamespace(**{**DEFAULTS, **json.load(f)})
    model = BertForQuestionAnswering(config).eval()
    weights = {k: v for k, v in safetensors_io.load(os.path.join(folder, "model.safetensors")).items() if ".pooler." not in k}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        sys.exit(f"keys do not match BertForQuestionAnswering: missing {missing}, unexpected {unexpected}")
    with open(inputs) as f:
        batch = json.load(f)
    t = lambda k: torch.tensor(batch[k], dtype=torch.int64)
    with torch.no_grad():
        start, end, loss = model(t("input_ids"), t("attention_mask"), t("token_type_ids"), t("start_positions"), t("end_positions"))
    with open(out, "w") as f:
        json.dump({"start_logits": start.tolist(), "end_logits": end.tolist(), "loss": loss.item()}, f)


if __name__ == "__main__":
    main()
