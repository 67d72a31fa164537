"""Command line: ``python -m othello_core COMMAND``.

``board`` and ``generate`` use the rules layer only (numpy, no torch), so they start fast; the model
commands (``model_commands``) import torch and their modules inside each command, for the same reason.
"""

from __future__ import annotations

import argparse
import json
import sys

from othello_core.cli.sae_commands import add_sae_commands  # torch-free at import, as model_commands
from othello_core.cli.transcoder_commands import add_transcoder_commands  # torch-free at import
from othello_core.cli.graph_commands import add_graph_commands  # torch-free at import
from othello_core.cli.label_commands import add_label_commands  # torch-free at import
from othello_core.cli import model_commands  # torch-free at import: its commands import their modules when run
from othello_core.rules.board import BLACK, bits, parse_game
from othello_core.rules.games import random_games
from othello_core.rules.notation import MoveError, format_moves, square_to_name
from othello_core.rules.vocab import colour_classes


def board_json(game) -> dict:
    """The ``board --json`` object (documented in the README)."""
    board = game.board
    black, white = board.counts()
    cells = [".BW"[c] for c in colour_classes([board.cell(s) for s in range(64)])]  # colour classes 0/1/2
    return {
        "board": cells,
        "to_move": None if board.to_move is None else ("black" if board.to_move == BLACK else "white"),
        "legal": [square_to_name(s) for s in board.legal_moves()],
        "black": black,
        "white": white,
        "flipped_by_last": [square_to_name(s) for s in bits(game.flipped[-1])] if game.flipped else [],
    }


def cmd_board(args: argparse.Namespace) -> int:

    if args.moves == "-":
        for line in sys.stdin:
            try:
                out = board_json(parse_game(line, integers=args.integers))
            except MoveError as err:
                out = err.to_dict()
            except Exception as err:  # noqa: BLE001 - one bad line must not end the stream
                out = {"error": f"this line could not be read ({type(err).__name__})", "reason": "unreadable",
                       "index": None, "move": None}
            print(json.dumps(out), flush=True)
        return 0
    try:
        game = parse_game(args.moves, integers=args.integers)
    except MoveError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(board_json(game)))
    else:
        board = game.board
        print(board)
        black, white = board.counts()
        turn = {1: "black", -1: "white", None: "nobody (game over)"}[board.to_move]
        print(f"black {black}  white {white}  to move: {turn}  (* = legal move)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:

    batch = random_games(args.games, seed=args.seed)
    out = sys.stdout
    for row, length in zip(batch.squares, batch.lengths):
        out.write(format_moves(row[:length].tolist()) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m othello_core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("board", help="print the board after a move sequence")
    p.add_argument("--moves", required=True,
                   help='moves such as "f5 d6 c3" or "f5d6c3"; "-" reads one sequence per line')
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--integers", choices=["tokens", "squares"], default=None,
                   help="read integer moves as token ids 1..60 or square indices 0..63")
    p.set_defaults(func=cmd_board)

    p = sub.add_parser("generate", help="print random legal games, one per line")
    p.add_argument("--games", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_generate)

    model_commands.add_commands(sub)
    add_sae_commands(sub)
    add_transcoder_commands(sub)
    add_graph_commands(sub)
    add_label_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
