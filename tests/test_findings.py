"""The findings pipeline end to end on a tiny model with probes of its own: schema and sense."""
import json
import re

import numpy as np
import pytest
import torch

from othello_core.reports import findings as Fd

from othello_core.analysis.interventions import benchmark_rows, run_sweep, sweep_settings
from othello_core.model.hooked_transformer import build_model
from othello_core.model.weights import ModelShape
from othello_core.rules.games import random_games

from .tiny import tiny_service


@pytest.fixture(scope="module")
def service():
    return tiny_service(build_model(ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64), device="cpu", seed=7))


def test_findings_schema_and_sentences(service, tmp_path):
    rows, origin = benchmark_rows(4, 2, seed=0)
    sweep = run_sweep(service, rows, origin, settings=sweep_settings(2, scales=(0.5,)))
    (tmp_path / "edit_sweep.json").write_text(json.dumps(sweep | {"command": "x"}))
    result = json.loads(json.dumps(Fd.compute_findings(service, tmp_path, games=60, late_game_games=60)))
    assert set(result) >= {"model", "model_hash", "paper_weights", "probes", "simpler_features", "late_game",
                           "minimal_edit", "empty_square", "head_roles", "neurons", "wall_time_s"}
    assert (tmp_path / Fd.NEURON_FILE).exists()
    assert result["paper_weights"] is False and result["model_hash"] == service.hash
    for key in ("probes", "simpler_features", "late_game", "minimal_edit", "empty_square", "head_roles"):
        assert isinstance(result[key]["sentence"], str) and len(result[key]["sentence"]) > 40
    assert len(result["probes"]["linear_mine_theirs"]) == len(result["probes"]["linear_mine_theirs_span"]) == 3
    assert len(result["simpler_features"]["composed_colour_accuracy"]) == 3
    blank = result["empty_square"]
    assert set(blank["blank_accuracy"]) == {"clean", "ablate_top", "ablate_random"}
    assert not set(blank["top_components"]) & set(blank["random_components"])
    roles = result["head_roles"]["mover_share"]
    assert len(roles) == 2 and len(roles[0]) == 4 and all(0 <= x <= 1 for row in roles for x in row)


def test_minimal_edit_finding_after_the_final_layer_has_no_later_component(service, tmp_path):
    rows, origin = benchmark_rows(4, 2, seed=0)
    sweep = run_sweep(service, rows, origin, settings=sweep_settings(2, scales=(1.0,)))
    last = next(r for r in sweep["settings"] if r["kind"] == "single" and tuple(r["edit"]["layers"]) == (2,))
    (tmp_path / "edit_sweep.json").write_text(json.dumps(sweep | {"best_single_layer": last["name"]}))
    result = Fd.edit_finding(tmp_path, service, positions=6)
    assert result["component_share"] == {}
    assert "nothing later can respond" in result["sentence"] and "adds most for" not in result["sentence"]


def test_minimal_edit_finding_is_absent_without_a_sweep(service, tmp_path):
    assert Fd.edit_finding(tmp_path, service) is None


def test_neuron_top_positions_are_the_true_maxima(service):
    top = Fd.neuron_top_positions(service, games=20, k=3, batch_size=7)
    assert top["values"].shape == (2, 64, 3) and top["index"].shape == (2, 64, 3, 2)
    games = random_games(20, seed=Fd.NEURON_SEED)
    _, cache = service.run(torch.as_tensor(games.tokens[:, :59]), names=["blocks.1.mlp.hook_post"])
    acts = cache["blocks.1.mlp.hook_post"].numpy()  # [20, 59, 64]
    acts[games.tokens[:, :59] == 0] = -np.inf
    for neuron in (0, 17, 63):
        expected = np.sort(acts[..., neuron].ravel())[::-1][:3]
        assert np.allclose(top["values"][1, neuron], expected, atol=1e-6)
        g, p = top["index"][1, neuron, 0]
        assert acts[g, p, neuron] == pytest.approx(expected[0], abs=1e-6)


