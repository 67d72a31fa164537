import json
import subprocess
import sys

from othello_core.rules.board import replay
from othello_core.rules.notation import parse_moves

from .conftest import ROOT


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "othello_core", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_board_json():
    out = run("board", "--moves", "f5 d6 c3", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"board", "to_move", "legal", "black", "white", "flipped_by_last"}
    assert len(data["board"]) == 64 and set(data["board"]) <= {"B", "W", "."}
    assert data["board"][37] == "B" and data["board"][43] == "W"  # f5, d6
    assert data["to_move"] == "white" and data["flipped_by_last"] == ["d4"]
    assert (data["black"], data["white"]) == (5, 2)
    assert data["legal"] == sorted(data["legal"], key=lambda n: parse_moves(n)[0])


def test_board_text_and_token_input():
    out = run("board", "--moves", "34 40 19", "--integers", "tokens")
    assert out.returncode == 0 and "to move: white" in out.stdout
    assert out.stdout.splitlines()[0].split() == list("abcdefgh")


def test_invalid_sequence_exits_2_with_the_error_on_stderr():
    out = run("board", "--moves", "f5 d6 a1")
    assert out.returncode == 2 and out.stdout == ""
    assert "move 3" in out.stderr and "a1" in out.stderr and "flips nothing" in out.stderr
    assert run("board", "--moves", "37 43").returncode == 2  # integers without a mode


def test_stdin_prints_one_json_line_per_input_line_and_goes_on_after_errors():
    out = run("board", "--moves", "-", stdin="f5 d6\nf5 zz c3\nd3\n")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(lines) == 3
    assert lines[0]["to_move"] == "black"
    assert lines[1] == {"error": lines[1]["error"], "reason": "not_a_square", "index": 1, "move": "zz"}
    assert lines[2]["flipped_by_last"] == ["d4"]


def test_generate_prints_legal_seeded_games():
    out = run("generate", "--games", "20", "--seed", "3")
    games = out.stdout.split()
    assert len(games) == 20 and games == run("generate", "--games", "20", "--seed", "3").stdout.split()
    for text in games:
        assert replay(parse_moves(text)).board.is_game_over()


def test_board_commands_do_not_import_torch():
    code = ("import sys, io, contextlib; from othello_core.cli.main import main; "
            "f = io.StringIO();\nwith contextlib.redirect_stdout(f): main(['board', '--moves', 'f5', '--json'])\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
