"""The dashboard through Streamlit's own harness (AppTest), plus its pure state functions."""
import ast
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from othello_core.rules.board import parse_game
from othello_core.rules.hooks import stream_title
from othello_core.rules.notation import MoveError, parse_moves, square_to_name
from app import state as S

from .conftest import ROOT

ENTRY = str(ROOT / "app" / "streamlit_app.py")
SUBMIT = "FormSubmitter:paste_form-Load moves"


def app(moves: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=180)
    if moves is not None:
        at.query_params["moves"] = moves
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("threads, given, expected", [(None, None, "1"), ("2", None, "2"), ("1", "4", "4")])
def test_the_app_gives_mkl_torchs_thread_count_before_torch_loads(threads, given, expected):
    """MKL reads its count when torch loads; without one, a Streamlit run's first matmul takes every core. The
    entry script's first import sets it (unless set), from ``OTHELLO_TORCH_THREADS``, torch not loaded yet."""
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_NUM_THREADS", "OTHELLO_TORCH_THREADS")}
    env |= {k: v for k, v in (("OTHELLO_TORCH_THREADS", threads), ("MKL_NUM_THREADS", given)) if v is not None}
    probe = "import os, sys; import app.threads; print(os.environ['MKL_NUM_THREADS'], 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [expected, "False"]
    first = ast.parse((ROOT / "app" / "streamlit_app.py").read_text()).body[1]  # after the docstring
    assert isinstance(first, ast.ImportFrom) and [a.name for a in first.names] == ["threads"]


def test_play_move_extends_cuts_or_redoes_the_line():
    line = tuple(parse_moves("f5 d6 c3"))
    assert S.play_move(line, 1, parse_moves("d6")[0]) == (line, 2)  # same as the line: redo
    new, cursor = S.play_move(line, 1, parse_moves("f6")[0])
    assert new == tuple(parse_moves("f5 f6")) and cursor == 2  # a different move cuts the line
    with pytest.raises(MoveError):
        S.play_move(line, 3, parse_moves("a1")[0])
    assert S.step(line, 0, -1) == 0 and S.step(line, 3, 5) == 3 and S.step(line, 2, -1) == 1


def test_query_round_trip():
    line = tuple(parse_moves("f5 d6 c3 d3"))
    params = S.to_query(line, 2, "bundled", 6)  # stream 6: after L5, blocks.5.hook_resid_post
    assert params == {"moves": "f5d6c3d3", "at": "2", "model": "bundled", "layer": "L5"}
    loaded = S.from_query(params)
    assert (loaded.line, loaded.cursor, loaded.error, loaded.layer) == (line, 2, None, 6)
    assert S.from_query({"moves": "f5", "layer": "embed"}).layer == 0
    assert S.from_query({"moves": "f5", "layer": "5"}).layer == 6  # a bare number is the block too
    for wrong in ("L8", "x", "-1"):
        refused = S.from_query({"moves": "f5", "layer": wrong})
        assert refused.layer is None and "layer" in refused.notes[0], wrong
    bad = S.from_query({"moves": "f5d6a1"})
    assert bad.line == () and bad.error.index == 2


def test_shared_url_opens_the_position_and_writes_back_the_state():
    at = app("f5d6c3", layer="L2")
    assert not at.exception
    assert "White to move" in at.markdown[0].value
    assert at.success[0].value.startswith("Top-1:") or at.error[0].value.startswith("Top-1:")
    assert at.query_params["moves"] == "f5d6c3" and at.query_params["model"] == "bundled"
    assert at.session_state["layer"] == 3 and at.query_params["layer"] == "L2"


def test_paste_box_loads_moves_and_names_the_bad_move():
    at = app()
    at.text_area[0].set_value("f5 d6 c3 d3")
    at.button(key=SUBMIT).click().run()
    assert at.session_state["line"] == tuple(parse_moves("f5 d6 c3 d3"))
    at.text_area[0].set_value("f5 d6 c3 h8")
    at.button(key=SUBMIT).click().run()
    assert any("Move 4 (“h8”)" in e.value and "flips nothing" in e.value for e in at.error)
    assert at.session_state["line"] == tuple(parse_moves("f5 d6 c3 d3"))  # last good position kept


