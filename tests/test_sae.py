"""Sparse autoencoders: SAELens training and format, the board-state metrics, steering isolation,
and the SAE shipped beside the bundled model."""
import json
import threading
import time

import numpy as np
import pytest
import torch

pytest.importorskip("sae_lens")
from sae_lens import SAE  # noqa: E402

from othello_core.analysis.activation_store import real_positions  # noqa: E402
from othello_core.rules.games import GameBatch, random_games  # noqa: E402
from othello_core.model.hooked_transformer import build_model
from othello_core.model.weights import ModelShape  # noqa: E402
from othello_core.paths import BUNDLED_DIR  # noqa: E402
from othello_core.analysis.sae import metrics  # noqa: E402
from othello_core.analysis.sae.features import (  # noqa: E402
    FeatureSet, active_features, encode, load_feature_set, steered_probs, steering_hook, top_position_boards,
)
from othello_core.analysis.sae.recipe import SAERecipe, sae_folder  # noqa: E402
from othello_core.analysis.sae.report import measure_sae, measurement_games, top_positions  # noqa: E402
from othello_core.analysis.sae.training import collect_stream, run_recipe  # noqa: E402
from othello_core.analysis.service import ModelService  # noqa: E402
from othello_core.rules.vocab import moves_to_tokens  # noqa: E402

