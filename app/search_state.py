"""The "who reads a square" choice as URL parameters: ``?search=c3&search_state=empty``. Pure: no Streamlit."""

from __future__ import annotations

from othello_core.analysis.square_search import STATES
from othello_core.rules.notation import MoveError, parse_moves, square_to_name


def to_query(choice: tuple[int, str] | None) -> dict[str, str]:
    """
    >>> to_query((18, "empty")), to_query(None)
    ({'search': 'c3', 'search_state': 'empty'}, {})
    """
    return {} if choice is None else {"search": square_to_name(choice[0]), "search_state": choice[1]}


def from_query(params: dict) -> tuple[tuple[int, str] | None, tuple[str, ...]]:
    """
    >>> from_query({"search": "c3", "search_state": "legal"}), from_query({"search": "z9"})[1]
    (((18, 'legal'), ()), ("the searched square 'z9' is not one square; pick one on the page",))
    """
    if "search" not in params:
        return None, ()
    try:
        (square,) = parse_moves(str(params["search"])[:10])
    except (MoveError, ValueError):
        return None, (f"the searched square {str(params['search'])[:10]!r} is not one square; pick one on the page",)
    state = str(params.get("search_state", "empty"))
    if state not in STATES:
        return (square, "empty"), (f"the state {state[:20]!r} is not one of {', '.join(STATES)}; showing empty",)
    return (square, state), ()
