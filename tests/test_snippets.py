"""The "Reproduce in a notebook" snippets (``othello_core/reports/snippets.py``): each one runs and its
``result`` holds the numbers its page computes for the same state, typed-in numbers are settings only,
and every page shows the expander (AppTest)."""
import ast
import json

import numpy as np
import pytest
import torch

from othello_core.analysis import attribution as A
from othello_core.analysis.attention import mover_share
from othello_core.analysis.interventions import Edit, apply_edit
from othello_core.analysis.sae.recipe import sae_folder
from othello_core.analysis.service import ModelService
from othello_core.paths import BUNDLED_DIR
from othello_core.reports import snippets as S
from othello_core.reports import tl_snippets as T
from othello_core.reports.evaluation import stored_evaluation, training_metrics
from othello_core.rules import parse_game, replay, square_to_name

from .test_app import app

LINE = parse_game("f5 d6 c3 d3 c4 f4 c5 b3").moves
POSITION = 6  # the board after move 7; the line goes on (the pages analyse the whole line)
LABEL = "Reproduce in a notebook"


@pytest.fixture(scope="module")
def service():
    return ModelService.load("bundled")


@pytest.fixture(scope="module")
def analysis(service):
    return service.analyze(LINE)  # what common.analyze gives every page for this line


@pytest.fixture
def run(service, monkeypatch):
    """Exec a snippet with ``ModelService.load("bundled")`` answered by the loaded service; its ``result``."""
    def load(cls, source="bundled", **kwargs):
        assert source == "bundled" and not kwargs
        return service

    def execute(code: str):
        monkeypatch.setattr(ModelService, "load", classmethod(load))
        namespace: dict = {}
        grad = torch.is_grad_enabled()
        try:  # a TransformerLens snippet starts as TL's demos do, torch.set_grad_enabled(False): not for the tests after
            exec(compile(code, "snippet", "exec"), namespace)
        finally:
            torch.set_grad_enabled(grad)
        return namespace["result"]
    return execute


def test_play_snippet_runs_as_written_and_gives_the_pages_top_moves(analysis):
    namespace: dict = {}
    exec(compile(S.play_snippet(LINE, POSITION), "snippet", "exec"), namespace)  # loads the model itself
    result = namespace["result"]
    assert result["top_moves"] == [(square_to_name(s), p, ok) for s, p, ok in analysis.top_moves(POSITION, k=5)]
    assert np.array_equal(result["probs"], analysis.move_probs[POSITION])
    assert np.array_equal(result["legal"], analysis.legal[POSITION])


def test_play_snippet_without_a_prediction_gives_the_true_legal_moves(run):
    assert run(S.play_snippet((), None))["legal"] == ["d3", "c4", "f5", "e6"]
    board = replay(LINE[:3]).board
    assert run(S.play_snippet(LINE[:3], None)) == {"legal": [square_to_name(s) for s in board.legal_moves()],
                                                    "black_white": board.counts()}


def test_present_snippet_is_the_prediction_the_page_draws(run, analysis):
    result = run(S.present_snippet(LINE, POSITION))
    assert np.array_equal(result["probs"], analysis.move_probs[POSITION])


def test_analysis_truth_is_each_probes_target(analysis):
    """The Probes page reads the truth through ``Analysis.truth`` (it used to spell the mapping out)."""
    old = {"mine_theirs": analysis.relative, "black_white": analysis.board, "blank": (analysis.board == 0).astype(int),
           "flipped": analysis.flipped.astype(int), "legal": analysis.legal.astype(int)}
    for kind, truth in old.items():
        assert np.array_equal(analysis.truth(kind), truth), kind


@pytest.mark.parametrize("method, kind, width, cls", [("linear", "mine_theirs", 0, 1), ("mlp", "black_white", 128, 2),
                                                      ("linear", "legal", 0, 0)])
def test_probes_snippet_reads_the_position_as_the_page_does(run, service, analysis, method, kind, width, cls):
    result = run(S.probes_snippet(LINE, POSITION, kind, method, width, cls))
    probs = service.probe_position(analysis, POSITION)[(method, kind, width)]  # the page's call
    wrong = (probs.argmax(-1) != analysis.truth(kind)[POSITION]).sum(-1)
    assert result["wrong"] == wrong.tolist() and result["best_stream"] == int(np.argmin(wrong))
    assert np.array_equal(result["p"], probs[..., cls])


@pytest.mark.parametrize("edit, decompose", [(Edit((28,), "flip", (4,), scale=0.5), False),
                                             (Edit((28, 34), "flip", (3, 5), "all", "set", scale=1.0), True)])