def test_a_long_paste_is_refused_with_its_limit_and_a_loaded_game_clears_the_paste_error():
    at = app("f5d6")
    at.text_area[0].set_value("f5 d6 " * 400)  # 2,400 characters: over the 2,000 read
    at.button(key=SUBMIT).click().run()
    assert any("2,400 characters" in e.value and "2,000" in e.value for e in at.error)
    assert at.session_state["line"] == tuple(parse_moves("f5 d6"))  # the last good position stays
    at.button(key="random_game").click().run()
    assert not any("characters" in e.value for e in at.error)
    line = at.session_state["line"]
    assert len(line) > 50 and at.session_state["cursor"] == len(line) - 1  # opens where the last move is predicted
    assert "P(move" in live_board_data(at, "prediction_board")["title"]


def test_token_ids_paste():
    at = app()
    at.text_area[0].set_value("34 40 19")
    at.radio[0].set_value("token ids (1–60)")
    at.button(key=SUBMIT).click().run()
    assert at.session_state["line"] == tuple(parse_moves("f5 d6 c3"))


def test_undo_redo_and_the_step_slider_move_one_shared_cursor():
    at = app("f5d6c3d3")
    at.button(key="sb_undo").click().run()
    assert at.session_state["cursor"] == 3 and at.query_params["at"] == "3"
    at.button(key="sb_start").click().run()
    assert at.session_state["cursor"] == 0
    assert "no prediction yet" in live_board_data(at, "prediction_board")["title"]  # the model has read nothing
    at.slider(key="sb_slider").set_value(2).run()
    assert at.session_state["cursor"] == 2
    at.button(key="sb_redo").click().run()
    assert at.session_state["cursor"] == 3


@pytest.mark.parametrize("page", ["views/probes.py", "views/attention.py", "views/model.py",
                                  "views/present.py", "views/interventions.py",
                                  "views/circuits.py", "views/findings.py", "views/features.py"])
def test_every_page_renders_the_shared_game(page):
    at = app("f5d6c3d3c4")
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.session_state["line"] == tuple(parse_moves("f5 d6 c3 d3 c4"))
    assert not at.error


def test_model_page_shows_the_bundled_model_and_its_training_curve():
    at = app("f5").switch_page("views/model.py").run()
    assert not at.exception, at.exception
    assert "Training curve" in [h.value for h in at.subheader]
    assert any("held-out" in c.value for c in at.caption)


def test_probe_page_switches_basis_and_probe_type():
    at = app("f5d6c3d3c4").switch_page("views/probes.py").run()
    assert at.selectbox(key="probe_kind").value == "mine_theirs"
    at.selectbox(key="probe_kind").set_value("black_white").run()
    at.selectbox(key="probe_method").set_value("MLP-128").run()
    assert not at.exception and at.selectbox(key="probe_class").value == 1
    captions = " ".join(c.value for c in at.caption)
    assert "MLP-128 black/white probe gets wrong" in captions


def test_probe_page_shows_where_in_the_game_each_probe_reads_the_board():
    at = app("f5").switch_page("views/probes.py").run()
    assert "Where in the game the board can be read" in [h.value for h in at.subheader]
    at.selectbox(key="by_move_probe").set_value(("mlp", "black_white", 128)).run()
    assert not at.exception, at.exception
    assert any("MLP-128 black/white probe by move number" in c.value for c in at.caption)


def test_model_page_shows_where_in_the_game_the_model_errs():
    at = app("f5").switch_page("views/model.py").run()
    assert "Where in the game it still errs" in [h.value for h in at.subheader]
    passes = [m.value for m in at.markdown if m.value.startswith(("**Synthetic.**", "**eOthello.**"))]
    assert len(passes) == 2 and all("After a pass" in p and "of all errors" in p for p in passes)
    assert any("10,000 held-out synthetic games" in str(c.proto.spec) for c in at.get("plotly_chart"))


def test_findings_page_shows_where_the_board_fades_with_its_figure():
    at = app("f5").switch_page("views/findings.py").run()
    assert not at.exception, at.exception
    assert "(f) Where the board fades: the last moves" in [h.value for h in at.header]
    assert any("trained at one move number only" in m.value and "after move 59" in m.value for m in at.markdown)
    late = [c for c in at.get("plotly_chart") if "blank probe trained at that move" in str(c.proto.spec)]
    assert len(late) == 1 and "model: top move legal" in str(late[0].proto.spec)