def test_late_game_finding_counts_the_legal_moves_left_and_the_passes(service):
    late = Fd.late_game_finding(service, service.probe_report, games=60, moves=(11, 40, 59))
    assert late["moves"] == [11, 40, 59] and late["games"] == 60
    assert late["legal_moves"][0] > 3 and late["legal_moves"][-1] <= 1  # one empty square after move 59
    assert late["train"][0] == 48 and late["test"][0] == 12  # every game reaches move 11
    assert late["train"][-1] + late["test"][-1] <= 60
    assert late["mover_not_alternating"][0] == 0  # nobody can pass before move 11
    for key in ("own_probe_mine_theirs", "own_probe_black_white", "own_probe_blank", "shared_probe_mine_theirs",
                "model_legal_top1", "mover_not_alternating"):
        assert all(v is None or 0 <= v <= 1 for v in late[key])


def test_held_out_accuracy_reads_a_planted_board_and_not_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, (600, 64))
    onehot = torch.nn.functional.one_hot(torch.as_tensor(y), 3).float().reshape(600, -1)
    x = onehot @ torch.randn(192, 256, generator=torch.Generator().manual_seed(0)) + 0.1 * torch.randn(600, 256)
    assert Fd._held_out_accuracy(x, y, 3, 480, seed=0) > 0.95
    assert Fd._held_out_accuracy(x, rng.permutation(y), 3, 480, seed=0) < 0.5


QUOTED_NUMBER = re.compile(r"(?<![\w.])[-+]?(\d[\d,]*(?:\.\d+)?)(%?)")


