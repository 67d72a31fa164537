"""A lean training twin of the HookedTransformer Othello-GPT (nanoGPT-style, no hooks).

Same maths and the same parameter names and shapes as TransformerLens' ``HookedTransformer``
with ``normalization_type="LNPre"`` and ``act_fn="gelu"``, so ``state_dict()`` loads into
``model.state_dict_to_model`` unchanged (a test checks the logits agree). It exists because
training needs speed (fused QKV matmuls, ``scaled_dot_product_attention``, ``torch.compile``)
and no hooks; analysis always runs on the HookedTransformer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def ln_pre(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """LayerNorm without weights (TransformerLens' LNPre)."""
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()


class _Holder(nn.Module):
    """Empty module so parameters get TransformerLens names (``embed.W_E`` ...)."""


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        d_head = d_model // n_heads
        self.n_heads, self.d_head = n_heads, d_head
        for name in ("W_Q", "W_K", "W_V"):
            self.register_parameter(name, nn.Parameter(torch.empty(n_heads, d_model, d_head)))
        for name in ("b_Q", "b_K", "b_V"):
            self.register_parameter(name, nn.Parameter(torch.zeros(n_heads, d_head)))
        self.W_O = nn.Parameter(torch.empty(n_heads, d_head, d_model))
        self.b_O = nn.Parameter(torch.zeros(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [batch, pos, d_model]
        b, t, d = x.shape
        h, e = self.n_heads, self.d_head
        w_qkv = torch.cat([w.permute(1, 0, 2).reshape(d, h * e) for w in (self.W_Q, self.W_K, self.W_V)], 1)
        b_qkv = torch.cat([self.b_Q.reshape(-1), self.b_K.reshape(-1), self.b_V.reshape(-1)])
        q, k, v = (x @ w_qkv + b_qkv).split(h * e, dim=-1)
        q, k, v = (z.view(b, t, h, e).transpose(1, 2) for z in (q, k, v))  # [b, h, t, e]
        z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        z = z.transpose(1, 2).reshape(b, t, h * e)
        return z @ self.W_O.reshape(h * e, d) + self.b_O


class Mlp(nn.Module):
    def __init__(self, d_model: int, d_mlp: int):
        super().__init__()
        self.W_in = nn.Parameter(torch.empty(d_model, d_mlp))
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = nn.Parameter(torch.empty(d_mlp, d_model))
        self.b_out = nn.Parameter(torch.zeros(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x @ self.W_in + self.b_in) @ self.W_out + self.b_out


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_mlp: int):
        super().__init__()
        self.attn = Attention(d_model, n_heads)
        self.mlp = Mlp(d_model, d_mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(ln_pre(x))
        return x + self.mlp(ln_pre(x))


class OthelloGPT(nn.Module):
    """Token + position embedding, ``n_layers`` pre-LN blocks, LNPre, unembedding."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape
        self.embed = _Holder()
        self.embed.W_E = nn.Parameter(torch.empty(shape.d_vocab, shape.d_model))
        self.pos_embed = _Holder()
        self.pos_embed.W_pos = nn.Parameter(torch.empty(shape.n_ctx, shape.d_model))
        self.blocks = nn.ModuleList(
            Block(shape.d_model, shape.n_heads, shape.d_mlp) for _ in range(shape.n_layers))
        self.unembed = _Holder()
        self.unembed.W_U = nn.Parameter(torch.empty(shape.d_model, shape.d_vocab))
        self.unembed.b_U = nn.Parameter(torch.zeros(shape.d_vocab))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 style: N(0, 0.02), output projections scaled by 1/sqrt(2 * n_layers)."""
        residual_std = 0.02 / math.sqrt(2 * self.shape.n_layers)
        for name, p in self.named_parameters():
            if name.split(".")[-1].startswith("b_"):
                nn.init.zeros_(p)
            elif name.endswith(("W_O", "W_out")):
                nn.init.normal_(p, std=residual_std)
            else:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # tokens [batch, pos]
        x = self.embed.W_E[tokens] + self.pos_embed.W_pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        return ln_pre(x) @ self.unembed.W_U + self.unembed.b_U  # [batch, pos, d_vocab]
