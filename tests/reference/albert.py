"""ALBERT as transformers' modeling_albert.py computes it (AlbertModel, AlbertForSequenceClassification): factorised
embeddings (V x E, then one E -> H Linear), num_hidden_layers layers running the weights of num_hidden_groups groups,
HF checkpoint names. Written from the semantics of transformers; nothing here comes from Distil's C#."""
import math

import torch
from torch import nn

from bert import EncoderOutput, activation, extended_mask


class AlbertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.embedding_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.embedding_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.embedding_size)
        self.LayerNorm = nn.LayerNorm(c.embedding_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        positions = torch.arange(input_ids.shape[1])[None, :]  # (1, T)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))  # (B, T, E)


class AlbertAttention(nn.Module):
    """ALBERT keeps query/key/value, the output dense and its LayerNorm in one module (attention.dense, attention.LayerNorm)."""

    def __init__(self, c):
        super().__init__()
        self.heads, self.head_dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.attention_dropout = nn.Dropout(c.attention_probs_dropout_prob)
        self.output_dropout = nn.Dropout(c.hidden_dropout_prob)
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B, T, H) -> (B, heads, T, d)

    def forward(self, x, mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask  # (B, heads, T, T)
        ctx = self.attention_dropout(scores.softmax(-1)) @ v
        b, _, t, _ = ctx.shape
        ctx = ctx.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)  # (B, T, H)
        return self.LayerNorm(x + self.output_dropout(self.dense(ctx)))


class AlbertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = AlbertAttention(c)
        self.ffn = nn.Linear(c.hidden_size, c.intermediate_size)
        self.ffn_output = nn.Linear(c.intermediate_size, c.hidden_size)
        self.full_layer_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.act = activation(c.hidden_act)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.full_layer_layer_norm(self.dropout(self.ffn_output(self.act(self.ffn(a)))) + a)


class AlbertLayerGroup(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.albert_layers = nn.ModuleList(AlbertLayer(c) for _ in range(c.inner_group_num))

    def forward(self, x, mask):
        for layer in self.albert_layers:
            x = layer(x, mask)
        return x


class AlbertTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embedding_hidden_mapping_in = nn.Linear(c.embedding_size, c.hidden_size)
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(c) for _ in range(c.num_hidden_groups))

    def forward(self, x, mask):
        x = self.embedding_hidden_mapping_in(x)  # (B, T, E) -> (B, T, H)
        per_group = self.c.num_hidden_layers / self.c.num_hidden_groups
        for i in range(self.c.num_hidden_layers):
            x = self.albert_layer_groups[int(i / per_group)](x, mask)
        return x


class AlbertModel(nn.Module):
    def __init__(self, c, add_pooling_layer=True):
        super().__init__()
        self.config = c
        self.embeddings = AlbertEmbeddings(c)
        self.encoder = AlbertTransformer(c)
        self.pooler = nn.Linear(c.hidden_size, c.hidden_size) if add_pooling_layer else None

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **_):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        h = self.encoder(x, extended_mask(attention_mask, x.dtype))
        pooled = torch.tanh(self.pooler(h[:, 0])) if self.pooler is not None else None
        return EncoderOutput(h, pooled)


class AlbertForSequenceClassification(nn.Module):
    """transformers' head: dropout(classifier_dropout_prob) then Linear on the tanh pooler of [CLS]."""

    def __init__(self, c):
        super().__init__()
        self.albert = AlbertModel(c)
        self.dropout = nn.Dropout(c.classifier_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None):
        return self.classifier(self.dropout(self.albert(input_ids, attention_mask, token_type_ids).pooler_output))
