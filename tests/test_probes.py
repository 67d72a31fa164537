"""Probes: planted features are recovered, conventions hold, reports and files are right."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from othello_core.analysis import probes as P

from othello_core.rules.games import replay_batch
from othello_core.rules.notation import parse_moves

from .conftest import ROOT
from .test_board import WITH_PASS

QUICK = P.FitSettings(lr=2e-2, batch=1024, max_epochs=2)


def planted(n=4000, streams=2, seed=0):
    """Residuals in which every square's 3-class label is written linearly in stream 0.

    Square s owns two dimensions: class 0 -> (0, 0), 1 -> (1, 0), 2 -> (0, 1), plus small
    noise, then a random rotation of the whole 128-d space. Stream 1 is pure noise.
    """
    gen = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 3, (n, 64), generator=gen)
    codes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])[targets]  # [n, 64, 2]
    rotation, _ = torch.linalg.qr(torch.randn(128, 128, generator=gen))
    signal = (codes.reshape(n, 128) + 0.05 * torch.randn(n, 128, generator=gen)) @ rotation
    return torch.stack([signal, torch.randn(n, 128, generator=gen)]), targets


def test_linear_probe_recovers_a_planted_linear_feature():
    x, y = planted()
    w, b = P.fit_linear(x[:, :3000], y[:3000], 3, P.FitSettings(lr=0.1, batch=2048, max_epochs=40, lr_decay=1.0)).params
    probes = P.ProbeSet("h", 2, linear={"mine_theirs": (w, b)})
    report = P.accuracy_report(probes.linear_probs("mine_theirs", x[:, 3000:]), y[3000:])
    assert report[0]["cell_accuracy"] == 1.0 and report[0]["board_accuracy"] == 1.0
    assert report[1]["cell_accuracy"] < 0.5  # pure noise: near chance (1/3)


def test_mlp_probe_beats_linear_on_an_xor_feature():
    """colour = mine/theirs XOR whose-turn: linear fails, an MLP succeeds (the paper's story)."""
    gen = torch.Generator().manual_seed(1)
    n = 6000
    mine = torch.randint(0, 2, (n, 64), generator=gen)
    turn = torch.randint(0, 2, (n, 1), generator=gen)
    signs = torch.cat([turn, mine], 1).float() * 2 - 1  # every bit linearly readable
    rotation, _ = torch.linalg.qr(torch.randn(65, 65, generator=gen))
    x = ((signs + 0.05 * torch.randn(n, 65, generator=gen)) @ rotation)[None]
    colour = (mine ^ turn) + 1  # classes 1/2 (0 = empty never occurs)
    lin = P.fit_linear(x[:, :5000], colour[:5000], 3, P.FitSettings(lr=0.05, batch=2048, max_epochs=20, lr_decay=1.0)).params
    mlp = P.fit_mlp(x[:, :5000], colour[:5000], 3, 256, P.FitSettings(lr=5e-3, batch=1024, max_epochs=25, lr_decay=1.0)).params
    probes = P.ProbeSet("h", 1, linear={"black_white": lin}, mlp={("black_white", 256): mlp})
    lin_acc = P.accuracy_report(probes.linear_probs("black_white", x[:, 5000:]), colour[5000:])[0]
    mlp_acc = P.accuracy_report(probes.mlp_probs("black_white", 256, x[:, 5000:]), colour[5000:])[0]
    assert lin_acc["cell_accuracy"] < 0.65 and mlp_acc["cell_accuracy"] > 0.9


def test_accuracy_by_move_puts_each_sample_at_its_move_number():
    """Right on every square from position 30 on, wrong on 16 of 64 before: the report says so."""
    positions = np.repeat(np.arange(0, 59, 2), 3)  # odd positions have no samples
    targets = torch.randint(0, 3, (len(positions), 64), generator=torch.Generator().manual_seed(0))
    guess = targets.clone()
    early = torch.as_tensor(positions < 30)
    guess[early, :16] = (guess[early, :16] + 1) % 3
    probs = torch.nn.functional.one_hot(guess, 3).float()[None]
    row, = P.accuracy_report(probs, targets, positions)
    assert row["by_move"][0] == 0.75 and row["by_move"][30] == 1.0 and row["by_move"][1] is None
    assert row["cell_accuracy"] == pytest.approx(np.mean([a for a in row["by_move"] if a is not None]), abs=1e-4)
    # moves 6..54 are positions 5..53: the even ones 6..28 read 75%, 30..52 read 100%
    assert P.PUBLISHED_SPAN == (6, 54) and row["span_accuracy"] == 0.875
    assert "by_move" not in P.accuracy_report(probs, targets)[0]
    assert "span_accuracy" not in P.accuracy_report(probs, targets)[0]
    with_span = {"linear": {"mine_theirs": [row, row]}}
    without = {"linear": {"mine_theirs": P.accuracy_report(probs, targets)}}
    assert P.span_curve(with_span) == [0.875, 0.875] and P.span_curve(without) == [None]


def test_kind_targets_follow_the_label_conventions_through_a_pass():
    squares = parse_moves(WITH_PASS)
    labels = replay_batch(np.array([squares])).labels
    last = len(squares) - 1
    at = {k: v[0, last] for k, v in labels.items()}
    mt, bw = P.kind_targets(at, "mine_theirs"), P.kind_targets(at, "black_white")
    assert ((bw == 2) == (mt == 1)).all()  # white to move again after black's pass: white = mine
    assert ((P.kind_targets(at, "blank") == 1) == (bw == 0)).all()
    features = P.simple_features(at)
    assert features["n_empty"][0] == 64 - len(squares) - 4
    assert features["row_occupancy"].sum() == features["diagonal_occupancy"].sum() == 64 - features["n_empty"][0]
    assert features["black_to_move"][0] == 0


def test_directions_and_file_round_trip_with_hash_check(tmp_path):
    x, y = planted(n=500)
    w, b = P.fit_linear(x, y, 3, QUICK).params
    probes = P.ProbeSet("abc123", 2, linear={"mine_theirs": (w, b)},
                        mlp={("mine_theirs", 8): P.fit_mlp(x, y, 3, 8, QUICK).params})
    d = probes.direction("mine_theirs", 1, 5, 1, 2)
    assert torch.equal(d, w[1, :, 5, 1] - w[1, :, 5, 2])
    probes.save(tmp_path)
    loaded = P.load_probes(tmp_path, model_hash="abc123")
    assert torch.equal(loaded.linear["mine_theirs"][0], w.half().float())  # stored as float16
    torch.testing.assert_close(loaded.mlp_probs("mine_theirs", 8, x), probes.mlp_probs("mine_theirs", 8, x),
                               atol=2e-3, rtol=1e-2)
    with pytest.raises(P.ProbeMismatchError, match="abc123"):
        P.load_probes(tmp_path, model_hash="другой")


def test_probe_training_command_writes_the_documented_report(tmp_path):
    """End to end on a tiny model of our own: stores, every kind, the control, Li's protocol, the
    report schema, the comparison table, the CLI; a second run resumes from the finished streams."""
    from othello_core.model.hooked_transformer import build_model
    from othello_core.model.weights import ModelShape, model_hash
    from othello_core.analysis.probe_suite import CONTROL_SEED, PUBLISHED
    model = build_model(ModelShape(n_layers=2, d_model=32, n_heads=4, d_mlp=64), device="cpu", seed=0)
    ckpt = tmp_path / "tiny.pth"
    torch.save(model.state_dict(), ckpt)
    cmd = [sys.executable, "-m", "othello_core", "probes", "train", "--model", str(ckpt), "--train-games", "40",
           "--test-games", "12", "--li-games", "30", "--max-epochs", "3", "--mlp-widths", "16,24",
           "--ship-widths", "16", "--control-max-epochs", "2", "--work-dir", str(tmp_path / "work")]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    shown = subprocess.run([sys.executable, "-m", "othello_core", "probes", "report", "--model",
                            str(ckpt), "--json"], capture_output=True, text=True, cwd=ROOT)
    report = json.loads(shown.stdout)
    assert report["model_hash"] == model_hash(model)
    assert report["layers"] == [0, 1, 2]
    assert set(report["linear"]) == set(P.KINDS)
    assert set(report["mlp"]) == set(P.MLP_KINDS) and set(report["mlp"]["black_white"]) == {"16", "24"}
    row = report["linear"]["mine_theirs"][0]
    assert set(row) == {"cell_accuracy", "board_accuracy", "per_square", "by_move", "span_accuracy",
                        "epochs", "converged", "history"} and len(row["per_square"]) == 64
    assert len(row["by_move"]) == 59 and all(a is None or 0 <= a <= 1 for a in row["by_move"])
    assert 0 <= row["board_accuracy"] <= row["cell_accuracy"] <= 1
    assert 1 <= row["epochs"] == len(row["history"]) <= 3
    assert row["history"][-1]["test_accuracy"] == pytest.approx(row["cell_accuracy"], abs=1e-4)
    assert set(report["features_r2"]) >= {"n_black", "n_empty", "diagonal_occupancy", "black_to_move"}
    # every position of the games: 40 training games and 12 held-out ones, no game in both
    assert report["samples"]["train"] > 40 * 30 and report["samples"]["test"] > 12 * 30
    assert set(report["linear_span"]) == {"mine_theirs", "black_white"}
    control = report["control"]
    assert control["seed"] == CONTROL_SEED and control["weights_hash"] != report["model_hash"]
    assert set(control["linear"]) == set(P.KINDS) and set(control["mlp"]["black_white"]) == {"16", "24"}
    assert control["fit"]["linear"]["max_epochs"] == 2 and all(r["epochs"] <= 2 for r in control["linear"]["legal"])
    li = report["li_protocol"]
    assert set(li) == {"model", "control", "protocol"} and "split by position" in li["protocol"]
    assert li["model"]["samples"]["test"] == pytest.approx(0.2 * (li["model"]["samples"]["train"] + li["model"]["samples"]["test"]), abs=1)
    assert len(li["model"]["mlp"]["black_white"]["512"]) == 3
    table = json.loads(subprocess.run([sys.executable, "-m", "othello_core", "probes", "report", "--model", str(ckpt),
                                       "--compare", "--json"], capture_output=True, text=True, cwd=ROOT).stdout)
    rows = {r["row"]: r for r in table}
    assert set(rows) == set(PUBLISHED)
    li_row = rows["li_nonlinear_synthetic"]
    assert li_row["published"] == PUBLISHED["li_nonlinear_synthetic"]["values"]
    assert li_row["ours"] == [round(100 * (1 - r["cell_accuracy"]), 2) for r in li["model"]["mlp"]["black_white"]["512"]]
    assert li_row["difference"][:3] == [round(o - p, 2) for o, p in zip(li_row["ours"], li_row["published"])]
    assert rows["hazineh_linear_mine_yours"]["difference"][0] is None  # Hazineh has no embedding column
    probes = P.load_probes(tmp_path, model_hash=report["model_hash"])
    assert set(probes.mlp) == {("mine_theirs", 16), ("black_white", 16)}  # only the shipped width
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    resumed = json.loads((tmp_path / P.REPORT_FILE).read_text())
    assert resumed["linear"] == report["linear"] and resumed["li_protocol"] == report["li_protocol"]
    assert resumed["timings_s"]["model_probes_s"] < report["timings_s"]["model_probes_s"]
