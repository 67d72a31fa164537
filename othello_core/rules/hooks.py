"""Hook names: the one place the project spells TransformerLens's hook points.

Streams are numbered as in Hazineh et al., Table 1: stream ``0`` is the embedding
(``blocks.0.hook_resid_pre``) and stream ``L`` (1..n_layers) the residual stream after layer
``L`` (``blocks.{L-1}.hook_resid_post``). Blocks are 0-based, as TransformerLens numbers them.

>>> stream_hooks(2)
['blocks.0.hook_resid_pre', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']
>>> stream_hook(6)
'blocks.5.hook_resid_post'
>>> attn_pattern(3), mlp_out(0)
('blocks.3.attn.hook_pattern', 'blocks.0.hook_mlp_out')
"""

from __future__ import annotations


def stream_hook(stream: int) -> str:
    """The hook that holds stream ``stream`` (0: embedding, L: after layer L)."""
    return resid_pre(0) if stream == 0 else resid_post(stream - 1)


def stream_hooks(n_layers: int) -> list[str]:
    """Every stream's hook, in stream order (``n_layers + 1`` names)."""
    return [stream_hook(s) for s in range(n_layers + 1)]


def resid_pre(block: int) -> str:
    return f"blocks.{block}.hook_resid_pre"


def resid_post(block: int) -> str:
    """After block ``block`` (stream ``block + 1``)."""
    return f"blocks.{block}.hook_resid_post"


def resid_mid(block: int) -> str:
    """Between block ``block``'s attention and its MLP."""
    return f"blocks.{block}.hook_resid_mid"


def mlp_in(block: int) -> str:
    """Block ``block``'s MLP input: the stream between attention and MLP after ``ln2``."""
    return f"blocks.{block}.ln2.hook_normalized"


def attn_pattern(block: int) -> str:
    return f"blocks.{block}.attn.hook_pattern"


def attn_z(block: int) -> str:
    return f"blocks.{block}.attn.hook_z"


def attn_out(block: int) -> str:
    return f"blocks.{block}.hook_attn_out"


def mlp_out(block: int) -> str:
    return f"blocks.{block}.hook_mlp_out"


def mlp_post(block: int) -> str:
    """Block ``block``'s MLP neurons after the GELU."""
    return f"blocks.{block}.mlp.hook_post"


# The kinds of per-block output hooks, by the short names pages and reports use.
BLOCK_OUTPUTS = {"resid_pre": resid_pre, "attn_out": attn_out, "mlp_out": mlp_out}