def _numbers(value) -> list[float]:
    """Every number a finding holds (nested dicts and lists), and the length of every list."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [float(len(value))] + [x for v in value for x in _numbers(v)]
    return []


def unbacked_numbers(finding: dict) -> list[str]:
    """The numbers quoted in ``finding["sentence"]`` that no value of the finding, written the way
    the sentence writes it, accounts for."""
    values = _numbers({k: v for k, v in finding.items() if k != "sentence"})
    missing = []
    for digits, percent in QUOTED_NUMBER.findall(finding["sentence"]):
        text = digits.replace(",", "")
        places = len(text.split(".")[1]) if "." in text else 0
        if percent:
            forms = {format(abs(x), f".{places}%")[:-1] for x in values} | {format(abs(x), f".{places}f") for x in values}
        else:
            forms = {format(abs(x), f".{places}f") for x in values}
        if text not in forms:
            missing.append(digits + percent)
    return missing


def test_every_number_a_bundled_finding_quotes_is_in_findings_json(root):
    findings = json.loads((root / "assets/models/bundled/findings.json").read_text())
    quoted = {key: f for key, f in findings.items() if isinstance(f, dict) and "sentence" in f}
    assert {"probes", "simpler_features", "late_game", "minimal_edit", "empty_square"} <= set(quoted)
    assert {key: unbacked_numbers(f) for key, f in quoted.items()} == {key: [] for key in quoted}


def test_the_number_check_catches_a_number_typed_in():
    finding = {"sentence": "The probe reads 97.6% at layer 6 of 8, over 2,400 games.", "accuracy": 0.9761,
               "layer": 6, "layers": list(range(8)), "games": 2400}
    assert unbacked_numbers(finding) == []
    assert unbacked_numbers(finding | {"sentence": finding["sentence"] + " The paper: 99.5%."}) == ["99.5%"]


def test_features_finding_ranks_the_neurons_and_quotes_only_its_numbers(tmp_path):
    from othello_core.analysis.sae.karvonen import KARVONEN_FILE, PUBLISHED
    from othello_core.analysis.sae.recipe import sae_folder
    from othello_core.analysis.sae.report import REPORT_FILE
    from othello_core.reports.findings import features_finding

    def row(name, hook, cov, rec):
        return {"name": name, "hook": hook, "board": {"coverage": {"value": cov}, "reconstruction": {"value": rec}},
                "legal": {"coverage": {"value": 0.5}, "reconstruction": {"value": 0.25}}}
    rows = [row("SAE (trained model)", "blocks.5.hook_resid_post", 0.57, 0.66)]
    rows += [row(f"MLP neurons, block {b}", f"blocks.{b}.mlp.hook_post", 0.5 + b / 100, 0.1 * b) for b in range(8)]
    rows.append(row("MLP neurons, block 5, random-init control (seed 1)", "blocks.5.mlp.hook_post", 0.49, 0.01))
    folder = sae_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / KARVONEN_FILE).write_text(json.dumps({"rows": rows, "published": PUBLISHED,
                                                    "games": {"fitting": 1000, "held_out": 1000}}))
    (folder / REPORT_FILE).write_text(json.dumps({"probe_properties": {"stream": 6, "f1": [0.2] * 64 + [0.9] * 128 + [0.1] * 192}}))
    out = features_finding(tmp_path)
    assert out["best_neurons"]["hook"] == "blocks.7.mlp.hook_post" and out["probe"]["mean_f1"] == 0.9
    assert "reconstruct the board better" in out["sentence"]  # 0.7 > 0.66
    assert out["control_neurons"]["reconstruction"] == 0.01
    assert unbacked_numbers(out) == []


def test_feature_circuit_finding_summarizes_positions_and_quotes_only_its_numbers(tmp_path):
    from othello_core.analysis.graphs.circuits import summarize_circuits
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.reports.findings import feature_circuit_finding

    def feature(layer, kinds, at=True):
        return {"layer": layer, "kinds": kinds, "at_target_move": at}
    rows = [{"features": [feature(7, ["empty", "legal"]), feature(6, ["theirs"]), feature(0, ["last_move"], False)],
             "drop_top": 3.0, "drop_random": 0.5, "logit": 12.0},
            {"features": [feature(7, ["empty"]), feature(7, ["theirs", "empty"])], "drop_top": 0.1, "drop_random": 0.4,
             "logit": 10.0}]
    summary = summarize_circuits(rows)
    assert summary["kind_share"] == {"empty": 0.6, "theirs": 0.4, "legal": 0.2, "last_move": 0.2}
    assert summary["layer_share"] == {"L0": 0.2, "L6": 0.2, "L7": 0.6} and summary["at_target_move"] == 0.8
    assert (summary["mean_drop_top"], summary["mean_drop_random"], summary["top_beats_random"]) == (1.55, 0.45, 1)
    folder = transcoder_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / "graph_circuits.json").write_text(json.dumps({"summary": summary, "command": "python -m othello_core graphs circuits"}))
    out = feature_circuit_finding(tmp_path)
    assert "'empty' (60%)" in out["sentence"] and "1 of 2 positions" in out["sentence"]
    assert unbacked_numbers(out) == []


def test_edit_graph_finding_quotes_only_its_numbers_and_compares_with_the_components(tmp_path):
    from othello_core.analysis.graphs.edit_paths import EDIT_PATHS_FILE, summarize_edit_paths
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    rows = [{"change": 2.0, "parts": {"earlier": 0.1, "later": 1.7, "inputs": 0.0, "edit_path": 0.2},
             "by_block_change": [0.4, 0.05, 0.2, 1.5], "errors_change": 0.3},
            {"change": 1.0, "parts": {"earlier": 0.0, "later": 0.9, "inputs": 0.0, "edit_path": 0.1},
             "by_block_change": [0.0, 0.0, 0.6, 0.3], "errors_change": 0.0}]
    folder = transcoder_folder(tmp_path)
    folder.mkdir(parents=True)
    stored = {"summary": summarize_edit_paths(rows), "rows": rows, "edit_label": "after L1 add x0.25", "command": "x",
              "edit": {"layers": [2]}, "positions": 2}
    (folder / EDIT_PATHS_FILE).write_text(json.dumps(stored))
    found = Fd.edit_graph_finding(tmp_path, component_direct_share=0.07)
    assert unbacked_numbers(found) == []
    assert "87% of its summed change" in found["sentence"] and "most on L3 (60%), L2 (27%);" in found["sentence"]
    assert found["sentence"].endswith("mostly through later features, not directly.")  # L0 (13%) is not later
    assert "do not agree" in Fd.edit_graph_finding(tmp_path, component_direct_share=0.9)["sentence"]
    (folder / EDIT_PATHS_FILE).write_text(json.dumps(stored | {"positions": 3}))  # a run cut short
    assert Fd.edit_graph_finding(tmp_path) is None and Fd.edit_graph_finding(tmp_path / "none") is None
