"""Attention statistics: how much each head attends to the mover's vs the opponent's moves."""

from __future__ import annotations

import numpy as np

from othello_core.rules.games import replay_batch


def move_owners(moves) -> np.ndarray:
    """[n] who played each move (1 black, -1 white), passes taken into account."""
    return replay_batch(np.array([list(moves)]), labels=True).labels["mover"][0, : len(moves)]


def mover_share(patterns: np.ndarray, to_move: np.ndarray, moves) -> np.ndarray:
    """``patterns [layers, heads, q, k]`` -> ``[layers, heads]`` mean share of attention that
    query positions put on moves made by the player to move next at that position
    (positions after the game ended are skipped)."""
    n = patterns.shape[-1]
    owners = move_owners(moves)[:n]
    mine = (owners[None, :] == to_move[:n, None]).astype(float)  # [q, k]
    valid = to_move[:n] != 0
    share = (patterns * mine).sum(-1)  # [layers, heads, q]
    return share[..., valid].mean(-1) if valid.any() else np.full(patterns.shape[:2], np.nan)
