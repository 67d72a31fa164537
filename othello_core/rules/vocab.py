"""The vocabulary every layer shares, in one place: squares, tokens, their conversions (scalar and
array), the board's class encodings, and (re-exported) the hook names and the one layer convention of
``hooks`` (layer L = TransformerLens block L; *after L5* = ``blocks.5.hook_resid_post``; *embed*).

* ``Square`` 0..63 (``index = (rank - 1) * 8 + file``); ``Token`` 0..60 (0 is padding, 1..60 the
  non-centre squares in ascending order); ``Player`` ``BLACK = 1`` / ``WHITE = -1``.
* Colour classes per square: 0 empty, 1 black, 2 white (``COLOUR_CLASSES``); relative classes:
  0 empty, 1 mine, 2 theirs (``RELATIVE_CLASSES``), *mine* being the player to move next.

>>> moves_to_tokens([37, 43, 18])
[34, 40, 19]
>>> tokens_to_squares(np.array([[34, 40, 0]])).tolist()
[[37, 43, -1]]
>>> squares_to_token_array(np.array([37, -1])).tolist()
[34, 0]
>>> probs = np.zeros(61); probs[34] = 0.9; probs[0] = 0.1
>>> float(token_probs_to_squares(probs)[37]), token_probs_to_squares(probs).shape
(0.9, (64,))
>>> relative_to_colour(np.array([0, 1, 2]), to_move=WHITE).tolist()
[0, 2, 1]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from othello_core.rules.hooks import (  # noqa: F401  (re-exported: the hook names are part of the vocabulary)
    BLOCK_OUTPUTS, attn_out, attn_pattern, attn_z, block_label, layer_param, mlp_in, mlp_out, mlp_post, resid_mid,
    published_stream_label, resid_post, resid_pre, stream_hook, stream_hooks, stream_label, stream_of_param, stream_title,
)
from othello_core.rules.notation import (  # noqa: F401  (re-exported)
    MODEL_CONTEXT, N_SQUARES, PAD_TOKEN, SQUARE_TO_TOKEN, TOKEN_TO_SQUARE, VOCAB_SIZE, Player, Square, Token,
)

BLACK, WHITE = 1, -1  # as othello_core.rules.board
COLOUR_CLASSES = ("empty", "black", "white")
RELATIVE_CLASSES = ("empty", "mine", "theirs")
EMPTY, BLACK_CLASS, WHITE_CLASS = 0, 1, 2
MINE, THEIRS = 1, 2

_SQUARE_OF_TOKEN = np.array(TOKEN_TO_SQUARE, dtype=np.int64)  # [61]; token 0 -> -1
_TOKEN_OF_SQUARE = np.array(SQUARE_TO_TOKEN + (PAD_TOKEN,), dtype=np.int64)  # [65]; square -1 -> padding
MOVE_SQUARES = _SQUARE_OF_TOKEN[1:]  # [60]: the square of tokens 1..60


def moves_to_tokens(squares: Sequence[Square], limit: int = MODEL_CONTEXT) -> list[Token]:
    """The model's input for a move sequence: the tokens of its first ``limit`` moves."""
    return [SQUARE_TO_TOKEN[s] for s in list(squares)[:limit]]


def squares_to_token_array(squares: np.ndarray) -> np.ndarray:
    """Square indices (any shape; -1 after a game's end) -> tokens (0 there)."""
    return _TOKEN_OF_SQUARE[squares]


def tokens_to_squares(tokens: np.ndarray) -> np.ndarray:
    """Tokens (any shape; 0 is padding) -> square indices (-1 for padding)."""
    return np.where(tokens > 0, _SQUARE_OF_TOKEN[np.clip(tokens, 0, VOCAB_SIZE - 1)], -1)


def token_probs_to_squares(probs: np.ndarray) -> np.ndarray:
    """``[..., 61]`` per-token values -> ``[..., 64]`` per square (the centre squares get 0)."""
    out = np.zeros(probs.shape[:-1] + (N_SQUARES,), dtype=probs.dtype)
    out[..., MOVE_SQUARES] = probs[..., 1:]
    return out


def square_mask_to_tokens(mask: np.ndarray) -> np.ndarray:
    """``[..., 64]`` per-square booleans -> ``[..., 61]`` per token (padding token 0 always False)."""
    picked = mask[..., MOVE_SQUARES]
    return np.concatenate([np.zeros(picked.shape[:-1] + (1,), dtype=bool), picked], axis=-1)


def colour_classes(cells: np.ndarray) -> np.ndarray:
    """Board cells as players (``BLACK`` 1 / ``WHITE`` -1 / 0) -> colour classes (1 black, 2 white)."""
    cells = np.asarray(cells)
    return np.where(cells == BLACK, BLACK_CLASS, np.where(cells == WHITE, WHITE_CLASS, EMPTY))


def relative_to_colour(relative: np.ndarray, to_move: Player) -> np.ndarray:
    """Relative classes (mine/theirs of ``to_move``) -> colour classes."""
    relative = np.asarray(relative)
    mine, theirs = (BLACK_CLASS, WHITE_CLASS) if to_move == BLACK else (WHITE_CLASS, BLACK_CLASS)
    return np.where(relative == MINE, mine, np.where(relative == THEIRS, theirs, EMPTY))


def relative_to_signed(relative: np.ndarray) -> np.ndarray:
    """Relative classes -> +1 mine, -1 theirs, 0 empty (for diverging board plots)."""
    relative = np.asarray(relative)
    return np.where(relative == MINE, 1.0, np.where(relative == THEIRS, -1.0, 0.0))
