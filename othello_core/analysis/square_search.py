""""What reads square X?": for a square and a state (empty / mine / theirs / legal / flipped), how well the
linear probe of that property reads it at each stream, and which units -- MLP neurons, SAE features,
transcoder features -- name it: their rule says the property holds (ranked by the rule's held-out R^2) or it
is the property they detect best (ranked by that F1)."""

from __future__ import annotations

import numpy as np

from othello_core.analysis.labels import UnitLabels
from othello_core.analysis.sae.metrics import property_names
from othello_core.rules.notation import square_to_name

STATES = ("empty", "mine", "theirs", "legal", "flipped")
PROBE_OF_STATE = {"empty": "blank", "mine": "mine_theirs", "theirs": "mine_theirs", "legal": "legal",
                  "flipped": "flipped"}


def property_index(square: int, state: str) -> int:
    """
    >>> property_index(18, "empty"), property_index(18, "mine")
    (18, 82)
    """
    if state not in STATES:
        raise ValueError(f"a state is one of {STATES}, not {state!r}")
    return property_names().index(f"{square_to_name(square)} {state}")


def probe_accuracy(report: dict, square: int, state: str) -> list[float] | None:
    """Held-out accuracy of the linear probe of the state's property on this square, per stream (None if the
    report has no such probe). The mine/theirs probe is one 3-way probe: its accuracy covers both states."""
    rows = report.get("linear", {}).get(PROBE_OF_STATE[state])
    return None if not rows else [float(r["per_square"][square]) for r in rows]


def readers(label_sets: dict[str, dict[str, UnitLabels]], square: int, state: str, top: int = 15,
            min_score: float = 0.3) -> list[dict]:
    """Units that name the property, best first: ``{kind, set, unit, via, score, rule, best}``. ``via`` is
    ``rule`` (the rule's conditions include the property holding; score = its R^2) or ``best property``
    (score = its F1); a unit named both ways is listed once, by the higher score."""
    prop = property_index(square, state)
    found = []
    for kind, sets in label_sets.items():
        for name, labels in sets.items():
            in_rule = (labels.path == prop + 1).any(1) & (labels.r2 >= min_score)
            is_best = (labels.best_property == prop) & (labels.best_f1 >= min_score)
            for unit in np.flatnonzero(in_rule | is_best):
                by_rule, by_best = float(labels.r2[unit]) * in_rule[unit], float(labels.best_f1[unit]) * is_best[unit]
                found.append({"kind": kind, "set": name, "unit": int(unit),
                              "via": "rule" if by_rule >= by_best else "best property",
                              "score": round(max(by_rule, by_best), 3), "rule": labels.rule(int(unit)),
                              "best": labels.best(int(unit))})
    return sorted(found, key=lambda r: -r["score"])[:top]