def test_interventions_snippet_gives_the_edits_before_and_after(run, service, analysis, edit, decompose):
    position = 7
    result = run(S.interventions_snippet(LINE, position, edit, decompose=decompose))
    page = apply_edit(service, LINE, position, edit, clean_probs=analysis.move_probs[position])  # the page's call
    assert np.allclose(result["before"], page.clean_probs, atol=1e-6)  # the page reuses its analysis' forward
    assert np.array_equal(result["after"], page.edited_probs)
    assert np.array_equal(result["legal_before"], page.legal_before) and np.array_equal(result["legal_after"], page.legal_after)
    assert result["errors"] == page.errors
    assert result["legality_changed"] == [square_to_name(s) for s in page.flipped_legality]
    if decompose:
        assert result["decomposition"] == A.summarize_edit_diff(A.edit_diff(service, LINE, position, edit))


def test_edit_snippet_spells_every_setting_that_differs_from_the_default():
    code = S.interventions_snippet(LINE, 7, Edit((28,), "blank", (5, 6), "all", "gradient", steps=12, lr=0.3, reg=0.0))
    assert ('edit = Edit(squares=tuple(name_to_square(s) for s in ["e4"]), target="blank", layers=(5, 6), '
            'method="gradient", positions="all", steps=12, lr=0.3, reg=0.0)') in code


def test_circuits_snippets_give_each_tabs_numbers(run, service, analysis):
    square = analysis.top_moves(POSITION, k=1)[0][0]
    dla = A.direct_logit_attribution(service, A.components(service, LINE, POSITION), square)
    result = run(S.circuits_snippet(LINE, POSITION, square))
    assert list(result["contributions"]) == dla["names"]
    assert np.array_equal(list(result["contributions"].values()), dla["contributions"])
    assert (result["bias"], result["logit"]) == (dla["bias"], dla["logit"])
    assert result["top_neurons"] == A.top_neurons(dla["neurons"], k=12)

    lens = A.logit_lens(service, analysis)[:, POSITION]
    result = run(S.circuits_snippet(LINE, POSITION, square, tab="lens"))
    assert np.array_equal(result["lens"], lens)
    assert np.array_equal(result["legal_mass"], (lens * analysis.legal[POSITION]).sum(-1))

    result = run(S.circuits_snippet(LINE, POSITION, square, tab="neuron", layer=3, neuron=17))
    assert result["hypothesis"] == A.neuron_hypothesis(A.neuron_profile(service, 3, 17))
    assert np.array_equal(result["activations"], A.neuron_activations(service, LINE, 3)[:, 17])

    result = run(S.circuits_snippet(LINE, POSITION, square, tab="heads"))
    assert np.array_equal(result["mover_share"], mover_share(analysis.patterns, analysis.to_move, LINE))

    clean = LINE[:POSITION + 1]
    patch = A.activation_patching(service, clean, A.corrupt_one_move(clean, 4))
    result = run(S.circuits_snippet(LINE, POSITION, square, tab="patching", corrupt_index=4))
    assert (result["clean_metric"], result["corrupted_metric"]) == (patch["clean_metric"], patch["corrupted_metric"])
    assert all(np.array_equal(result["effects"][k], patch["effects"][k]) for k in patch["effects"])


def test_attention_snippet_gives_the_layers_patterns_and_head_shares(run, analysis):
    result = run(S.attention_snippet(LINE, 2, 5))
    assert np.array_equal(result["pattern"], analysis.patterns[2, :, :5, :5])
    assert np.array_equal(result["mover_share"], mover_share(analysis.patterns, analysis.to_move, LINE))


def test_findings_snippet_recomputes_the_stored_numbers(run, service):
    stored = json.loads((service.folder / "findings.json").read_text())
    result = run(S.findings_snippet())
    assert result["probes"] == stored["probes"]["figures"]  # (a) recomputed from the probe report
    assert result["blank_accuracy"] == stored["empty_square"]["blank_accuracy"]
    assert result["mover_share"] == stored["head_roles"]["mover_share"]
    assert result["late_game"] == stored["late_game"]


def test_model_snippet_gives_the_pages_numbers(run, service):
    result = run(S.model_snippet())
    assert result["info"] == service.info
    assert result["training_curve"] == training_metrics(service.folder) and result["training_curve"]
    assert result["evaluation"] == stored_evaluation(service.folder, service.hash) and result["evaluation"]