def test_missing_hub_weights_fall_back_to_the_bundled_model_with_a_banner():
    at = app("f5d6", model="synthetic")
    assert not at.exception
    assert any("could not be loaded" in w.value and "bundled" in w.value and "cannot be reached" in w.value
               for w in at.warning)
    assert "White to move" in at.markdown[0].value or "Black to move" in at.markdown[0].value
    # the selector and the link show the model that is live, and the warning stays while the user steps
    assert at.selectbox(key="model_select").value == "bundled" and at.query_params["model"] == "bundled"
    at.button(key="sb_undo").click().run()
    assert any("could not be loaded" in w.value for w in at.warning)
    at.selectbox(key="model_select").set_value("championship").run()
    assert at.session_state["model_error"][0] == "championship" and at.session_state["model"] == "bundled"


def test_presentation_steps_with_its_buttons():
    at = app("f5d6c3d3c4", at="2").switch_page("views/present.py").run()
    at.button(key="present_next").click().run()
    assert at.session_state["cursor"] == 3
    at.button(key="present_prev").click().run()
    at.button(key="present_prev").click().run()
    assert at.session_state["cursor"] == 1


def test_interventions_page_toggles_a_live_edit():
    at = app("f5d6c3d3c4f4c5b3").switch_page("views/interventions.py").run()
    assert not at.exception
    table = next(m.value for m in at.markdown if m.value.startswith("| | clean model | edited model |"))
    assert [what in table for what in ("Errors vs the edited board", "the edit makes legal", "makes illegal",
                                       "still legal")] == [True] * 4
    assert any("changes the legality" in c.value for c in at.caption)
    # the "before" board is the true board: its discs are the game's, not the edit's
    board = parse_game("f5d6c3d3c4f4c5b3").board
    before = live_board_data(at, "edit_before")
    assert before["cells"] == [{1: 1, -1: 2, 0: 0}[board.cell(s)] for s in range(64)] and before["paint"] is None
    at.selectbox(key="edit_method").set_value("set").run()
    after = lambda: live_board_data(at, "edit_after")  # noqa: E731
    assert after()["title"].startswith("After editing") and after()["extra"]["edited square"]
    heat = lambda key: np.array(live_board_data(at, key)["heat"])  # noqa: E731
    change = heat("edit_change")  # the delta board: the edited prediction minus the clean one, square by square
    assert np.allclose(change, heat("edit_after") - heat("edit_before"), atol=2e-5) and np.abs(change).max() > 0
    bound = np.abs(change).max()
    assert live_board_data(at, "edit_change")["zmin"] == pytest.approx(-bound, abs=2e-5)  # a scale centred on 0
    at.button(key="edit_toggle").click().run()  # the E key presses this button
    assert not at.exception and after()["title"].startswith("Edit off")
    assert at.query_params["edit_on"] == "0" and at.query_params["edit_method"] == "set"
    at.multiselect(key="edit_layers").set_value([]).run()
    assert any("and one layer" in i.value for i in at.info)


def test_edit_decomposition_answers_in_a_sentence():
    at = app("f5d6c3d3c4f4c5b3").switch_page("views/interventions.py").run()
    at.toggle(key="edit_diff_on").set_value(True).run()
    assert not at.exception
    sentences = [m.value for m in at.markdown if "of the logit change is the edit's direct effect" in m.value]
    infos = [i.value for i in at.info if "changes no move's legality" in i.value]
    assert sentences or infos


def test_circuits_page_picks_a_neuron_from_the_attribution():
    at = app("f5d6c3d3c4f4c5b3").switch_page("views/circuits.py").run()
    assert not at.exception
    assert "Contributions + unembedding bias" in at.caption[0].value
    label = at.button(key="neuron_pick_0").label  # "L{layer}N{neuron} +x.xx"
    at.button(key="neuron_pick_0").click().run()
    layer, neuron = label.split()[0][1:].split("N")
    assert (at.session_state["neuron_layer"], at.session_state["neuron_index"]) == (int(layer), int(neuron))
    assert any(m.value.startswith(f"**Hypothesis from the weights:** L{layer}N{neuron}") for m in at.markdown)


