"""Probes at scale: the stop rule, the disk-backed activation store, the seeded control."""
import numpy as np
import pytest
import torch

from othello_core.analysis import probes as P

from othello_core.analysis.activation_store import ActivationStore, real_positions, write_store
from othello_core.analysis.probe_suite import compare_table, control_model
from othello_core.model.hooked_transformer import build_model
from othello_core.model.weights import ModelShape
from othello_core.model.weights import state_dict_hash
from othello_core.rules.games import random_games

from .test_probes import planted

TINY = ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64)


def test_training_stops_once_held_out_accuracy_stops_moving():
    x, y = planted(n=3000)
    x = x[:1]  # the stream that holds the feature
    test = (x[:, 2000:], y[2000:])
    settings = P.FitSettings(lr=0.05, batch=256, max_epochs=30, lr_decay=0.7)
    fit = P.fit_linear(x[:, :2000], y[:2000], 3, settings, test=test)
    held = [h["test_accuracy"] for h in fit.history]
    assert fit.converged and 3 <= len(held) < 30
    assert abs(held[-1] - held[-3]) < settings.stop_delta  # the rule that fired
    assert all(abs(held[e] - held[e - 2]) >= settings.stop_delta for e in range(2, len(held) - 1))
    fixed = P.fit_linear(x[:, :2000], y[:2000], 3, P.FitSettings(lr=0.05, batch=256, max_epochs=4, stop_delta=None),
                         test=test)
    assert not fixed.converged and [h["epoch"] for h in fixed.history] == [1, 2, 3, 4]
    assert 0.95 < fixed.history[-1]["train_accuracy"] <= 1 and held[-1] > 0.95


def test_disk_store_holds_what_the_model_computes_at_every_real_position(tmp_path):
    model = build_model(TINY, device="cpu", seed=3)
    games = random_games(9, seed=4, labels=True)
    store = write_store(model, games, tmp_path, model_hash="h", batch_size=4)  # chunks across games
    again = ActivationStore(tmp_path)
    in_memory = P.collect_activations(model, games, positions_per_game=None)
    assert again.n_rows == len(real_positions(games)) == in_memory.resid.shape[1]
    assert np.array_equal(again.game, in_memory.game) and np.array_equal(again.position, in_memory.position)
    for stream in range(store.n_streams):
        assert torch.equal(again.stream(stream), in_memory.stream(stream))  # both float16, same values
    assert np.array_equal(again.labels["relative"], in_memory.labels["relative"])
    rows = np.array([5, 0, 17])
    assert torch.equal(again.stream(1, rows), in_memory.stream(1)[rows])


def test_control_model_is_recreated_from_its_seed():
    a, b = control_model(TINY, device="cpu"), control_model(TINY, device="cpu")
    assert state_dict_hash(a.state_dict()) == state_dict_hash(b.state_dict())
    other = control_model(TINY, device="cpu", seed=1)
    assert state_dict_hash(other.state_dict()) != state_dict_hash(a.state_dict())


def test_compare_table_sets_ours_beside_the_published_rows():
    rows = [{"cell_accuracy": 0.7 + 0.02 * l, "span_accuracy": 0.9} for l in range(9)]
    report = {"layers": list(range(9)), "linear_span": {"mine_theirs": rows},
              "li_protocol": {"model": {"mlp": {"black_white": {"512": rows}}}}}
    table = {r["row"]: r for r in compare_table(report)}
    assert set(table) == {"li_nonlinear_synthetic", "hazineh_linear_mine_yours"}  # only what the report has
    li = table["li_nonlinear_synthetic"]
    assert li["ours"][0] == 30.0 and li["published"][0] == 30.7 and li["difference"][0] == pytest.approx(-0.7)
    hz = table["hazineh_linear_mine_yours"]
    assert hz["ours"][6] == 90.0 and hz["difference"][6] == pytest.approx(90.0 - 99.5) and hz["difference"][0] is None
