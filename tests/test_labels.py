"""Rule labels: planted units come back with the rule they were built from, and the R^2 a tree earns."""
import numpy as np

from othello_core.analysis.labels import (RULE_DEPTH, UnitLabels, best_properties, explained_share, label_units,
                                          load_labels, mentions, rule_text, save_labels)
from othello_core.analysis.sae.metrics import property_names

NAMES = property_names()


def planted(rows: int, seed: int):
    rng = np.random.default_rng(seed)
    props = rng.random((rows, len(NAMES))) < 0.3
    c3_empty, d4_theirs = NAMES.index("c3 empty"), NAMES.index("d4 theirs")
    units = np.stack([
        2.0 * (props[:, c3_empty] & props[:, d4_theirs]) + rng.normal(0, 0.05, rows),  # a two-property rule
        rng.normal(0, 1, rows),  # noise: nothing explains it
        np.full(rows, 0.3),  # constant: no rule, no split
        props[:, NAMES.index("e5 legal")].astype(float),  # a detector of one property
    ], axis=1).astype(np.float32)
    return units, props


def test_planted_units_get_their_rule_and_r2():
    fit_acts, fit_props = planted(3000, 0)
    test_acts, test_props = planted(3000, 1)
    labels = label_units(fit_acts, fit_props, test_acts, test_props)
    assert labels.path.shape == (4, RULE_DEPTH)
    assert labels.r2[0] > 0.95 and labels.r2[3] > 0.99
    assert labels.r2[1] < 0.05 and labels.r2[2] == 0.0
    assert set(labels.rule(0).removeprefix("fires when ").split(", ")) == {"c3 empty", "d4 theirs"}
    assert labels.rule(3) == "fires when e5 legal"
    assert labels.rule(2).startswith("fires everywhere alike")
    assert abs(labels.leaf_mean[0] - 2.0) < 0.05 and abs(labels.leaf_share[0] - 0.09) < 0.03  # 0.3 x 0.3 of rows
    assert NAMES[labels.best_property[3]] == "e5 legal" and labels.best_f1[3] == 1.0
    assert mentions(labels, NAMES.index("d4 theirs"))[0] and not mentions(labels, NAMES.index("d4 theirs"))[1]


def test_a_deeper_tree_explains_a_rule_of_more_properties():
    """A unit that fires on a conjunction of three properties needs three splits: depth 2 leaves it unexplained
    (R^2 about 0.4), depth 3 explains it; the two-property and one-property units count at both depths."""
    rng = np.random.default_rng(5)

    def units(rows, seed):
        acts, props = planted(rows, seed)
        three = props[:, NAMES.index("a1 mine")] & props[:, NAMES.index("b2 empty")] & props[:, NAMES.index("h8 legal")]
        return np.concatenate([acts, 3.0 * three[:, None] + rng.normal(0, 0.05, (rows, 1))], 1), props

    fit, test = units(6000, 0), units(6000, 1)
    shallow, deep = (explained_share(*fit, *test, depth=d) for d in (2, 3))
    assert (shallow["units"], shallow["explained"], deep["explained"]) == (5, 2, 3)
    assert deep["share"] == 0.6 and deep["median_r2"] > shallow["median_r2"] - 1e-9


def test_best_property_f1_by_hand():
    props = np.zeros((10, len(NAMES)), bool)
    props[:4, 7] = True  # the property holds on rows 0-3
    acts = np.zeros((10, 1), np.float32)
    acts[[0, 1, 2, 8], 0] = 1.0  # active on three of them and one other: precision 3/4, recall 3/4
    best, f1 = best_properties(acts, props)
    assert best[0] == 7 and abs(f1[0] - 0.75) < 1e-6


def test_rule_text_and_storage_round_trip(tmp_path):
    path = np.array([[NAMES.index("a1 mine") + 1, -(NAMES.index("h8 flipped") + 1), 0]], np.int16)
    assert rule_text(path[0]) == "fires when a1 mine, not h8 flipped"
    one = UnitLabels(np.array([0.8], np.float32), path, np.ones(1, np.float32), np.full(1, 0.2, np.float32),
                     np.array([3], np.int16), np.array([0.5], np.float32))
    sets, info = load_labels(save_labels(tmp_path / "x.npz", {"L0": one, "L1": one}, {"kind": "neurons"}))
    assert list(sets) == ["L0", "L1"] and info["kind"] == "neurons"
    assert sets["L1"].rule(0) == one.rule(0) and sets["L0"].best(0) == "d1 empty (F1 0.50)"


def test_square_search_ranks_units_naming_the_property():
    from othello_core.analysis.square_search import probe_accuracy, property_index, readers
    c3_empty = property_index(18, "empty")
    path = np.zeros((3, 3), np.int16)
    path[0, 0] = c3_empty + 1  # rule: c3 empty
    path[1, 0] = -(c3_empty + 1)  # rule: NOT c3 empty (does not name it as holding)
    labels = UnitLabels(np.array([0.8, 0.9, 0.1], np.float32), path, np.ones(3, np.float32), np.ones(3, np.float32),
                        np.array([0, 0, c3_empty], np.int16), np.array([0.1, 0.1, 0.6], np.float32))
    found = readers({"neurons": {"L5": labels}}, 18, "empty")
    assert [(r["unit"], r["via"], r["score"]) for r in found] == [(0, "rule", 0.8), (2, "best property", 0.6)]
    report = {"linear": {"blank": [{"per_square": [0.5] * 18 + [0.9] + [0.5] * 45}] * 2}}
    assert probe_accuracy(report, 18, "empty") == [0.9, 0.9] and probe_accuracy(report, 18, "legal") is None


def test_rule_matches_and_the_validation_summary():
    from othello_core.analysis.label_validation import rule_matches, summary
    props = np.zeros((4, len(NAMES)), bool)
    props[[0, 1], 5] = True
    props[[1, 2], 9] = True
    assert rule_matches(np.array([6, -10, 0]), props).tolist() == [True, False, False, False]  # 5 holds, 9 does not
    assert rule_matches(np.array([0, 0, 0]), props).all()
    rows = [{"harm_matching": 0.2, "harm_other": 0.1}, {"harm_matching": 0.0, "harm_other": 0.3},
            {"harm_matching": float("nan"), "harm_other": -0.1}]
    s = summary(rows)
    assert s == {"neurons": 3, "median_harm_matching": 0.1, "median_harm_other": 0.1, "more_where_rule_holds": 1}
