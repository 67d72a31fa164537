"""The training command end to end at tiny scale, resume included."""
import json
import shutil
import subprocess
import sys

import pytest
import torch

from othello_core.model.evaluate import legal_tokens
from othello_core.model.hooked_transformer import load_model
from othello_core.model.train import TrainConfig, loss_fn, lr_at, make_batch, target_distribution
from othello_core.reports.evaluation import error_rate_over_moves, pass_errors
from othello_core.rules.games import random_games

from .conftest import ROOT

TINY = ["--n-layers", "2", "--d-model", "32", "--n-heads", "4", "--batch-size", "32",
        "--warmup-steps", "5", "--eval-every", "20", "--eval-games", "100", "--save-every", "20",
        "--workers", "0", "--threads", "1", "--no-progress", "--lr", "3e-3"]


def train(run_dir, steps, *extra):
    out = subprocess.run([sys.executable, "-m", "othello_core", "train", "--run-dir", str(run_dir),
                          "--steps", str(steps), *TINY, *extra],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_train_then_resume_writes_a_loadable_run_folder(tmp_path):
    run = tmp_path / "run"
    first = train(run, 40, "--target", "legal")
    assert [m["step"] for m in first] == [20, 40]
    resumed = train(run, 80, "--target", "legal", "--resume")
    assert [m["step"] for m in resumed] == [20, 40, 60, 80]
    assert resumed[-1]["games_seen"] == 80 * 32
    assert resumed[-1]["loss"] < resumed[0]["loss"]
    assert resumed[-1]["legal_top1"] > 0.3  # random guessing over 60 tokens gives ~0.15
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["games_seen"] == 80 * 32 and config["training"]["target"] == "legal"
    assert len(config["command_history"]) == 2 and "--resume" in config["command_history"][1]
    model = load_model(str(run), device="cpu")
    assert model.cfg.n_layers == 2 and model.cfg.d_model == 32
    (run / "model.safetensors").unlink()  # a stopped run: export straight from checkpoint.pt
    out = subprocess.run([sys.executable, "-m", "othello_core", "export", str(run)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    from othello_core.model.weights import model_hash
    assert model_hash(load_model(str(run), device="cpu")) == model_hash(model)


def test_next_token_targets_shift_by_one_and_ignore_padding():
    inputs, targets = make_batch(16, seed=0, target="next")
    assert inputs.shape == targets.shape == (16, 59)
    assert torch.equal(targets[:, :-1][targets[:, :-1] != -100], inputs[:, 1:][targets[:, :-1] != -100])
    assert ((inputs[:, 1:] == 0) == (targets[:, :-1] == -100)).all()


def test_legal_targets_are_uniform_over_legal_moves():
    inputs, legal = make_batch(16, seed=0, target="legal")
    assert legal.dtype == torch.bool
    assert torch.equal(legal, torch.as_tensor(legal_tokens(random_games(16, seed=0, labels=True))))
    targets = target_distribution(legal)
    sums = targets.sum(-1)
    assert torch.allclose(sums[sums > 0], torch.ones_like(sums[sums > 0]))
    assert (targets[..., 0] == 0).all()
    first = targets[0, 0][targets[0, 0] > 0]
    assert torch.allclose(first, torch.full_like(first, 1 / len(first)))


def test_legal_loss_averages_over_the_positions_that_have_legal_moves_only():
    """The loss is the masked mean (no host sync): the mean cross-entropy over positions before the game's
    end, whatever the logits at the padded positions after it."""
    inputs, legal = make_batch(64, seed=1, target="legal")
    logits = torch.randn(*legal.shape, generator=torch.Generator().manual_seed(0))
    playing = legal.any(-1)
    assert (~playing).any() and playing.any()  # some games end before move 59
    expected = -(target_distribution(legal) * torch.log_softmax(logits, -1)).sum(-1)[playing].mean()
    assert torch.allclose(loss_fn(logits, legal), expected)
    scrambled = logits.clone()
    scrambled[~playing] = 1e4 * torch.randn_like(scrambled[~playing])
    assert torch.allclose(loss_fn(scrambled, legal), expected)


def test_an_unknown_compile_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="compile_mode must be one of .*'reduce-overhead'.* not 'fastest'"):
        TrainConfig(compile_mode="fastest")


def test_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, steps=110, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == 1e-4 and abs(lr_at(9, cfg) - 1e-3) < 1e-12
    assert lr_at(60, cfg) < lr_at(20, cfg) and abs(lr_at(110, cfg) - 1e-4) < 1e-12


def test_time_schedule_follows_the_budget_not_the_step_cap():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, steps=1_000_000, min_lr_ratio=0.1)
    assert lr_at(5, cfg, time_fraction=0.9) == lr_at(5, cfg)  # warmup is counted in steps
    half = lr_at(50, cfg, time_fraction=0.5)
    assert abs(half - 0.55e-3) < 1e-12  # halfway down the cosine: (max + floor) / 2
    assert abs(lr_at(50, cfg, time_fraction=1.0) - 1e-4) < 1e-12
    assert lr_at(50, cfg, time_fraction=0.1) > half


def test_time_budgeted_run_stops_on_time_and_records_a_final_evaluation(tmp_path):
    run = tmp_path / "timed"
    metrics = train(run, 1_000_000, "--target", "legal", "--max-minutes", "0.05", "--time-schedule",
                    "--final-eval-games", "150")
    final = metrics[-1]
    assert final["final"] and final["games"] == 150 and 0 < final["legal_top1"] <= 1
    assert metrics[-2]["step"] == final["step"] < 1_000_000
    assert metrics[-2]["lr"] < 0.2 * 3e-3  # the cosine reached (nearly) its floor when time ran out
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["final_eval"]["legal_top1"] == final["legal_top1"]


def test_data_parallel_training_through_torchrun(tmp_path):
    """DistributedDataParallel on two CPU processes (gloo): both ranks' games count."""
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "othello_core", "train",
           "--run-dir", str(run), "--steps", "10", "--n-layers", "1", "--d-model", "16", "--n-heads", "2",
           "--batch-size", "8", "--warmup-steps", "2", "--eval-every", "10", "--eval-games", "20",
           "--save-every", "10", "--workers", "0", "--threads", "1", "--no-progress"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    if out.returncode != 0 and "exitcode: -6" in out.stderr:
        # seen once in a whole suite on the loaded 2-core machine (a gloo rank aborted, SIGABRT; the same test
        # alone passed): a rank killed by a signal is run once more, a Python error in a rank is not
        shutil.rmtree(run, ignore_errors=True)
        first = out.stderr[-1000:]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 0, first + "\n--- again ---\n" + out.stderr[-1000:]
    assert out.returncode == 0, out.stderr[-2000:]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["games_seen"] == 10 * 8 * 2
    assert (run / "model.safetensors").exists()


def test_the_training_path_needs_no_transformer_lens():
    """A bare GPU machine has torch but not TransformerLens: training and export must not import it."""
    code = ("import sys, othello_core.model.train, othello_core.model.weights, othello_core.model.evaluate; "
            "print('transformer_lens' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_init_from_starts_training_from_given_weights(tmp_path):
    """--init-from loads a run folder's weights (fresh optimizer): at lr 0 they come out unchanged."""
    from othello_core.model.weights import read_weights
    source, copy, fresh = tmp_path / "source", tmp_path / "copy", tmp_path / "fresh"
    train(source, 20, "--target", "legal")
    train(copy, 5, "--target", "legal", "--init-from", str(source), "--lr", "0")
    train(fresh, 5, "--target", "legal", "--lr", "0")
    trained, copied, untrained = (read_weights(run) for run in (source, copy, fresh))
    assert all(torch.equal(trained[k], copied[k]) for k in trained)  # (equal values: -0.0 == 0.0)
    assert not all(torch.equal(trained[k], untrained[k]) for k in trained)


def test_a_run_from_earlier_weights_counts_on_from_their_training(tmp_path):
    """--init-from a run folder continues its lineage: steps, games, commands and the training curve
    count on from the earlier run, also through a resume."""
    source, after = tmp_path / "source", tmp_path / "after"
    earlier = train(source, 40, "--target", "legal")
    first = train(after, 20, "--target", "legal", "--init-from", str(source))
    assert first[:len(earlier)] == earlier
    assert [m["step"] for m in first[len(earlier):]] == [60]
    assert first[-1]["games_seen"] == 60 * 32 and first[-1]["elapsed_s"] > earlier[-1]["elapsed_s"]
    resumed = train(after, 40, "--target", "legal", "--init-from", str(source), "--resume",
                    "--final-eval-games", "50")
    assert [m["step"] for m in resumed] == [20, 40, 60, 80, 80]
    # the device's path: the weights exported again from checkpoint.pt, in shards
    out = subprocess.run([sys.executable, "-m", "othello_core", "export", str(after), "--shard-mb", "0.1"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    config = json.loads((after / "config.json").read_text())
    assert config["training"]["final_eval"]["legal_top1"] == resumed[-1]["legal_top1"]
    source_config = json.loads((source / "config.json").read_text())
    assert config["training"]["steps"] == 80 and config["training"]["games_seen"] == 80 * 32
    assert config["earlier_training"]["weights_hash"] == source_config["weights_hash"]
    history = config["command_history"]
    assert len(history) == 3 and "--init-from" in history[1] and "--resume" in history[2]
    assert history[0] == source_config["command_history"][0]
    out = subprocess.run([sys.executable, "-m", "othello_core", "card", str(after), "--games", "50"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    card = (after / "model_card.md").read_text()
    assert f"| games seen | {80 * 32:,} (80 steps of 32) |" in card
    assert f"| continued from | weights `{source_config['weights_hash']}`" in card
    assert f"after {40 * 32:,} games" in card


def test_model_card_reports_the_evaluation_and_reuses_it_only_for_the_same_weights(tmp_path):
    run = tmp_path / "run"
    train(run, 20, "--target", "legal")

    def card(*extra):
        out = subprocess.run([sys.executable, "-m", "othello_core", "card", str(run), "--games", "100", *extra],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads((run / "config.json").read_text())["eval"], (run / "model_card.md").read_text()

    evaluation, text = card()
    assert evaluation["synthetic"]["games"] == 100 and evaluation["eothello"]["games"] == 25_657
    assert f"`{evaluation['model_hash']}`" in text and f"{evaluation['synthetic']['legal_top1']:.2%}" in text
    by_move = evaluation["synthetic"]["by_move"]
    assert sum(by_move["positions"]) == evaluation["synthetic"]["positions"]
    late = error_rate_over_moves(by_move, 41, 59)
    assert f"| 41–59 | {late:.3%} |" in text
    split = pass_errors(by_move)
    assert sum(by_move["pass_positions"]) > 0  # 100 random games hold a few passes
    assert "Synthetic: After a pass" in text and f"{split['share_of_positions']:.2%} of positions" in text

    def evaluate_cli(*extra):
        out = subprocess.run([sys.executable, "-m", "othello_core", "eval", "--model", str(run), "--games", "100",
                              "--by-move", *extra], capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout
    assert json.loads(evaluate_cli("--json"))["by_move"] == by_move  # the same held-out games as the card
    printed = evaluate_cli()
    assert f"error 41-59: {late:.4%}" in printed and f"the top-1 error is {split['error_after_pass']:.2%}" in printed
    config = json.loads((run / "config.json").read_text())
    config["eval"]["synthetic"]["legal_top1"] = 0.123456  # a marker: reused figures keep it
    (run / "config.json").write_text(json.dumps(config))
    reused, text = card("--reuse-eval")
    assert reused["synthetic"]["legal_top1"] == 0.123456 and "12.35%" in text
    config["eval"]["model_hash"] = "other weights"
    (run / "config.json").write_text(json.dumps(config))
    fresh, _ = card("--reuse-eval")
    assert fresh["synthetic"]["legal_top1"] == evaluation["synthetic"]["legal_top1"]


def test_the_train_flags_are_the_config_fields():
    """Config declared once: every TrainConfig field is a flag of `train`, with its default."""
    from dataclasses import fields

    from othello_core.cli.main import build_parser
    from othello_core.model.train_config import NOT_FLAGS
    args = build_parser().parse_args(["train", "--lr", "3e-4", "--no-bf16", "--d-mlp", "64"])
    for f in fields(TrainConfig):
        if f.name not in NOT_FLAGS:
            assert hasattr(args, f.name), f.name
    defaults = build_parser().parse_args(["train"])
    assert {f.name: getattr(defaults, f.name) for f in fields(TrainConfig) if f.name not in NOT_FLAGS} == \
        {f.name: f.default for f in fields(TrainConfig) if f.name not in NOT_FLAGS}
    assert (args.lr, args.bf16, args.d_mlp) == (3e-4, False, 64)
