"""A corpus of malformed input, as careless or hostile visitors type it (issue 26's families)."""
from othello_core.rules.board import parse_game
from othello_core.rules.notation import MoveError

UNICODE_DIGITS = ["²", "①", "⁵", "₅", "٣", "５", "߃", "𝟓", "৩", "Ⅻ", "½", "٣٣", "²²"]
NUMBER_SHAPES = ["--5", "-5", "+5", "5-", "5.0", "1e3", "0x10", "05", "-0", "5" * 5000, "9" * 20, "4_2", "٣4"]
MARKDOWN = ["[Click_here_to_re-login](https://evil.example/login)", "**bold**", "_x_", "`code`", "# head",
            "![img](http://evil.example/x.png)", "<script>alert(1)</script>", "<b>x</b>", "[x]: http://e.x",
            "| a | b |", "> quote", "$x^2$", ":red[x]", "~~s~~", "\\[x\\](y)"]
CONTROL = ["\x00", "\u202e", "\u200b", "\t\t", "\r", "\x1b[31m", "\ufeff", "🙂", "f5\x00d6", "ｆ５"]
BAD_MOVES = ["zz", "i9", "a0", "a9", "f5 f5", "f5 a1", "e4", "d4", "f55", "ff5", "5f", "f 5", "F5D6C3zz",
             "f5,,;;d6 c9"]
PREFIXES = ["", "f5 ", "f5d6", "f5 d6 c3 "]


def _refused(text: str) -> bool:
    """Whether the paste box refuses ``text`` (numbers read as token ids, as the box defaults to)."""
    if not text.strip():
        return True  # an empty paste is refused with a message
    try:
        parse_game(text, integers="tokens")
    except MoveError:
        return True
    return False


def corpus() -> list[str]:
    """At least 200 malformed (or empty) inputs, none of them a legal game (``f5`` + a tab, say,
    is one, so such combinations are left out)."""
    pieces = UNICODE_DIGITS + NUMBER_SHAPES + MARKDOWN + CONTROL + BAD_MOVES
    items = [prefix + piece for prefix in PREFIXES for piece in pieces]
    items += ["f5 d6 " * 40, "x" * (1 << 20), "f5" * 61, "f5 d6 c3 d3 c4 f4 f6 g5 e6 e3 " + "²" * 3]
    return [t for t in dict.fromkeys(items) if _refused(t)]


def url_params() -> list[dict[str, str]]:
    """Query strings a shared link may carry: bad moves, and bad ``at`` / ``layer`` / ``model``."""
    junk = UNICODE_DIGITS + NUMBER_SHAPES[:8] + MARKDOWN[:4] + ["", " ", "999999", "-1"]
    out = [{"moves": m} for m in corpus()[:120]]
    out += [{"moves": "f5d6c3", "at": j} for j in junk]
    out += [{"moves": "f5d6c3", "layer": j} for j in junk]
    out += [{"moves": "f5d6", "model": m} for m in ["/etc/passwd", "../../etc", "[x](http://e.x)", "\x00", "z" * 3000]]
    return out
