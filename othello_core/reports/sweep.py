"""The minimal-edit sweep (``interventions.run_sweep``) as the pages show it: one table and one caption, for
Interventions and Findings alike."""

from __future__ import annotations

from othello_core.analysis.interventions import setting_label


def sweep_table(sweep: dict) -> list[dict]:
    """The sweep as table rows: each setting's name (``setting_label``), its top-N scores and, where the sweep
    recorded them, the probability on the moves the edit makes legal / illegal / leaves legal (clean -> edited)
    and the share of positions it moved the right way on each of the first two kinds the position has
    (``sweep_caption`` words it)."""
    rows = []
    for r in sweep["settings"]:
        row = {"setting": setting_label(r), "success": r["success_rate"],
               "errors (FP+FN)": r["mean_errors_nanda"], "errors (Li)": r["mean_errors_li"]}
        if "mass" in r:
            for kind, title in (("made_legal", "P(made legal)"), ("made_illegal", "P(made illegal)"),
                                ("kept_legal", "P(still legal)")):
                row[title] = f"{r['mass'][kind]['before']:.3f} → {r['mass'][kind]['after']:.3f}"
            row["right way"] = r["moved_rate"]
        rows.append(row)
    return rows


def sweep_caption(sweep: dict) -> str:
    """What the sweep's table measures, in words, with its positions and their sources.

    >>> sweep_caption({"positions": 200, "sources": {"eothello": 100, "synthetic": 100}}).split(", each")[0]
    '200 positions (100 eOthello, 100 synthetic)'
    """
    names = {"eothello": "eOthello", "synthetic": "synthetic"}
    sources = ", ".join(f"{n} {names.get(s, s)}" for s, n in sweep["sources"].items())
    text = (f"{sweep['positions']} positions ({sources}), each with one occupied square flipped by the edit. "
            "Success: the edited model's top-N moves are exactly the legal moves of the edited board.")
    if "positions_with" in sweep:
        counts = sweep["positions_with"]
        both = counts["made_legal"] + counts["made_illegal"] - sweep["positions"]  # every position changes one
        text += (" P(made legal) / P(made illegal) / P(still legal): the probability on the moves the flip makes "
                 "legal / makes illegal / leaves legal, clean model → edited, averaged over the positions that have "
                 f"such moves ({counts['made_legal']}, {counts['made_illegal']} and {counts['kept_legal']}); "
                 "right way: the share of positions where the edit raised the first and lowered the second, on each "
                 f"of the two kinds the position has ({both} of {sweep['positions']} have both).")
    return text