@pytest.mark.parametrize("page, says", [("views/probes.py", "No probes for"),
                                        ("views/interventions.py", "Edits use the model's probes")])
def test_pages_that_need_probes_say_so_for_a_model_without_them(tmp_path, monkeypatch, page, says):
    from othello_core.model.hooked_transformer import build_model
    from othello_core.model.weights import ModelShape, save_model
    monkeypatch.setenv("OTHELLO_MODEL_DIRS", str(tmp_path))  # the operator's model folder
    save_model(build_model(ModelShape(n_layers=1, d_model=32, n_heads=2, d_mlp=64), device="cpu"), tmp_path)
    at = app("f5d6", model=str(tmp_path)).switch_page(page).run()
    assert not at.exception, at.exception
    assert any(says in w.value and "no probes at" in w.value for w in at.warning)


def test_features_page_lists_the_active_features_and_steers_one():
    """The ranked table is the SAE's activations at the position; ablating the top feature changes the
    prediction shown after, never the one before."""
    import numpy as np
    at = app("f5d6c3d3c4f4c5b3", at="6").switch_page("views/features.py").run()
    assert not at.exception, at.exception
    table = at.dataframe(key="active_features_5").value
    assert len(table) > 0 and (np.diff(table["activation"].to_numpy()) <= 0).all()
    assert at.number_input(key="feature").value == int(table["feature"][0])
    assert "Feature" in at.subheader[0].value
    at.toggle(key="steer_everywhere").set_value(True).run()
    assert not at.exception, at.exception
    assert at.query_params["steer_everywhere"] == "true" and at.query_params["feature"] == str(table["feature"][0])
    at.number_input(key="feature").set_value(7).run()
    at.button(key="sb_undo").click().run()  # step back: the chosen feature stays chosen
    assert at.number_input(key="feature").value == 7 and at.query_params["feature"] == "7"


@pytest.mark.parametrize("page, params, widgets", [
    ("views/probes.py", {"probes_kind": "legal", "probes_class": "0", "probes_metric": "board_accuracy"},
     {("selectbox", "probe_kind"): "legal", ("selectbox", "probe_class"): 0, ("radio", "probe_metric"): "board_accuracy"}),
    ("views/circuits.py", {"circuits_move": "c4", "neuron_layer": "5", "neuron": "77", "circuits_tab": "Neuron explorer"},
     {("selectbox", "circuit_move"): 26, ("number_input", "neuron_layer"): 5, ("number_input", "neuron_index"): 77}),
    ("views/features.py", {"feature": "11", "steer_mode": "add", "steer_scale": "-1.0"},
     {("number_input", "feature"): 11, ("slider", "steer_scale"): -1.0}),
])
def test_each_pages_link_reopens_its_choices_and_is_written_back(page, params, widgets):
    at = app("f5d6c3d3c4f4c5b3", at="6", **params).switch_page(page).run()
    assert not at.exception, at.exception
    for (kind, key), value in widgets.items():
        assert getattr(at, kind)(key=key).value == value, key
    for name, value in params.items():
        assert at.query_params[name] == value, name
    assert "edit" not in at.query_params  # no page writes an edit the user did not make