@pytest.mark.skipif(not (sae_folder(BUNDLED_DIR) / "report.json").exists(), reason="no SAE shipped")
def test_features_snippet_gives_the_pages_table_and_steering(run, service, analysis):
    from othello_core.analysis.sae.features import active_features, encode, load_feature_set, steered_probs
    features = load_feature_set(service.folder)
    ranked = active_features(encode(features, analysis.resid[features.stream])[POSITION], k=15)
    feature = ranked[0][0]
    result = run(S.features_snippet(LINE, POSITION, feature, "ablate"))
    assert result["active"] == ranked and result["describe"] == features.describe(feature)
    assert np.array_equal(result["after"], steered_probs(service, features, LINE, POSITION, feature, "ablate"))
    assert not np.allclose(result["after"], result["before"])  # ablating the strongest feature moves the prediction


def numbers(code: str) -> set:
    """Every number typed into the code (comments aside), ``-x`` as one number; the last axis (-1) aside."""
    tree = ast.parse(code)
    negated = {id(n.operand) for n in ast.walk(tree) if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub)}
    found = {-n.value if id(n) in negated else n.value for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and type(n.value) in (int, float)}
    return found - {-1}


ALL = [  # (snippet, the numbers it may type: the page's settings, plus the +1 of a move number)
    (S.play_snippet(LINE, POSITION), {POSITION, 5}),
    (S.play_snippet(LINE[:3], None), set()),
    (S.probes_snippet(LINE, POSITION, "black_white", "mlp", 128, 2), {POSITION, 128, 2}),
    (S.interventions_snippet(LINE, 7, Edit((28,), "flip", (4,), scale=0.5), decompose=True), {7, 4, 0.5}),
    (S.circuits_snippet(LINE, POSITION, 19), {POSITION, 12}),
    (S.circuits_snippet(LINE, POSITION, 19, tab="lens"), {POSITION}),
    (S.circuits_snippet(LINE, POSITION, 19, tab="neuron", layer=3, neuron=17), {POSITION, 3, 17}),
    (S.circuits_snippet(LINE, POSITION, 19, tab="heads"), {POSITION}),
    (S.circuits_snippet(LINE, POSITION, 19, tab="patching", corrupt_index=4), {POSITION, 4, 1}),
    (S.attention_snippet(LINE, 2, 5), {2, 5, 1}),
    (S.findings_snippet(), set()),
    (S.features_snippet(LINE, POSITION, 123, "add", 0.5), {POSITION, 123, 0.5, 15}),  # 15: the table's length
    (S.model_snippet(), set()),
]


@pytest.mark.parametrize("code, allowed", ALL, ids=range(len(ALL)))
def test_snippets_type_in_settings_never_a_result_and_use_the_public_api(code, allowed):
    assert numbers(code) <= allowed, numbers(code) - allowed
    tree = ast.parse(code)
    modules = {n.module if isinstance(n, ast.ImportFrom) else a.name
               for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert all(m == "json" or m.split(".")[:2] in (["othello_core", "rules"], ["othello_core", "analysis"],
                                                    ["othello_core", "reports"]) for m in modules), modules
    assert any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "result" for t in n.targets)
               for n in tree.body), "a snippet ends by binding result"
    assert len(code.splitlines()) <= 16


def expander_code(at, which: int = 0) -> str:
    """The page's snippet: ``which`` 0 the othello_core one, 1 the TransformerLens one (a page that runs the
    model shows both, in two tabs)."""
    found = [e for e in at.expander if e.label == LABEL]
    assert len(found) == 1, [e.label for e in at.expander]
    if not at.session_state["reproduce"]:  # drawn only while open: closed, it holds nothing; open it
        assert not found[0].code
        at.session_state["reproduce"] = True
        at.run()
        found = [e for e in at.expander if e.label == LABEL]
    codes = found[0].code
    assert len(codes) in (1, 2) and which < len(codes)
    compile(codes[which].value, "snippet", "exec")
    return codes[which].value


@pytest.mark.parametrize("page", ["views/probes.py", "views/interventions.py", "views/circuits.py",
                                  "views/attention.py", "views/findings.py", "views/model.py", "views/present.py",
                                  "views/features.py"])
def test_every_page_shows_its_snippet(page):
    at = app("f5d6c3d3c4", at="4").switch_page(page).run()
    assert not at.exception, at.exception
    code = expander_code(at)
    assert "result = " in code and 'ModelService.load("bundled")' in code
    if page not in ("views/findings.py", "views/model.py"):
        assert 'parse_game("f5 d6 c3 d3 c4")' in code
    if page not in ("views/findings.py", "views/model.py", "views/attention.py"):
        assert "position = 3  # the board after move 4 (d3)" in code
    if page != "views/findings.py":  # it reads stored reports: no model call to write in TransformerLens terms
        tl = expander_code(at, 1)
        assert "model = " in tl and "HookedTransformer" in tl and "result = " in tl


