"""What the rule labels say, per layer: the share of units a depth-3 tree over the board explains, set
beside the published 913 of 2,048 layer-5 neurons (arXiv 2511.00059, R^2 > 0.7)."""

from __future__ import annotations

import numpy as np

from othello_core.analysis.labels import EXPLAINED_R2, UnitLabels

PUBLISHED_LAYER5 = {"explained": 913, "neurons": 2048, "r2": EXPLAINED_R2,
                    "what": "layer-5 MLP neurons of the paper's model explained by depth-limited decision trees "
                            "(arXiv 2511.00059)"}


def label_summary(sets: dict[str, UnitLabels], info: dict) -> dict:
    """Per set: units, how many have R^2 above the bar, the median R^2, and the best-explained units' rules."""
    rows = {}
    for name, labels in sets.items():
        top = np.argsort(-labels.r2)[:3]
        rows[name] = {"units": int(len(labels.r2)), "explained": int((labels.r2 > EXPLAINED_R2).sum()),
                      "share": round(float((labels.r2 > EXPLAINED_R2).mean()), 4),
                      "median_r2": round(float(np.median(labels.r2)), 4),
                      "examples": [{"unit": int(u), "r2": round(float(labels.r2[u]), 3), "rule": labels.rule(int(u))}
                                   for u in top]}
    return {"sets": rows, "positions": info["positions"], "depth": info["depth"], "command": info["command"],
            "wall_s": info["wall_s"]}


def summary_lines(summary: dict) -> list[str]:
    lines = []
    for kind, s in summary.items():
        lines.append(f"{kind} (depth-{s['depth']} trees, fitted on {s['positions']['fit']:,} positions, R^2 on "
                     f"{s['positions']['test']:,} held-out ones):")
        for name, row in s["sets"].items():
            lines.append(f"  {name}: {row['explained']:,} of {row['units']:,} with R^2 > {EXPLAINED_R2} "
                         f"({row['share']:.1%}), median R^2 {row['median_r2']:.3f}; best: {row['examples'][0]['rule']} "
                         f"(unit {row['examples'][0]['unit']}, R^2 {row['examples'][0]['r2']:.2f})")
    p = PUBLISHED_LAYER5
    lines.append(f"published: {p['explained']} of {p['neurons']} ({p['explained'] / p['neurons']:.1%}) {p['what']}")
    return lines


def markdown_table(summary: dict) -> str:
    """The README's table (``labels report --markdown``): per layer or set, units explained at R^2 > 0.7."""
    lines = [f"| units | explained (held-out R² > {EXPLAINED_R2}) | share | median R² | best-explained unit's rule |",
             "| --- | --- | --- | --- | --- |"]
    for kind, s in summary.items():
        for name, row in s["sets"].items():
            ex = row["examples"][0]
            lines.append(f"| {kind} {name} | {row['explained']:,} of {row['units']:,} | {row['share']:.1%} | "
                         f"{row['median_r2']:.3f} | #{ex['unit']}: {ex['rule']} (R² {ex['r2']:.2f}) |")
    lines.append(f"| published: {PUBLISHED_LAYER5['what']} | {_published_count()} | — | — |")
    return "\n".join(lines)


def depth_table(sweep: dict) -> str:
    """The README's depth table (``labels report --depth``): layer ``sweep["layer"]``'s neurons explained at each
    (fitting games, tree depth) of ``labels depth``, beside the published count.

    >>> print(depth_table({"layer": 5, "rows": [{"games": 100, "positions": 5900, "depth": 3, "units": 2048,
    ...     "explained": 212, "share": 0.1035, "median_r2": 0.394}]}))
    | fitting games (positions) | tree depth | L5 neurons with held-out R² > 0.7 | share | median R² |
    | --- | --- | --- | --- | --- |
    | 100 (5,900) | 3 | 212 of 2,048 | 10.4% | 0.394 |
    | published (arXiv 2511.00059) | — | 913 of 2,048 | 44.6% | — |
    """
    lines = [f"| fitting games (positions) | tree depth | L{sweep['layer']} neurons with held-out R² > {EXPLAINED_R2} "
             "| share | median R² |", "| --- | --- | --- | --- | --- |"]
    for row in sorted(sweep["rows"], key=lambda r: (r["games"], r["depth"])):
        lines.append(f"| {row['games']:,} ({row['positions']:,}) | {row['depth']} | {row['explained']:,} of "
                     f"{row['units']:,} | {row['explained'] / row['units']:.1%} | {row['median_r2']:.3f} |")
    if sweep["layer"] == 5:  # the published count is of layer 5
        lines.append(f"| published (arXiv 2511.00059) | — | {_published_count()} | — |")
    return "\n".join(lines)


def _published_count() -> str:
    """``913 of 2,048 | 44.6%``: two cells of the published layer-5 count."""
    p = PUBLISHED_LAYER5
    return f"{p['explained']:,} of {p['neurons']:,} | {p['explained'] / p['neurons']:.1%}"