def test_a_link_value_a_page_cannot_use_is_dropped_and_said():
    at = app("f5d6c3d3c4f4c5b3", probes_kind="nonsense", feature="99999").switch_page("views/probes.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="probe_kind").value == "mine_theirs"
    assert any("nonsense" in w.value for w in at.warning)


def test_features_page_says_how_to_make_an_sae_for_a_model_without_one(tmp_path, monkeypatch):
    from othello_core.model.hooked_transformer import build_model
    from othello_core.model.weights import ModelShape, save_model
    monkeypatch.setenv("OTHELLO_MODEL_DIRS", str(tmp_path))
    save_model(build_model(ModelShape(n_layers=1, d_model=32, n_heads=2, d_mlp=64), device="cpu"), tmp_path)
    at = app("f5d6", model=str(tmp_path)).switch_page("views/features.py").run()
    assert not at.exception, at.exception
    assert any("No sparse autoencoder" in i.value and "sae train" in i.value for i in at.info)


def test_an_edit_in_the_link_reopens_and_the_squares_box_follows_it():
    at = app("f5d6c3d3c4f4c5b3", edit="d4e4", edit_layers="L4", edit_scale="0.25")
    at.switch_page("views/interventions.py").run()
    assert not at.exception
    assert at.multiselect(key="edit_squares").value == [27, 28]
    assert at.multiselect(key="edit_layers").value == [5] and at.slider(key="edit_scale").value == 0.25
    at.multiselect(key="edit_squares").set_value([28]).run()
    assert at.query_params["edit"] == "e4"
    board = live_board_data(at, "edit_board")
    assert board["position"] == "edit_board_7_flip_e4" and board["extra"] == {"edited square": [28]}


def live_board_data(at, key: str) -> dict:
    """What the live board under element key ``key`` was sent to draw (``app.live_board.board_data``)."""
    import json
    found = [e.proto for e in at.get("bidi_component")
             if e.proto.component_name == "othello_live_board" and e.proto.id.endswith("-" + key)]
    assert len(found) == 1, [e.proto.id for e in at.get("bidi_component")]
    return json.loads(found[0].json)


@pytest.mark.parametrize("view, extra", [("prediction", {}), ("probe", {"layer": "L5"}),
                                         ("edit", {"edit": "e4", "edit_layers": "L4"}),
                                         ("attention", {"layer": "L2", "head": "2"})])
def test_present_shows_each_view(view, extra):
    at = app("f5d6c3d3c4f4c5b3", view=view, **extra).switch_page("views/present.py").run()
    assert not at.exception
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any(c.endswith("-present_view") for c in charts), charts
    assert at.query_params["view"] == view


def test_a_shipped_tour_opens_by_url_and_steps_through_its_slides():
    at = app(tour="probes").switch_page("views/present.py").run()
    assert not at.exception and at.session_state["slide"] == 0
    assert at.query_params["tour"] == "probes" and at.query_params["slide"] == "1"
    at.button(key="present_next").click().run()
    assert at.session_state["slide"] == 1 and at.session_state["view"].probe == "mine_theirs"
    assert any("97.8%" in m.value or "%" in m.value for m in at.markdown if "linear" in m.value.lower())
    at.button(key="present_next").click().run()
    assert at.session_state["view"].probe == "black_white" and at.query_params["slide"] == "3"


def open_tour_panel(at: AppTest) -> AppTest:
    """Open the sidebar's tour panel (its contents are drawn only while it is open)."""
    at.session_state["tour_panel"] = True
    return at.run()


def test_add_the_current_state_as_a_slide_from_a_page():
    at = app("f5d6c3d3", layer="L2").switch_page("views/probes.py").run()
    assert "tour_caption" not in [t.key for t in at.text_area]  # closed: its contents are not drawn
    open_tour_panel(at)
    at.text_area(key="tour_caption").set_value("Layer {probes.figures.best_layer}").run()
    at.button(key="tour_add").click().run()
    tour = at.session_state["tour"]
    assert len(tour.slides) == 1 and tour.slides[0].view == "probe" and tour.slides[0].settings["layer"] == "L2"
    assert tour.slides[0].caption == "Layer {probes.figures.best_layer}"


def test_tour_slides_reorder_delete_and_present():
    at = open_tour_panel(app("f5d6c3d3"))
    for caption in ("first", "second"):
        at.text_area(key="tour_caption").set_value(caption).run()
        at.button(key="tour_add").click().run()
    assert [s.caption for s in at.session_state["tour"].slides] == ["first", "second"]
    at.button(key="tour_down_0").click().run()
    assert [s.caption for s in at.session_state["tour"].slides] == ["second", "first"]
    at.button(key="tour_delete_1").click().run()
    assert [s.caption for s in at.session_state["tour"].slides] == ["second"]
    at.button(key="tour_present").click().run()
    assert not at.exception and at.session_state["touring"] and "tour" not in at.query_params  # not a shipped one


@pytest.mark.parametrize("tab, chart", [("Steer it", "steer_after"), ("Where it fires", "feature_top_0"),
                                        ("Directions", "feature_logit_effect"), ("How good is the SAE", "sae_families")])
def test_features_page_draws_only_the_open_tab(tab, chart):
    at = app("f5d6c3d3c4f4c5b3", at="6").switch_page("views/features.py").run()
    at.session_state["features_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    drawn = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
    others = {"steer_after", "feature_top_0", "feature_logit_effect", "sae_families"} - {chart}
    assert chart in drawn and not drawn & others, drawn


def test_who_reads_a_square_ranks_labelled_units_from_its_link():
    at = app("f5d6c3", search="c3", search_state="empty").switch_page("views/search.py").run()
    assert not at.exception, at.exception
    table = at.dataframe(key="search_table").value
    assert len(table) > 0 and (table["score"].diff().dropna() <= 0).all()
    assert all("c3 empty" in rule or best.startswith("c3 empty") for rule, best in zip(table["rule"], table["best property"]))
    assert any(c.proto.id.endswith("-search_probe") for c in at.get("plotly_chart"))  # the probe per stream
    assert (at.query_params["search"], at.query_params["search_state"]) == ("c3", "empty")


def _page_texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "subheader", "header", "title", "info") for e in getattr(at, kind)]


