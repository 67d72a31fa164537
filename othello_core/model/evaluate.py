"""Legal-move metrics of a model on held-out games.

* ``legal_top1``: fraction of positions whose most probable move is legal (the paper's
  "top-1 legal move" accuracy; its error rate is 1 - legal_top1).
* ``legal_set_f1``: per position, the predicted set is every move with probability >= 1%
  (``SET_THRESHOLD``); F1 of that set against the true legal set, averaged over positions.

A position counts when a next move exists: position ``p`` (after move ``p``) for
``p < 59`` while the game is not over. The padding token 0 is never a move: its logit is
masked out before the softmax.

``by_move=True`` also counts, per move number (index ``p`` = the prediction after move ``p + 1``),
the positions and the top-1 errors: where in the game a model still fails; and the same two counts
at the positions where a pass has made the next mover differ from strict alternation
(``pass_positions``, ``pass_top1_errors``): the model must see from the board that a player
cannot move.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from othello_core.rules.games import GameBatch, load_eothello, mover_not_alternating, random_games, replay_batch
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import square_mask_to_tokens

SET_THRESHOLD = 0.01
EVAL_SEED = 2_000_000_007  # held-out games; training streams use SeedSequence([seed, rank, worker])


def legal_tokens(batch: GameBatch) -> np.ndarray:
    """[games, 59, 61] bool: legal next moves in token space (token 0 never legal)."""
    return square_mask_to_tokens(batch.labels["legal"][:, :MODEL_CONTEXT])


def move_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities over the 61 tokens with the padding token masked out."""
    logits = logits.float().clone()
    logits[..., 0] = float("-inf")
    return torch.log_softmax(logits, dim=-1)


def top1_is_legal(scores: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Whether the highest-scoring token is legal, per position: scores (probabilities or
    log-probabilities) and legal ``[..., 61]``."""
    return np.take_along_axis(legal, scores.argmax(-1)[..., None], -1)[..., 0]


def position_metrics(probs: np.ndarray, legal: np.ndarray) -> dict[str, np.ndarray]:
    """Per-position metrics from probs/legal ``[..., 61]``."""
    top1_legal = top1_is_legal(probs, legal)
    predicted = probs >= SET_THRESHOLD
    tp = (predicted & legal).sum(-1)
    f1 = 2 * tp / np.maximum(predicted.sum(-1) + legal.sum(-1), 1)
    return {"top1_legal": top1_legal, "set_f1": f1}


@torch.no_grad()
def evaluate(model_fn: Callable[[torch.Tensor], torch.Tensor], batch: GameBatch,
             batch_size: int = 256, device: str = "cpu", by_move: bool = False) -> dict:
    """Run ``model_fn`` (tokens -> logits) over a GameBatch with labels."""
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    legal = legal_tokens(batch)
    valid = legal.any(-1)
    passed = valid & mover_not_alternating(batch.labels["to_move"][:, :MODEL_CONTEXT], np.arange(legal.shape[1]))
    top1, f1 = [], []
    errors_by_move = np.zeros(legal.shape[1], dtype=np.int64)
    pass_errors_by_move = np.zeros(legal.shape[1], dtype=np.int64)
    for start in range(0, len(tokens), batch_size):
        chunk = tokens[start:start + batch_size].to(device)
        probs = move_log_probs(model_fn(chunk)).exp().cpu().numpy()
        m = position_metrics(probs, legal[start:start + batch_size])
        ok = valid[start:start + batch_size]
        top1.append(m["top1_legal"][ok])
        f1.append(m["set_f1"][ok])
        errors_by_move += (ok & ~m["top1_legal"]).sum(0)
        pass_errors_by_move += (passed[start:start + batch_size] & ~m["top1_legal"]).sum(0)
    top1_all, f1_all = np.concatenate(top1), np.concatenate(f1)
    result = {"legal_top1": float(top1_all.mean()), "legal_set_f1": float(f1_all.mean()),
              "games": len(batch), "positions": int(valid.sum()), "set_threshold": SET_THRESHOLD}
    if by_move:
        result["by_move"] = {"positions": valid.sum(0).tolist(), "top1_errors": errors_by_move.tolist(),
                             "pass_positions": passed.sum(0).tolist(), "pass_top1_errors": pass_errors_by_move.tolist()}
    return result


def heldout_games(n: int) -> GameBatch:
    return random_games(n, seed=EVAL_SEED, labels=True)


def real_games(n: int | None = None) -> GameBatch:
    games = load_eothello()
    squares = games.squares if n is None else games.squares[:n]
    return replay_batch(squares, labels=True)
