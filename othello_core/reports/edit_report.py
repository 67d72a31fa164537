"""What an edit changed, as the Interventions page states it under its boards: one table of the clean model
against the edited one (error counts against the edited board, probability on the moves whose legality the edit
changed) and a caption naming those moves. One table, not a grid of metric cards: every element a page draws costs
the browser time on every click (bench/RESULTS.md)."""

from __future__ import annotations

from othello_core.analysis.interventions import EditResult
from othello_core.rules.notation import square_to_name

# (legality_mass key, what the row counts, whether more probability there is what the edit should bring)
MASS_ROWS = (("made_legal", "the edit makes legal", True), ("made_illegal", "the edit makes illegal", False),
             ("kept_legal", "still legal", True))


def _change(delta: float, more_is_better: bool, digits: int) -> str:
    """The change, green where it goes the way a working edit should, red where it goes the other way."""
    if round(delta, digits) == 0:
        return f"{0:+.{digits}f}"  # not "-0.000"
    text = f"{delta:+.{digits}f}"
    return f":green[{text}]" if (delta > 0) == more_is_better else f":red[{text}]"


def outcome_rows(result: EditResult) -> list[tuple[str, str, str, str]]:
    """(what, clean model, edited model, change) for each row of the table."""
    errors = result.errors
    rows = []
    for key, what in (("nanda", "Errors vs the edited board (FP+FN)"), ("li", "Li et al. errors (FP in the top N)")):
        clean, edited = errors["clean_vs_edited_board"][key], errors["edited_vs_edited_board"][key]
        rows.append((what, str(clean), str(edited), _change(edited - clean, more_is_better=False, digits=0)))
    masses = result.legality_mass()
    for key, what, more_is_better in MASS_ROWS:
        mass = masses[key]
        moves = f"{mass['squares']} move{'s' * (mass['squares'] != 1)}"
        if not mass["squares"]:
            rows.append((f"P on the moves {what} (none)", "—", "—", "—"))
            continue
        rows.append((f"P on the {moves} {what}", f"{mass['before']:.3f}", f"{mass['after']:.3f}",
                     _change(mass["after"] - mass["before"], more_is_better, digits=3)))
    return rows


def outcome_table(result: EditResult) -> str:
    """The rows as a Markdown table (Streamlit's colour directives in the change column)."""
    lines = ["| | clean model | edited model | change |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {what} | {clean} | {edited} | {change} |" for what, clean, edited, change in outcome_rows(result)]
    return "\n".join(lines)


def outcome_caption(result: EditResult) -> str:
    """The moves whose legality the edit changes, the clean model's errors against the true board, and what the
    table's rows count."""
    flips = ", ".join(f"{square_to_name(s)} ({'now legal' if result.legal_after[s] else 'now illegal'})"
                      for s in result.flipped_legality) or "no move"
    true_board = result.errors["clean_vs_true_board"]["nanda"]
    return (f"The edit changes the legality of: {flips}. The clean model against the true board: {true_board} "
            f"error{'s' * (true_board != 1)} (FP+FN). Errors count the top-N predictions (N = the number of legal "
            "moves on the edited board) against the edited board's legal moves; P sums the probability the model "
            "puts on those moves.")
