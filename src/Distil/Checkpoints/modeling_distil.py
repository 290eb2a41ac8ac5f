"""Mean-pooled sequence classifiers saved by Distil (its ModelFolder.Save).

transformers' BertForSequenceClassification / AlbertForSequenceClassification classify the tanh pooler of the
[CLS] token. These models were trained on the mean of the unmasked token states instead, so they need this file:

    AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)

Without trust_remote_code=True transformers refuses the folder (its model_type is not a built-in one), rather than
load it into the built-in class and give other answers.
"""
import torch
from torch import nn
from transformers import AlbertConfig, AlbertModel, AlbertPreTrainedModel, BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


def masked_mean(hidden, attention_mask):
    """Mean over the tokens the attention mask keeps: (B, T, H), (B, T) -> (B, H)."""
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def _classify(self, encoder, input_ids, attention_mask, token_type_ids, labels):
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
    logits = self.classifier(self.dropout(masked_mean(hidden, attention_mask)))
    loss = None if labels is None else nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
    return SequenceClassifierOutput(loss=loss, logits=logits)


class DistilBertMeanConfig(BertConfig):
    model_type = "distil_bert_mean"


class DistilBertMeanForSequenceClassification(BertPreTrainedModel):
    config_class = DistilBertMeanConfig

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)  # the pooler is kept (its weights are in the file) but not used
        drop = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(drop)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        return _classify(self, self.bert, input_ids, attention_mask, token_type_ids, labels)


class DistilAlbertMeanConfig(AlbertConfig):
    model_type = "distil_albert_mean"


class DistilAlbertMeanForSequenceClassification(AlbertPreTrainedModel):
    config_class = DistilAlbertMeanConfig

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.albert = AlbertModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        return _classify(self, self.albert, input_ids, attention_mask, token_type_ids, labels)