TINY = ModelShape(n_layers=2, d_model=32, n_heads=2, d_mlp=64)
RECIPE = SAERecipe(stream=1, expansion=4, k=4, games=300, epochs=20, batch_size=512, lr=3e-3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model and an SAE trained on it with SAELens, saved and measured."""
    model = build_model(TINY, device="cpu", seed=0)
    folder = tmp_path_factory.mktemp("sae")
    info = run_recipe(model, RECIPE, folder, "tiny", "hash0")
    service = ModelService(model, "tiny")
    batch = measurement_games(40)
    sae = SAE.load_from_disk(folder, dtype="float32")
    report, feats, pick = measure_sae(service, sae, RECIPE.hook, RECIPE.stream, batch)
    return {"model": model, "service": service, "folder": folder, "info": info, "sae": sae,
            "report": report, "feats": feats, "pick": pick, "batch": batch}


def test_collected_activations_are_the_stream_at_every_real_position_and_no_padding():
    model = build_model(TINY, device="cpu", seed=0)
    games = random_games(30, seed=5)
    games.squares[3, 20:] = -1  # a game cut short: its positions 20.. are padding
    games.lengths[3] = 20
    acts = collect_stream(model, games.squares, games.lengths, RECIPE.hook, RECIPE.stream, batch_games=7)
    pick = real_positions(games)
    assert len(acts) == len(pick) == int(np.minimum(games.lengths, 59).sum())
    assert not ((pick[:, 0] == 3) & (pick[:, 1] >= 20)).any()
    _, cache = model.run_with_cache(torch.as_tensor(games.tokens[:, :59]), names_filter=RECIPE.hook)
    expected = cache[RECIPE.hook][pick[:, 0], pick[:, 1]]
    assert torch.allclose(acts.float(), expected, atol=2e-3, rtol=2e-3)  # stored as float16


def test_the_sae_is_saved_in_saelens_format_fp16_with_its_training_record(trained):
    folder = trained["folder"]
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["architecture"] == "topk" and cfg["d_sae"] == 4 * 32 and cfg["dtype"] == "float16"
    assert cfg["metadata"]["hook_name"] == "blocks.0.hook_resid_post"
    from safetensors import safe_open
    with safe_open(str(folder / "sae_weights.safetensors"), "pt") as fh:
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.float16}
    record = json.loads((folder / "training.json").read_text())
    assert record["tokens"] == 300 * 59 - int((59 - np.minimum(random_games(300, seed=RECIPE.seed).lengths, 59)).sum())
    assert record["recipe"]["k"] == 4 and record["train_tokens_per_s"] > 0


def test_training_learns_a_reconstruction_with_k_active_features(trained):
    rec = trained["report"]["reconstruction"]
    assert rec["explained_variance"] > 0.6  # an untrained SAE explains nothing (checked below)
    assert rec["l0"] == pytest.approx(4.0)
    untrained = SAE.from_dict({**trained["sae"].cfg.to_dict()})
    with torch.no_grad():
        model = trained["model"]
        _, cache = model.run_with_cache(torch.as_tensor(trained["batch"].tokens[:5, :59]), names_filter=RECIPE.hook)
        xs = cache[RECIPE.hook].reshape(-1, 32)
        assert metrics.reconstruction_stats(untrained, xs, untrained.encode(xs))["explained_variance"] < 0.3


def test_splicing_the_sae_changes_the_model_and_hooks_are_removed(trained):
    service, sae = trained["service"], trained["sae"]
    batch = trained["batch"]
    splice = trained["report"]["splice"]
    assert splice["positions"] > 0 and 0 <= splice["legal_top1_spliced"] <= 1
    tokens = torch.as_tensor(batch.tokens[:2, :59])
    clean, _ = service.run(tokens)
    spliced, _ = service.run(tokens, fwd_hooks=[(RECIPE.hook, metrics.splice_hook(sae))])
    assert not torch.equal(clean, spliced)
    assert torch.equal(service.run(tokens)[0], clean)


def test_a_perfect_feature_scores_f1_one_and_builds_the_board():
    """Planted features: feature i fires exactly when board-state property i holds."""
    batch = random_games(60, seed=3, labels=True)
    pick = real_positions(batch)
    props = metrics.board_properties(batch, pick)
    assert props.shape == (len(pick), 6 * 64)
    board = props[:, :192]
    feats = torch.as_tensor(board, dtype=torch.float32) * 2.0
    feats = torch.cat([feats, torch.zeros(len(pick), 8)], 1)  # 8 dead features besides
    out = metrics.board_state_metrics(feats, props)
    scored = np.asarray(out["positives"][:192]) >= metrics.MIN_POSITIVES
    # chosen on one half, scored on the other: a perfect feature is still exact
    held, seen = np.asarray(out["held_out"]["f1"][:192]), np.asarray(out["held_out"]["positives"][:192]) > 0
    assert np.allclose(held[scored & seen], 1.0)
    f1 = np.asarray(out["properties"]["f1"][:192])
    assert np.allclose(f1[scored], 1.0)
    assert (np.asarray(out["properties"]["feature"][:192])[scored] == np.flatnonzero(scored)).all()
    assert out["coverage"] == pytest.approx(1.0)
    # reconstruction learns each feature's properties on the first half: a property seen fewer than
    # MIN_FIRINGS times there goes unpredicted on the second, so perfect features score just under 1
    assert 0.95 < out["reconstruction_f1"] <= 1.0
    # the last-move property of each position is never a board-state feature's best match
    assert np.asarray(out["properties"]["f1"][320:]).max() < 1.0


def test_noise_features_score_low_coverage():
    batch = random_games(60, seed=3, labels=True)
    pick = real_positions(batch)
    props = metrics.board_properties(batch, pick)
    feats = torch.relu(torch.randn(len(pick), 64, generator=torch.Generator().manual_seed(0)))
    out = metrics.board_state_metrics(feats, props)
    assert out["coverage"] < 0.75 and out["reconstruction_f1"] < 0.5


def _feature_set(trained) -> FeatureSet:
    return FeatureSet(trained["sae"], trained["folder"], RECIPE.hook, RECIPE.stream, trained["report"],
                      top_positions(trained["feats"], trained["pick"], trained["batch"]))


def test_ablating_an_inactive_feature_changes_nothing_and_an_active_one_changes_the_prediction(trained):
    features, service = _feature_set(trained), trained["service"]
    moves = tuple(int(s) for s in trained["batch"].squares[0, :12])
    analysis = service.analyze(moves)
    before = analysis.move_probs[5]
    acts = encode(features, analysis.resid[RECIPE.stream])[5]
    on = active_features(acts, k=4)
    assert len(on) == 4 and all(a > 0 for _, a in on)
    off = int(np.flatnonzero(acts == 0)[0])
    assert np.allclose(steered_probs(service, features, moves, 5, off, "ablate"), before, atol=1e-6)
    ablated = steered_probs(service, features, moves, 5, on[0][0], "ablate")
    assert not np.allclose(ablated, before, atol=1e-4)
    pushed = steered_probs(service, features, moves, 5, on[0][0], "add", scale=2.0)
    assert not np.allclose(pushed, before, atol=1e-4) and not np.allclose(pushed, ablated, atol=1e-4)
    # steering at position 5 only leaves earlier positions alone (the model is causal)
    hook = steering_hook(features, on[0][0], "add", 2.0, position=5)
    logits, _ = service.run(torch.tensor([moves_to_tokens(moves)]), fwd_hooks=[(RECIPE.hook, hook)])
    clean, _ = service.run(torch.tensor([moves_to_tokens(moves)]))
    assert torch.equal(logits[0, :5], clean[0, :5]) and not torch.allclose(logits[0, 5], clean[0, 5])


def test_steering_a_position_never_depends_on_the_moves_after_it(trained):
    """The add edit is scaled by the stream's norm at each position, so a longer game changes nothing earlier."""
    features, service = _feature_set(trained), trained["service"]
    game = tuple(int(s) for s in trained["batch"].squares[1, :30])
    for everywhere in (False, True):
        short = steered_probs(service, features, game[:12], 8, 3, "add", scale=1.5, everywhere=everywhere)
        long = steered_probs(service, features, game, 8, 3, "add", scale=1.5, everywhere=everywhere)
        assert np.allclose(short, long, atol=1e-5)


def test_two_sessions_never_see_each_others_steering(trained):
    features, service = _feature_set(trained), trained["service"]
    tokens = torch.as_tensor(trained["batch"].tokens[:1, :20])
    clean, _ = service.run(tokens)
    steer_hook = steering_hook(features, 0, "add", 8.0, None)

    def slow(x, hook=None):  # noqa: ARG001
        time.sleep(0.002)
        return steer_hook(x)

    seen, stop = [], time.time() + 2

    def steerer():
        while time.time() < stop:
            seen.append(("steer", torch.equal(service.run(tokens, fwd_hooks=[(RECIPE.hook, slow)])[0], clean)))

    def viewer():
        while time.time() < stop:
            seen.append(("clean", torch.equal(service.run(tokens)[0], clean)))

    threads = [threading.Thread(target=steerer), threading.Thread(target=viewer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(k == "clean" for k, _ in seen) > 10 and sum(k == "steer" for k, _ in seen) > 10
    assert all(ok for k, ok in seen if k == "clean") and not any(ok for k, ok in seen if k == "steer")


def test_descriptions_follow_the_numbers(trained):
    features = _feature_set(trained)
    freq = np.asarray(features.report["features"]["frequency"])
    dead = np.flatnonzero(freq == 0)
    if len(dead):
        assert features.describe(int(dead[0])).startswith("dead")
    live = int(np.argmax(freq))
    name, precision, recall, f1 = features.best_property(live)
    text = features.describe(live)
    assert name in text and (f"{f1:.2f}" in text or f"{precision:.2f}" in text or f"{recall:.2f}" in text)


def test_top_positions_are_the_highest_activations_of_each_feature(trained):
    top = top_positions(trained["feats"], trained["pick"], trained["batch"], k=3)
    feats = trained["feats"]
    for f in (0, 5, 17):
        best = feats[:, f].sort(descending=True).values[:3].numpy()
        assert np.allclose(top["activation"][f].astype(np.float32), best, rtol=1e-2, atol=1e-3)
        game, pos = top["game"][f, 0], top["position"][f, 0]
        squares = top["squares"][game]
        assert squares[pos] >= 0  # a real move, never padding
    features = FeatureSet(trained["sae"], trained["folder"], RECIPE.hook, RECIPE.stream, trained["report"], top)
    boards = top_position_boards(features, 5)
    assert [b["activation"] for b in boards] == sorted((b["activation"] for b in boards), reverse=True)
    for b in boards:  # each drawn board is the game replayed to that position, its last move on it
        assert b["cells"][b["last_move"]] != 0 and len(b["moves"]) == b["position"] + 1


# --- the SAE shipped beside the bundled model -------------------------------------------------

needs_shipped = pytest.mark.skipif(not (sae_folder(BUNDLED_DIR) / "cfg.json").exists(),
                                   reason="no SAE shipped beside the bundled model")


@needs_shipped
def test_the_shipped_sae_loads_with_saelens_and_reproduces_its_report():
    """Ten held-out games of the report's own set: the explained variance and L0 the report states."""
    from othello_core.model.hooked_transformer import load_model
    features = load_feature_set(BUNDLED_DIR)
    assert isinstance(features.sae, SAE) and features.d_sae == 8 * 512
    assert features.hook == "blocks.5.hook_resid_post" and features.stream == 6
    model = load_model("bundled", device="cpu")
    games = features.report["games"]
    batch = measurement_games(games["n"])
    small = GameBatch(batch.squares[:10], batch.lengths[:10], {k: v[:10] for k, v in batch.labels.items()})
    with torch.no_grad():
        x, feats, _ = metrics.stream_and_features(model, features.sae, small, features.hook, features.stream)
        stats = metrics.reconstruction_stats(features.sae, x, feats)
    assert len(features.report["probe_properties"]["f1"]) == 6 * 64  # the probes' side of findings (g)
    assert features.control_report is not None and features.control_report["hook"] == features.hook
    stated = features.report["reconstruction"]
    assert stats["explained_variance"] == pytest.approx(stated["explained_variance"], abs=0.02)
    assert stats["l0"] == pytest.approx(stated["l0"], rel=0.1)


def test_sae_train_and_report_commands_write_what_the_page_reads(tmp_path, capsys):
    """``sae train`` then ``sae report --json`` on a tiny run folder: the SAE folder the page loads."""
    from othello_core.cli.main import main
    from othello_core.model.weights import save_model
    save_model(build_model(TINY, device="cpu", seed=1), tmp_path / "run")
    out = tmp_path / "sae"
    assert main(["sae", "train", "--model", str(tmp_path / "run"), "--out", str(out), "--stream", "1",
                 "--expansion", "2", "--k", "4", "--games", "60", "--epochs", "2", "--batch-size", "256"]) == 0
    assert "tokens/s" in capsys.readouterr().out
    assert main(["sae", "report", "--model", str(tmp_path / "run"), "--out", str(out), "--stream", "1",
                 "--games", "20", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["hook"] == "blocks.0.hook_resid_post" and printed["reconstruction"]["d_sae"] == 64
    assert {"cfg.json", "sae_weights.safetensors", "training.json", "report.json", "top_positions.npz"} <= \
        {p.name for p in out.iterdir()}
    save_model(build_model(TINY, device="cpu", seed=2), tmp_path / "other")  # other weights, same shape
    with pytest.raises(SystemExit, match="trained on weights .* not .*other's"):
        main(["sae", "report", "--model", str(tmp_path / "other"), "--out", str(out), "--stream", "1", "--games", "20"])


def test_the_sae_finding_counts_what_each_method_captures(tmp_path):
    """A planted report: the SAE captures the first 10 'mine' squares and no legal move; the probe every
    board square but three and every legal move. The finding counts exactly that, and quotes only numbers it holds."""
    from othello_core.reports.findings import sae_finding

    from .test_findings import unbacked_numbers
    n = 6 * 64
    sae_f1, probe_f1 = np.full(n, 0.5), np.full(n, 0.95)
    sae_f1[64:74] = 0.97  # mine a1..b2
    probe_f1[64:67] = 0.6  # the probe misses mine a1..c1
    probe_f1[5 * 64:] = np.nan  # no probe reads the last move
    positives = np.full(n, 100)
    positives[27] = 0  # d4 is never empty: not scored
    report = {"properties": {"f1": sae_f1.tolist()}, "positives": positives.tolist(),
              "probe_properties": {"stream": 6, "f1": [None if np.isnan(v) else v for v in probe_f1]},
              "reconstruction": {"d_sae": 4096}, "games": {"n": 600}}
    folder = sae_folder(tmp_path)
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(report))
    finding = sae_finding(tmp_path)
    mine, empty, legal = finding["families"]["mine"], finding["families"]["empty"], finding["families"]["legal"]
    assert (mine["sae_captured"], mine["probe_captured"], mine["sae_only"], mine["probe_only"]) == (10, 61, 3, 54)
    assert empty["properties"] == 63 and legal["sae_captured"] == 0 and legal["probe_captured"] == 64
    assert "probe_captured" not in finding["families"]["last_move"]
    assert finding["board_state"] == {"properties": 191, "sae_captured": 10, "probe_captured": 188,
                                      "sae_only": 3, "probe_only": 181}
    assert finding["sae_ahead"][0]["property"] in {"a1 mine", "b1 mine", "c1 mine"}
    assert unbacked_numbers(finding) == []
    assert sae_finding(tmp_path / "elsewhere") is None
    # a model whose probes read only the board: no legal/flipped sentence, no KeyError
    report["probe_properties"]["f1"] = [v if i < 192 else None for i, v in enumerate(report["probe_properties"]["f1"])]
    (folder / "report.json").write_text(json.dumps(report))
    partial = sae_finding(tmp_path)
    assert "For legal moves" not in partial["sentence"] and unbacked_numbers(partial) == []


def test_sae_flags_are_the_recipe_fields():
    from othello_core.cli.main import build_parser
    args = build_parser().parse_args(["sae", "train", "--no-init-b-dec-mean", "--k", "16"])
    assert args.init_b_dec_mean is False and args.k == 16 and args.epochs == SAERecipe().epochs
    assert build_parser().parse_args(["sae", "compare"]).init_b_dec_mean is True
