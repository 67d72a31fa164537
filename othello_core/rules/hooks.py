"""Hook names and layer names: the one place the project spells TransformerLens's hook points and
the one layer convention every page, link, report and CLI shows.

**The layer convention** (TransformerLens's): layer ``L`` is block ``L``, counted from 0 (``L0`` ..
``L7`` for the paper-size model); a head is ``L{L}H{h}``, a neuron ``L{L}N{n}``. The residual stream
*after L{L}* is ``blocks.{L}.hook_resid_post``; the stream before any block is *embed*
(``blocks.0.hook_resid_pre``). Every label carries its hook name where space allows
(``stream_title``). Published figures in other conventions are mapped where they are shown: Li et
al. count 1..8 after the embedding (their "layer 6" is *after L5*); Karvonen et al.'s "layer 5" is
*after L5* too.

Code indexes streams ``0..n_layers`` (stream ``s`` is *after L{s-1}*, stream 0 *embed*); users and
links never see that index: ``stream_label`` / ``layer_param`` translate it.

>>> stream_hooks(2)
['blocks.0.hook_resid_pre', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']
>>> stream_hook(6)
'blocks.5.hook_resid_post'
>>> attn_pattern(3), mlp_out(0)
('blocks.3.attn.hook_pattern', 'blocks.0.hook_mlp_out')
>>> stream_label(0), stream_label(6), stream_title(6)
('embed', 'after L5', 'after L5 · blocks.5.hook_resid_post')
>>> layer_param(6), stream_of_param("L5"), stream_of_param("embed"), stream_of_param("5")
('L5', 6, 0, 6)
>>> published_stream_label(6)
'after L5 (Li L6)'
"""

from __future__ import annotations


def stream_hook(stream: int) -> str:
    """The hook that holds stream ``stream`` (0: embedding, L: after layer L)."""
    return resid_pre(0) if stream == 0 else resid_post(stream - 1)


def stream_label(stream: int) -> str:
    """A stream's name in the layer convention: ``embed`` or ``after L{stream - 1}``."""
    return "embed" if stream == 0 else f"after L{stream - 1}"


def stream_title(stream: int) -> str:
    """``stream_label`` with its hook name: ``after L5 · blocks.5.hook_resid_post``."""
    return f"{stream_label(stream)} · {stream_hook(stream)}"


def block_label(block: int) -> str:
    return f"L{block}"


def layer_param(stream: int) -> str:
    """A stream as a link writes it: ``embed`` or ``L{block}`` (the block whose output it is)."""
    return "embed" if stream == 0 else block_label(stream - 1)


def stream_of_param(text: str) -> int:
    """The stream a link's layer names (``embed``, ``L5`` or ``5``: both mean after L5); ValueError otherwise."""
    text = str(text).strip()
    if text.lower() == "embed":
        return 0
    block = text[1:] if text[:1] in "Ll" else text
    if not block.isdigit():
        raise ValueError(f"a layer is 'embed' or L0, L1, ... (got {text!r})")
    return int(block) + 1


def published_stream_label(stream: int) -> str:
    """A stream beside Li et al.'s and Hazineh et al.'s tables, which count x (the embedding), L1 .. L8:
    ``after L5 (Li L6)``."""
    return f"{stream_label(stream)} (Li {'x' if stream == 0 else f'L{stream}'})"


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


def attn_k(block: int) -> str:
    """Block ``block``'s attention keys ``[batch, pos, head, d_head]`` (what a key/value cache keeps)."""
    return f"blocks.{block}.attn.hook_k"


def attn_v(block: int) -> str:
    """Block ``block``'s attention values ``[batch, pos, head, d_head]``."""
    return f"blocks.{block}.attn.hook_v"


def attn_out(block: int) -> str:
    return f"blocks.{block}.hook_attn_out"


def mlp_out(block: int) -> str:
    return f"blocks.{block}.hook_mlp_out"


def mlp_post(block: int) -> str:
    """Block ``block``'s MLP neurons after the GELU."""
    return f"blocks.{block}.mlp.hook_post"


# The kinds of per-block output hooks, by the short names pages and reports use.
BLOCK_OUTPUTS = {"resid_pre": resid_pre, "attn_out": attn_out, "mlp_out": mlp_out}
