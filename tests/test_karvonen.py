"""Karvonen et al.'s board-state metrics on their definitions: a hand-worked example, planted features
equal to the properties (and ones that miss known positives), and the properties of real games."""
import numpy as np
import pytest
import torch

from othello_core.analysis.activation_store import real_positions
from othello_core.analysis.sae.karvonen import board_reconstruction, coverage, karvonen_metrics, karvonen_properties
from othello_core.rules.games import random_games
from othello_core.rules.vocab import MINE, THEIRS

# four positions, two properties, two features (worked by hand in the comments)
PROPS = torch.tensor([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=torch.float32)
FEATS = torch.tensor([[2, 1], [2, 0], [0, 3], [0, 0]], dtype=torch.float32)


def test_coverage_by_hand():
    out = coverage(FEATS, PROPS, FEATS.max(0).values)
    # t < 0.4: feature 1 (max 3) fires at rows 0 and 2 -> F1 0.5 on property 1; feature 0 is property 0 (F1 1)
    assert out["by_threshold"][:4] == pytest.approx([0.75] * 4)
    # t >= 0.4: feature 1 fires at row 2 only -> precision 1, recall 1/2, F1 2/3 on property 1
    assert out["by_threshold"][4:] == pytest.approx([(1 + 2 / 3) / 2] * 6)
    assert out["value"] == pytest.approx(5 / 6) and out["threshold"] == 0.4


def test_board_reconstruction_by_hand():
    fit_feats, fit_props = FEATS.repeat(10, 1), PROPS.repeat(10, 1)  # 10 copies: every firing feature fires >= 10 times
    test_feats = torch.tensor([[2, 0], [0, 3], [0, 0], [2, 3]], dtype=torch.float32)
    test_props = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 1]], dtype=torch.float32)
    out = board_reconstruction(fit_feats, fit_props, test_feats, test_props, fit_feats.max(0).values)
    # t < 0.4: only feature 0 is labelled (property 0, precision 1); it fires at held-out rows 0 and 3:
    # 1 hit, 2 predicted, 5 true -> 2/7
    assert out["by_threshold"][:4] == pytest.approx([2 / 7] * 4)
    # t >= 0.4: feature 1 is labelled too (property 1): predictions (0,p0) (3,p0) (1,p1) (3,p1), 3 hits -> 6/9
    assert out["by_threshold"][4:] == pytest.approx([6 / 9] * 6)
    assert out["value"] == pytest.approx(2 / 3) and out["threshold"] == 0.4 and out["labelled_features"] == 2


@pytest.fixture(scope="module")
def real():
    fit, test = random_games(60, seed=1, labels=True), random_games(60, seed=2, labels=True)
    return [(karvonen_properties(b, real_positions(b)), len(real_positions(b))) for b in (fit, test)]


def test_properties_are_the_128_mine_theirs_squares_relative_to_the_mover_and_64_legal_moves(real):
    batch = random_games(5, seed=3, labels=True)
    pick = real_positions(batch)
    props = karvonen_properties(batch, pick)
    rel = batch.labels["relative"][pick[:, 0], pick[:, 1]]
    assert props["board"].shape == (len(pick), 128) and props["legal"].shape == (len(pick), 64)
    assert (props["board"][:, :64] == (rel == MINE)).all() and (props["board"][:, 64:] == (rel == THEIRS)).all()
    assert not (props["board"][:, :64] & props["board"][:, 64:]).any()


def test_features_equal_to_the_properties_score_one(real):
    (fit, _), (test, _) = real

    def planted(props):  # one feature per property, plus 16 random ones
        exact = np.concatenate([props["board"], props["legal"]], axis=1).astype(np.float32)
        return torch.cat([torch.as_tensor(exact), torch.rand(len(exact), 16)], 1)

    out = karvonen_metrics(planted(fit), fit, planted(test), test)
    assert out["board"]["properties"] == 128 and out["legal"]["properties"] == 60  # the centre is never legal
    for group in ("board", "legal"):
        assert out[group]["coverage"]["value"] == pytest.approx(1.0)
        assert out[group]["reconstruction"]["value"] == pytest.approx(1.0)


def test_features_that_miss_known_positives_score_what_hand_counting_gives(real):
    (fit, _), (test, _) = real
    miss = 3  # each planted feature is silent on the first 3 positives of its property

    def planted(props):
        feats = props["board"].astype(np.float32).copy()
        for j in range(feats.shape[1]):
            feats[np.flatnonzero(feats[:, j])[:miss], j] = 0
        return torch.as_tensor(feats)

    out = karvonen_metrics(planted(fit), fit, planted(test), test)
    positives = fit["board"].sum(0)
    by_hand = np.mean(2 * (positives - miss) / (2 * positives - miss))  # precision 1, recall (n - 3) / n
    assert out["board"]["coverage"]["value"] == pytest.approx(by_hand, rel=1e-5)
    test_pos = test["board"].sum()
    hits = test_pos - miss * 128  # every feature labelled (precision 1); each misses 3 held-out positives
    assert out["board"]["reconstruction"]["value"] == pytest.approx(2 * hits / (hits + test_pos), rel=1e-5)


def test_the_always_firing_baseline_is_coverage_with_no_knowledge(real):
    """One feature that fires everywhere: coverage 2p / (1 + p) averaged over the properties, by the metric's own
    code and by the closed form; it labels nothing (precision = prevalence < 0.95), so it reconstructs nothing;
    its best feature is dense on every property."""
    from othello_core.analysis.sae.karvonen import always_fires_coverage
    (fit, n_fit), (test, n_test) = real
    out = karvonen_metrics(torch.ones(n_fit, 1), fit, torch.ones(n_test, 1), test)
    assert out["board"]["coverage"]["value"] == pytest.approx(always_fires_coverage(fit["board"]), rel=1e-5)
    assert 0.3 < out["board"]["coverage"]["value"] < 0.6  # far from 0: coverage's floor on these properties
    assert out["board"]["reconstruction"]["value"] == 0.0 and out["board"]["coverage"]["dense_best"] == 1.0


def test_move_history_features_are_the_last_moves_one_hot():
    from othello_core.analysis.sae.karvonen import move_history_features
    batch = random_games(3, seed=4)
    pick = real_positions(batch)
    feats = move_history_features(batch, pick, plies=2)
    assert feats.shape == (len(pick), 128)
    for row, (g, p) in enumerate(pick):
        assert feats[row, :64].nonzero().flatten().tolist() == [batch.squares[g, p]]  # the move just played
        before = feats[row, 64:].nonzero().flatten().tolist()
        assert before == ([batch.squares[g, p - 1]] if p > 0 else [])  # the one before it (none at the first)
