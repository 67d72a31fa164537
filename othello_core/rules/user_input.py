"""What a visitor types, made safe: whole numbers, length caps, and text echoed back into markdown.

Every integer a user types (moves as token ids or square indices, the URL's ``at`` and ``layer``,
an eOthello game id) goes through ``parse_int``: ASCII digits only, at most a few of them, inside
a range. Python's ``int()`` reads other scripts' digits ('٣' is 3, '５' is 5) and raises on '²',
'--5' or 5,000 digits; here each of them gives the same clear ``InputError``.

Text a page echoes (a bad move, a model source, a game id) goes through ``shown``: cut to a short
excerpt and escaped so that markdown in it renders as the characters typed, never as a link.

>>> parse_int("42", "game id", 0, 10**9)
42
>>> parse_int("٣", "layer", 0, 8)
Traceback (most recent call last):
...
othello_core.rules.user_input.InputError: layer must be a whole number written with the digits 0-9, not '٣'
>>> shown("[Click here](https://evil.example)")
'\\\\[Click here\\\\]\\\\(https\\\\://evil\\\\.example\\\\)'
>>> excerpt("x" * 100, 10)
'xxxxxxxxx…'
"""

from __future__ import annotations

import re

MAX_DIGITS = 12  # far above any id the project uses; int() never sees more
MAX_MOVES_TEXT = 2_000  # characters in a pasted or linked move sequence (a full game is ~180)
MAX_QUERY_VALUE = 2_000  # characters in any one URL parameter
EXCERPT = 40  # characters of user text an error message repeats

_ASCII_INT = re.compile(r"[0-9]+")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=\"'&])")


class InputError(ValueError):
    """User input that cannot be used; the message says what is wrong and what to type instead."""


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` on one line, cut to ``limit`` characters (an ellipsis marks the cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def escape_markdown(text: str) -> str:
    """Backslash every markdown-special character, so Streamlit shows the text as typed."""
    return _MARKDOWN.sub(r"\\\1", text)


def shown(text: str, limit: int = EXCERPT) -> str:
    """User text as an error message may repeat it: a short excerpt, markdown-escaped."""
    return escape_markdown(excerpt(text, limit))


def is_ascii_int(text: str, max_digits: int = MAX_DIGITS) -> bool:
    """Whether ``text`` is a non-negative whole number in ASCII digits, at most ``max_digits`` long."""
    return len(text) <= max_digits and _ASCII_INT.fullmatch(text) is not None


def parse_int(text, name: str, lo: int, hi: int) -> int:
    """``text`` as an integer in ``lo..hi``; ``InputError`` naming ``name`` otherwise."""
    raw = str(text).strip()
    if not is_ascii_int(raw):
        if _ASCII_INT.fullmatch(raw):
            raise InputError(f"{name} has too many digits ({len(raw):,}): use {lo}..{hi}")
        raise InputError(f"{name} must be a whole number written with the digits 0-9, not {excerpt(raw)!r}")
    value = int(raw)
    if not lo <= value <= hi:
        raise InputError(f"{name} {value} is out of range: use {lo}..{hi}")
    return value


def parse_choice(text, name: str, allowed: tuple[str, ...]) -> str:
    """``text`` if it is one of ``allowed``; ``InputError`` naming ``name`` and the choices otherwise.

    >>> parse_choice("probe", "the view", ("prediction", "probe"))
    'probe'
    >>> parse_choice("explode", "the view", ("prediction", "probe"))
    Traceback (most recent call last):
    ...
    othello_core.rules.user_input.InputError: the view must be one of prediction, probe
    """
    if text not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}")
    return text


def check_length(text: str, name: str, limit: int) -> str:
    """``text`` unchanged if it is at most ``limit`` characters; ``InputError`` otherwise."""
    if len(text) > limit:
        raise InputError(f"the {name} is {len(text):,} characters long; at most {limit:,} are read "
                         "(a whole game is about 180)")
    return text