def test_a_links_layer_names_one_stream_and_one_block_on_every_page():
    """``layer=L5`` is the stream after L5 (``blocks.5.hook_resid_post``) where a page shows a stream and block L5
    (``blocks.5``) where it shows a block; wherever a stream is named beside its hook, they agree; no page spells a
    retired convention; the link keeps ``layer=L5``."""
    pages = [("views/probes.py", {}), ("views/features.py", {}), ("views/attention.py", {}),
             ("views/present.py", {"view": "probe"}), ("views/present.py", {"view": "attention"}),
             ("views/interventions.py", {}), ("views/findings.py", {})]
    named = 0
    for page, extra in pages:
        at = app("f5d6c3d3c4f4c5b3", layer="L5", **extra).switch_page(page).run()
        assert not at.exception, (page, at.exception)
        text = " ".join(_page_texts(at))
        for stream, hook in re.findall(r"after L(\d) · blocks\.(\d)\.hook_resid_post", text):
            assert stream == hook, (page, stream, hook)
            named += 1
        assert not re.search(r"after layer \d|\bL8\b|layer \d \(0 = embedding\)", text), page
        assert at.query_params["layer"] == "L5", page
    assert named >= 3  # the Probes caption, the Features stream, the Findings table at least
    at = app("f5d6c3d3c4f4c5b3", layer="L5", view="probe").switch_page("views/present.py").run()
    slider = at.select_slider(key="present_layer")
    assert slider.value == 6 and slider.format_func(slider.value) == "after L5"
    at = app("f5d6c3d3c4f4c5b3", layer="L5", view="attention").switch_page("views/present.py").run()
    slider = at.select_slider(key="present_block")
    assert slider.value == 5 and slider.format_func(slider.value) == "L5"
    at = app("f5d6c3d3c4f4c5b3", layer="L5").switch_page("views/attention.py").run()
    assert at.select_slider(key="attn_layer").value == 5 and "blocks.5.attn" in " ".join(_page_texts(at))


def test_the_logit_lens_boards_are_drawn_like_every_other_board():
    """One board per stream from the one board-drawing entry point: the position's discs, the true legal moves
    ringed, the lens as heat on one colour scale, each titled with its stream and hook."""
    at = app("f5d6c3d3c4f4c5b3", circuits_tab="Logit lens").switch_page("views/circuits.py").run()
    assert not at.exception, at.exception
    charts = {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    lens = [charts[f"lens_{s}"] for s in range(9)]
    board = parse_game("f5d6c3d3c4f4c5b3").board
    for s, spec in enumerate(lens):
        names = {t.get("name") for t in spec["data"]}
        assert {"black", "white", "legal move"} <= names, names
        rings = next(t for t in spec["data"] if t.get("name") == "legal move")
        assert sorted(a + b for a, b in zip(rings["x"], rings["y"])) == sorted(square_to_name(m) for m in board.legal_moves())
        assert spec["data"][0]["type"] == "heatmap" and spec["data"][0]["zmax"] == lens[0]["data"][0]["zmax"]
        assert stream_title(s) in spec["layout"]["title"]["text"]


def test_play_lists_the_models_top_five_moves_with_their_probability_and_legality():
    from app.common import load_service
    line = "f5d6c3d3c4f4c5b3"
    at = app(line)
    assert not at.exception, at.exception
    top = load_service("bundled").analyze(parse_moves(line)).top_moves(len(parse_moves(line)) - 1, k=5)
    table = next(m.value for m in at.markdown if m.value.startswith("| move | probability | legal |"))
    rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in table.splitlines()[2:]]
    assert rows == [[square_to_name(s), f"{p:.4f}", "yes" if ok else "**NO**"] for s, p, ok in top]
    assert float(rows[0][1]) >= float(rows[-1][1]) > 0