def test_the_play_pages_snippet_gives_the_top_move_it_shows(run):
    at = app("f5d6c3d3c4", at="4")
    assert not at.exception, at.exception
    result = run(expander_code(at))
    top = result["top_moves"][0][0]
    assert (at.success or at.error)[0].value.startswith(f"Top-1: **{top}**")
    at = app()
    assert "board.legal_moves()" in expander_code(at)  # no move yet: the true legal moves


def test_page_settings_flow_into_the_snippets():
    at = app("f5d6c3d3c4f4c5b3").switch_page("views/interventions.py").run()
    at.selectbox(key="edit_method").set_value("set").run()
    assert 'method="set"' in expander_code(at)
    at = app("f5d6c3d3c4f4c5b3").switch_page("views/probes.py").run()
    at.selectbox(key="probe_kind").set_value("black_white").run()
    at.selectbox(key="probe_method").set_value("MLP-128").run()
    assert "[('mlp', 'black_white', 128)]" in expander_code(at)
    at = app("f5d6c3d3c4f4c5b3").switch_page("views/circuits.py").run()
    label = at.button(key="neuron_pick_0").label  # "L{layer}N{neuron} +x.xx"
    at.button(key="neuron_pick_0").click().run()
    layer, neuron = label.split()[0][1:].split("N")
    assert f"layer, neuron = {layer}, {neuron}" in expander_code(at)


# ---------------------------------------------------------------- the same numbers in TransformerLens terms

def test_tl_play_snippet_gives_the_pages_prediction(run, analysis):
    result = run(T.play_snippet(LINE, POSITION))
    assert np.allclose(result["probs"], analysis.move_probs[POSITION], atol=1e-6)
    assert [m for m, _ in result["top_moves"]] == [square_to_name(s) for s, _, _ in analysis.top_moves(POSITION, k=5)]


@pytest.mark.parametrize("method, kind, width, cls", [("linear", "mine_theirs", 0, 1), ("mlp", "black_white", 128, 2)])
def test_tl_probes_snippet_reads_every_stream_as_the_page_does(run, service, analysis, method, kind, width, cls):
    result = run(T.probes_snippet(LINE, POSITION, kind, method, width, cls))
    probs = service.probe_position(analysis, POSITION)[(method, kind, width)]  # [streams, 64, classes]
    assert np.allclose(result["p"], probs[..., cls], atol=1e-5)
    assert (result["read"] == probs.argmax(-1)).mean() > 0.999


@pytest.mark.parametrize("edit", [Edit((19,), "flip", (4,), scale=0.5), Edit((28, 27), "flip", (3, 5), method="set")])
def test_tl_interventions_snippet_gives_the_edits_before_and_after(run, service, edit):
    result = run(T.interventions_snippet(LINE, POSITION, edit))
    outcome = apply_edit(service, LINE, POSITION, edit)
    assert np.allclose(result["before"], outcome.clean_probs, atol=1e-5)
    assert np.allclose(result["after"], outcome.edited_probs, atol=1e-5)
    assert not np.allclose(result["after"], result["before"], atol=1e-3)  # the edit did something


