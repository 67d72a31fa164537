"""Transcoders: what they are trained on, the training loop, circuit-tracer's file format, 8-bit shipping,
and the replacement model's hooks -- on a tiny model."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from othello_core.analysis.activation_store import real_positions
from othello_core.analysis.service import ModelService
from othello_core.analysis.transcoders.recipe import TranscoderRecipe, layer_file
from othello_core.analysis.transcoders.report import load_set, measure_set, measurement_games, replacement_hooks
from othello_core.analysis.transcoders.shipping import CONFIG_FILE, export_for_circuit_tracer, ship_set
from othello_core.analysis.transcoders.training import (
    collect_mlp_io, explained_variance, layer_metrics, load_layer_io, train_set, validation_inputs,
)
from othello_core.analysis.transcoders.transcoder import load_transcoder
from othello_core.model.hooked_transformer import build_model
from othello_core.model.weights import ModelShape
from othello_core.rules.games import random_games

TINY = ModelShape(n_layers=2, d_model=32, n_heads=2, d_mlp=64)
RECIPE = TranscoderRecipe(expansion=4, k=8, games=300, epochs=8, batch_size=256, lr=3e-3, dead_after_tokens=5_000)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model = build_model(TINY, device="cpu", seed=0)
    run = tmp_path_factory.mktemp("transcoders")
    records = train_set(model, RECIPE, run, run / "acts", "tiny", "hash0", log=lambda _: None)
    return {"model": model, "run": run, "records": records}


def test_collected_inputs_and_outputs_are_each_mlps_at_every_real_position(tmp_path):
    model = build_model(TINY, device="cpu", seed=0)
    games = random_games(20, seed=3)
    games.squares[2, 15:] = -1  # a game cut short: positions 15.. are padding
    games.lengths[2] = 15
    collect_mlp_io(model, games, tmp_path, "h", batch_games=6)
    pick = real_positions(games)
    _, cache = model.run_with_cache(torch.as_tensor(games.tokens[:, :59]))
    for block in range(TINY.n_layers):
        x, y = load_layer_io(tmp_path, block)
        assert len(x) == len(pick) == int(np.minimum(games.lengths, 59).sum())
        for got, hook in ((x, RECIPE.input_hook(block)), (y, RECIPE.output_hook(block))):
            assert torch.allclose(got.float(), cache[hook][pick[:, 0], pick[:, 1]], atol=3e-3, rtol=3e-3)


def test_a_finished_collection_is_reused_and_another_models_is_not(tmp_path):
    model = build_model(TINY, device="cpu", seed=0)
    games = random_games(5, seed=3)
    collect_mlp_io(model, games, tmp_path, "h")
    stamp = (tmp_path / "in_0.npy").stat().st_mtime_ns
    collect_mlp_io(model, games, tmp_path, "h")
    assert (tmp_path / "in_0.npy").stat().st_mtime_ns == stamp
    collect_mlp_io(model, games, tmp_path, "other hash")
    assert (tmp_path / "in_0.npy").stat().st_mtime_ns != stamp


def test_training_fits_each_mlp_far_better_than_its_mean_and_at_about_k_active_features(trained):
    assert [r["block"] for r in trained["records"]] == [0, 1]
    for record in trained["records"]:
        v = record["validation"]
        assert v["explained_variance"] > 0.5, record
        assert 0.5 * RECIPE.k < v["l0"] < 2 * RECIPE.k  # the JumpReLU threshold keeps BatchTopK's sparsity


def test_training_resumes_layer_by_layer(trained, tmp_path):
    assert train_set(trained["model"], RECIPE, trained["run"], trained["run"] / "acts", "tiny", "hash0",
                     log=lambda _: None) == []
    layer_file(trained["run"], 1).unlink()
    again = train_set(trained["model"], RECIPE, trained["run"], trained["run"] / "acts", "tiny", "hash0",
                      log=lambda _: None)
    assert [r["block"] for r in again] == [1]


def test_layer_files_are_circuit_tracers_format(trained):
    state = load_file(str(layer_file(trained["run"], 0)))
    F, d = RECIPE.d_transcoder(TINY.d_model), TINY.d_model  # noqa: N806
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "W_enc": (F, d), "W_dec": (F, d), "b_enc": (F,), "b_dec": (d,), "activation_function.threshold": (F,),
        "W_skip": (d, d)}
    info = json.loads(layer_file(trained["run"], 0).with_suffix(".json").read_text())
    assert info["input_hook"] == "blocks.0.ln2.hook_normalized" and info["output_hook"] == "blocks.0.hook_mlp_out"


def test_replacement_hooks_put_each_transcoders_output_where_the_mlp_wrote(trained):
    model = trained["model"]
    transcoders = load_set(trained["run"], TINY.n_layers)
    tokens = torch.as_tensor(random_games(3, seed=9).tokens[:, :59])
    names = [RECIPE.input_hook(b) for b in range(2)] + [RECIPE.output_hook(b) for b in range(2)]
    with model.hooks(fwd_hooks=replacement_hooks(transcoders)):
        replaced_logits, cache = model.run_with_cache(tokens, names_filter=names)
    for block, transcoder in transcoders.items():
        expected = transcoder(cache[RECIPE.input_hook(block)])
        assert torch.allclose(cache[RECIPE.output_hook(block)], expected, atol=1e-5)
    assert not torch.allclose(replaced_logits, model(tokens))
    assert not model.hook_dict[RECIPE.output_hook(0)].fwd_hooks  # the hooks are gone afterwards


def test_shipped_8_bit_set_is_half_the_size_measures_alike_and_exports_for_circuit_tracer(trained, tmp_path):
    shipped = tmp_path / "ship"
    ship_set(trained["run"], shipped)
    size = lambda folder: sum(layer_file(folder, b).stat().st_size for b in range(2))  # noqa: E731
    assert size(shipped) < 0.62 * size(trained["run"])
    config = (shipped / CONFIG_FILE).read_text()
    assert "model_kind: transcoder_set" in config and "feature_input_hook: mlp.hook_in" in config
    x, y = load_layer_io(trained["run"] / "acts", 1)
    full, eight = (layer_metrics(load_transcoder(layer_file(f, 1)), x.float(), y.float()) for f in (trained["run"], shipped))
    assert json.loads(layer_file(shipped, 1).with_suffix(".json").read_text())["shipped"]["quantized"].startswith("int8")
    assert abs(full["explained_variance"] - eight["explained_variance"]) < 0.01
    exported = export_for_circuit_tracer(shipped, tmp_path / "ct")
    assert set(load_file(str(layer_file(exported, 0)))) == set(load_file(str(layer_file(trained["run"], 0))))


def test_dropping_unfired_features_keeps_one_width_and_changes_no_output_on_those_inputs(trained, tmp_path):
    validation = validation_inputs(trained["run"] / "acts")
    kept = ship_set(trained["run"], tmp_path / "pruned", validation, quantize=False)
    width = max(k["fired"] for k in kept.values())
    assert all(k["width"] == width < k["of"] for k in kept.values())  # some never fire: fewer features, one width
    for block in range(2):
        full, pruned = load_transcoder(layer_file(trained["run"], block)), load_transcoder(layer_file(tmp_path / "pruned", block))
        assert pruned.d_transcoder == width
        x = validation[block].float()
        assert torch.allclose(pruned(x), full(x), atol=2e-3)  # float16 files: the dropped features never fired here


def test_report_measures_every_layer_and_the_replacement_model(trained, tmp_path):
    service = ModelService(trained["model"], "tiny", weights_hash="hash0")
    report = measure_set(service, load_set(trained["run"], 2), measurement_games(30), tmp_path)
    assert [layer["block"] for layer in report["layers"]] == [0, 1]
    assert all(layer["explained_variance"] > 0.5 for layer in report["layers"])
    assert 0 <= report["legal_top1_replacement"] <= 1 and report["legal_top1_model"] > 0


def test_explained_variance_is_one_for_a_perfect_fit_and_zero_for_the_mean():
    y = torch.randn(100, 4)
    assert explained_variance(y, y) == pytest.approx(1.0)
    assert explained_variance(y, y.mean(0).expand_as(y)) == pytest.approx(0.0, abs=1e-6)


def test_a_missing_layer_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="transcoders train"):
        load_set(tmp_path, 2)
