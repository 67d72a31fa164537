"""Interventions on a graph's feature nodes, in the real model, through the locked ModelService.

A transcoder feature ``f`` of block ``L`` stands for ``activation x W_dec[f]`` in that block's MLP output.
To set it to a new value at a position, the MLP output there gets ``(new - current) x W_dec[f]`` added,
where ``current`` is the feature's activation in *this* forward (read from the block's MLP input, so an
edit upstream is felt): ``zero`` (new = 0), ``scale`` (new = s x current) or ``clamp`` (new = v).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from othello_core.model.evaluate import move_log_probs
from othello_core.rules.hooks import mlp_in, mlp_out
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import moves_to_tokens, token_probs_to_squares

OPS = ("zero", "scale", "clamp")


@dataclass(frozen=True)
class NodeEdit:
    layer: int
    position: int
    feature: int
    op: str = "zero"
    value: float = 0.0  # the factor for scale, the activation for clamp

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"a node edit is one of {OPS}, not {self.op!r}")

    def new(self, current: torch.Tensor) -> torch.Tensor:
        if self.op == "zero":
            return torch.zeros_like(current)
        if self.op == "scale":
            return current * self.value
        return torch.full_like(current, self.value)


def edit_hooks(transcoders: dict, edits: list[NodeEdit]) -> list[tuple[str, object]]:
    """Forward hooks applying ``edits``: each block's MLP input is read, its MLP output corrected."""
    hooks = []
    for layer in sorted({e.layer for e in edits}):
        mine = [e for e in edits if e.layer == layer]
        transcoder = transcoders[layer]
        seen = {}

        def read(x, hook=None, seen=seen):  # noqa: ARG001
            seen["x"] = x
            return x

        def write(out, hook=None, seen=seen, mine=mine, transcoder=transcoder):  # noqa: ARG001
            out = out.clone()
            for e in mine:
                if e.position >= out.shape[1]:
                    continue
                x = seen["x"][:, e.position].float()
                current = transcoder.encode(x.to(transcoder.W_enc.device))[:, e.feature].to(out.device)
                delta = (e.new(current) - current)[:, None] * transcoder.W_dec[e.feature].float().to(out.device)
                out[:, e.position] += delta.to(out.dtype)
            return out
        hooks += [(mlp_in(layer), read), (mlp_out(layer), write)]
    return hooks


@torch.no_grad()
def feature_activation(service, transcoders: dict, moves, layer: int) -> np.ndarray:
    """``[positions, features]``: layer ``layer``'s transcoder features along the game."""
    tokens = torch.tensor([moves_to_tokens(moves, min(len(moves), MODEL_CONTEXT))])
    _, cache = service.run(tokens, names=[mlp_in(layer)])
    return transcoders[layer].encode(cache[mlp_in(layer)][0].float()).cpu().numpy()


@torch.no_grad()
def edited_probs(service, transcoders: dict, moves, position: int, edits: list[NodeEdit]) -> np.ndarray:
    """Move probabilities ``[64]`` at ``position`` with the node edits applied (none: the clean ones)."""
    tokens = torch.tensor([moves_to_tokens(list(moves)[:position + 1])])
    logits, _ = service.run(tokens, fwd_hooks=edit_hooks(transcoders, edits))
    return token_probs_to_squares(move_log_probs(logits[0, position]).exp().cpu().numpy())


@torch.no_grad()
def direct_logit_effect(transcoders: dict, model, layer: int, feature: int) -> np.ndarray:
    """``[64]``: the feature's decoder direction through the unembedding, centred over the moves."""
    w_u = model.W_U.detach().float()
    effect = (transcoders[layer].W_dec[feature].float().to(w_u.device) @ w_u).cpu().numpy()[1:]
    return token_probs_to_squares(np.concatenate([[0.0], effect - effect.mean()]))


@torch.no_grad()
def edited_logit(service, transcoders: dict, moves, position: int, edits: list[NodeEdit], square: int) -> float:
    """The logit of the move ``square`` at ``position`` with the node edits applied."""
    from othello_core.rules.vocab import squares_to_token_array
    tokens = torch.tensor([moves_to_tokens(list(moves)[:position + 1])])
    logits, _ = service.run(tokens, fwd_hooks=edit_hooks(transcoders, edits))
    return float(logits[0, position, int(squares_to_token_array(square))])