def test_tl_circuits_snippets_give_each_tabs_numbers(run, service, analysis):
    square = 19
    dla = A.direct_logit_attribution(service, A.components(service, LINE, POSITION), square)
    page = dict(zip(dla["names"], dla["contributions"]))
    got = run(T.circuits_snippet(LINE, POSITION, square))
    attrs = got["attributions"]
    for layer in range(service.n_layers):
        assert attrs[f"{layer}_mlp_out"] == pytest.approx(page[f"L{layer} MLP"], abs=1e-4)
        for head in range(service.model.cfg.n_heads):
            assert attrs[f"L{layer}H{head}"] == pytest.approx(page[f"L{layer}H{head}"], abs=1e-4)
    assert attrs["bias"] == pytest.approx(sum(v for k, v in page.items() if k.endswith("attn bias")), abs=1e-4)
    assert sum(attrs.values()) + got["bias"] == pytest.approx(got["logit"], abs=1e-3)
    assert got["logit"] == pytest.approx(dla["logit"], abs=1e-4)
    lens = run(T.circuits_snippet(LINE, POSITION, square, tab="lens"))["lens"]
    assert np.allclose(lens, A.logit_lens(service, analysis)[:, POSITION], atol=1e-5)
    got = run(T.circuits_snippet(LINE, POSITION, square, tab="neuron", layer=3, neuron=17))
    assert np.allclose(got["activations"], A.neuron_activations(service, LINE, 3)[:, 17], atol=1e-5)
    assert np.allclose(got["promotes"], A.neuron_profile(service, 3, 17)["promotes"], atol=1e-4)
    patterns = run(T.circuits_snippet(LINE, POSITION, square, tab="heads"))["patterns"]
    assert np.allclose(patterns, analysis.patterns, atol=1e-6)
    clean = LINE[:POSITION + 1]
    page = A.activation_patching(service, clean, A.corrupt_one_move(clean, 4))
    got = run(T.circuits_snippet(LINE, POSITION, square, tab="patching", corrupt_index=4))
    assert got["clean_metric"] == pytest.approx(page["clean_metric"], abs=1e-4)
    assert got["corrupted_metric"] == pytest.approx(page["corrupted_metric"], abs=1e-4)
    for kind in ("resid_pre", "attn_out", "mlp_out"):  # TransformerLens gives the patched metric itself
        assert np.allclose(got[kind] - got["corrupted_metric"], page["effects"][kind], atol=1e-3), kind


def test_tl_attention_and_model_snippets_give_the_pages_numbers(run, service, analysis):
    assert np.allclose(run(T.attention_snippet(LINE, 2, 5))["pattern"], analysis.patterns[2, :, :5, :5], atol=1e-6)
    info = service.info
    got = run(T.model_snippet())
    assert {k: got[k] for k in ("n_layers", "d_model", "n_heads", "parameters")} == \
        {k: info[k] for k in ("n_layers", "d_model", "n_heads", "parameters")}


@pytest.mark.skipif(not (sae_folder(BUNDLED_DIR) / "report.json").exists(), reason="no SAE shipped")
@pytest.mark.parametrize("mode, scale, everywhere", [("ablate", 0.5, False), ("add", 0.5, True)])
def test_tl_features_snippet_gives_the_pages_activations_and_steering(run, service, analysis, mode, scale, everywhere):
    from othello_core.analysis.sae.features import active_features, encode, load_feature_set, steered_probs
    features = load_feature_set(service.folder)
    acts = encode(features, analysis.resid[features.stream])
    feature = active_features(acts[POSITION], k=1)[0][0]
    result = run(T.features_snippet(LINE, POSITION, feature, mode, scale, everywhere))
    assert np.allclose(result["acts"], acts, atol=1e-4)
    page = steered_probs(service, features, LINE, POSITION, feature, mode, scale=scale, everywhere=everywhere)
    assert np.allclose(result["after"], page, atol=1e-5)
    assert not np.allclose(result["after"], analysis.move_probs[POSITION])  # the steering did something


TL_ALL = [  # (snippet, the numbers it may type beyond the page's settings: 0 and 1 as indices, the seed 0)
    (T.play_snippet(LINE, POSITION), {POSITION, 5}),
    (T.probes_snippet(LINE, POSITION, "black_white", "mlp", 128, 2), {POSITION, 128, 2}),
    (T.interventions_snippet(LINE, 7, Edit((28,), "flip", (4,), scale=0.5)), {7, 4, 0.5}),
    (T.circuits_snippet(LINE, POSITION, 19), {POSITION}),
    (T.circuits_snippet(LINE, POSITION, 19, tab="neuron", layer=3, neuron=17), {POSITION, 3, 17}),
    (T.circuits_snippet(LINE, POSITION, 19, tab="patching", corrupt_index=4), {POSITION, 4}),
    (T.attention_snippet(LINE, 2, 5), {2, 5}),
    (T.features_snippet(LINE, POSITION, 123, "add", 0.5), {POSITION, 123, 0.5}),
    (T.model_snippet(), set()),
]


@pytest.mark.parametrize("code, allowed", TL_ALL, ids=range(len(TL_ALL)))
def test_tl_snippets_type_in_settings_never_a_result_and_speak_transformerlens(code, allowed):
    assert numbers(code) <= allowed | {0, 1}, numbers(code) - allowed - {0, 1}
    tree = ast.parse(code)
    modules = {n.module if isinstance(n, ast.ImportFrom) else a.name
               for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert modules <= {"torch", "transformer_lens"} | {m for m in modules if m.startswith("othello_core.")}
    assert "service.analyze" not in code and "othello_core.analysis.attribution import A" not in code
    assert any(word in code for word in ("run_with_cache", "run_with_hooks", "model(", "model.cfg"))