def plotly_array(value) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed array ({dtype, bdata, shape})."""
    if isinstance(value, dict):
        import base64
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.array(value, dtype=float)


def test_the_patching_tab_draws_what_activation_patching_computes_for_the_move_in_the_link():
    """The corrupted move named in the link (``patch_move``) is the slider's, and each panel is
    ``activation_patching``'s grid for that corruption (the job run off the click path, ``app.heavy``)."""
    from app.common import load_service
    from othello_core.analysis import attribution as A
    line = tuple(parse_moves("f5d6c3d3c4f4c5b3"))
    index = next(i for i in range(7, 0, -1) if A.corrupt_one_move(line, i))  # not the page's default (the middle)
    at = app("f5d6c3d3c4f4c5b3", circuits_tab="Activation patching",
             patch_move=str(index + 1)).switch_page("views/circuits.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="patch_index").value == index + 1
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith("-patching"))
    patch = A.activation_patching(load_service("bundled"), line, A.corrupt_one_move(line, index))
    values = patch["recovered" if abs(patch["clean_metric"] - patch["corrupted_metric"]) > 1e-6 else "effects"]
    for trace, kind in zip(spec["data"], ("resid_pre", "attn_out", "mlp_out")):
        assert np.allclose(plotly_array(trace["z"]), values[kind], atol=1e-6, equal_nan=True), kind
    assert np.abs(values["resid_pre"]).max() > 0.1  # a corruption the grid shows


def test_the_neuron_explorers_top_positions_are_boards_with_discs_and_the_last_move():
    at = app("f5d6c3d3c4f4c5b3", circuits_tab="Neuron explorer").switch_page("views/circuits.py").run()
    assert not at.exception, at.exception
    charts = {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    tops = [charts[k] for k in sorted((k for k in charts if k.startswith("neuron_top_")), key=lambda k: int(k[11:]))]
    assert len(tops) >= 3
    values = []
    for spec in tops:
        names = {t.get("name") for t in spec["data"]}
        assert {"black", "white", "last move"} <= names, names
        values.append(float(spec["layout"]["title"]["text"].split(" · ")[0]))
    assert values == sorted(values, reverse=True)  # strongest first


def test_play_draws_the_prediction_board_before_the_first_move_and_the_live_board_of_the_position():
    """Before any move the model predicts nothing, yet the prediction board is there (empty of heat, saying why),
    so the page does not jump at the first click; the live board is sent the rules' position."""
    at = app()
    assert not at.exception
    prediction = live_board_data(at, "prediction_board")
    assert "no prediction yet" in prediction["title"] and "P(move" not in prediction["title"]
    assert prediction["heat"] == [0.0] * 64 and not prediction["clickable"]
    board = live_board_data(at, "play_board")
    assert board["position"] == "0_0" and board["to_move"] == 1 and sum(board["legal"]) == 4
    assert board["cells"].count(1) == 2 and board["cells"].count(2) == 2
    at = app("f5")
    board = live_board_data(at, "play_board")
    assert board["position"] == "1_1" and board["last"] == 37 and board["to_move"] == 2 and sum(board["flipped"]) == 1
    prediction = live_board_data(at, "prediction_board")  # the model's move probabilities, the true legal moves
    assert prediction["title"].startswith("Model: P(move 2)") and prediction["legal"] == board["legal"]
    assert abs(sum(prediction["heat"]) - 1) < 1e-3 and abs(prediction["zmax"] - max(prediction["heat"])) < 1e-5
