"""The game, exactly: squares and tokens, the rules on bitboards, batched random games and their
labels, hook names, and the one parser for what a visitor types. numpy and the standard library
only (``tests/test_architecture.py``); every other layer builds on this one."""

from othello_core.rules.board import Board, Game, parse_game, replay
from othello_core.rules.notation import MoveError, format_moves, name_to_square, square_to_name

__all__ = ["Board", "Game", "MoveError", "format_moves", "name_to_square", "parse_game", "replay", "square_to_name"]
