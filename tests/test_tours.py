"""Tours, the live edit and Present's views as plain values (no Streamlit)."""
import json

import numpy as np
import pytest

from app import edit_state as E
from app import present_data as D
from app import tour as T
from app import view_state as V
from othello_core.analysis.interventions import setting_label
from othello_core.rules.board import parse_game
from othello_core.rules.notation import name_to_square as sq

from .conftest import ROOT

FINDINGS = json.loads((ROOT / "assets/models/bundled/findings.json").read_text())


def relative_after(moves: str) -> np.ndarray:
    from othello_core.rules.vocab import colour_classes
    board = parse_game(moves).board
    mover = board.to_move
    cells = colour_classes([board.cell(s) for s in range(64)])
    mine = 1 if mover == 1 else 2
    return np.where(cells == 0, 0, np.where(cells == mine, 1, 2))


# -- tours ---------------------------------------------------------------------------------------------

def test_three_shipped_tours_one_per_question_and_every_placeholder_resolves():
    names = T.shipped_names()
    assert {"probes", "minimal-edit", "circuit"} <= set(names)
    for name in names:
        tour = T.shipped(name)
        assert tour.slides and tour.name == name
        quoted = [p for s in tour.slides for p in T.placeholders(s.caption)]
        assert quoted, f"{name} quotes no findings"
        for slide in tour.slides:
            text = T.fill(slide.caption, FINDINGS)
            assert "{" not in text and "}" not in text, (name, text)


def test_every_shipped_caption_quotes_only_what_its_slide_draws():
    for name in T.shipped_names():
        for i, slide in enumerate(T.shipped(name).slides):
            assert not T.caption_mismatches(slide), (name, i + 1, T.caption_mismatches(slide))
    probe = T.Slide("f5", 1, "probe", "probes", {"probe": "mine_theirs"}, "reads {probes.figures.shipped_mlp_colour_best}")
    assert T.caption_mismatches(probe) == ["probes.figures.shipped_mlp_colour_best: drawn by the probe view "
                                           "(black_white probe, mlp method), not by this probe slide"]
    assert T.caption_mismatches(T.Slide("f5", 1, "edit", "", {}, "{probes.sentence}")) == \
        ["probes.sentence: no view draws it"]


def test_captions_quote_findings_never_typed_in_numbers():
    for name in T.shipped_names():
        for slide in T.shipped(name).slides:
            bare = T._PLACEHOLDER.sub("", slide.caption)
            assert not any(ch.isdigit() and bare[i + 1:i + 2] in "%." for i, ch in enumerate(bare)), (name, bare)


def test_the_minimal_edit_tour_quotes_the_best_single_layer_setting():
    settings = FINDINGS["minimal_edit"]["sweep"]["settings"]
    assert settings[13]["name"] == FINDINGS["minimal_edit"]["sweep"]["best_single_layer"]
    assert FINDINGS["minimal_edit"]["best_single_label"] == setting_label(settings[13]) == settings[13]["name"]
    assert settings[28]["name"].startswith("control: random") and settings[29]["name"].startswith("control: wrong")


def test_a_wrong_placeholder_fails_loudly_and_formats_apply():
    with pytest.raises(T.PlaceholderError, match="probes.figures.no_such_key"):
        T.fill("reads {probes.figures.no_such_key:.1%}", FINDINGS)
    with pytest.raises(T.PlaceholderError, match="cannot show"):
        T.fill("{probes.sentence:.1%}", FINDINGS)
    assert T.fill("{probes.figures.best_layer} {{literal}} {head_roles.mover_share.2.2:.0%}", FINDINGS) == \
        f"{FINDINGS['probes']['figures']['best_layer']} {{literal}} {FINDINGS['head_roles']['mover_share'][2][2]:.0%}"


def test_tour_round_trip_add_move_delete():
    tour = T.Tour("t", "T")
    a = T.slide_from_state("f5d6c3", 2, "probe", "probes", {"layer": "5", "model": "x", "probe": "blank"}, "A")
    assert a.settings == {"layer": "5", "probe": "blank"}  # only the view's settings travel
    b = T.slide_from_state("f5", 1, "edit", "interventions", {"edit": "e4"}, "B")
    tour = T.add(T.add(tour, a), b)
    assert [s.caption for s in T.move(tour, 1, -1).slides] == ["B", "A"]
    assert [s.caption for s in T.move(tour, 1, 5).slides] == ["A", "B"]
    assert [s.caption for s in T.delete(tour, 0).slides] == ["B"]
    assert T.loads(T.dumps(tour)) == tour
    assert a.params() == {"moves": "f5d6c3", "at": "2", "view": "probe", "layer": "5", "probe": "blank"}


@pytest.mark.parametrize("data, message", [
    ("not json", "not JSON"),
    ({"slides": "x"}, "list of 'slides'"),
    ({"name": "Bad Name!", "slides": []}, "'name'"),
    ({"name": "t", "slides": [{"moves": "f5a1"}]}, "slide 1: its moves are not a legal game"),
    ({"name": "t", "slides": [{"moves": "f5", "at": 3}]}, "'at' must be"),
    ({"name": "t", "slides": [{"moves": "f5", "view": "movie"}]}, "'view' must be"),
    ({"name": "t", "slides": [{"moves": "f5", "settings": {"rm": "-rf"}}]}, "unknown settings"),
    ({"name": "t", "slides": [{"caption": "x"}]}, "'moves' is missing"),
])
def test_a_bad_tour_file_says_what_to_fix(data, message):
    with pytest.raises(T.TourError, match=message):
        T.loads(data if isinstance(data, str) else json.dumps(data))


# -- the edit ------------------------------------------------------------------------------------------

def test_clicking_adds_and_removes_squares_and_refuses_what_the_target_cannot_edit():
    relative = relative_after("f5d6c3")
    spec = E.EditSpec(squares=(sq("d4"),))
    spec, msg = E.toggle_square(spec, sq("e4"), relative)
    assert msg is None and spec.squares == tuple(sorted((sq("d4"), sq("e4"))))
    spec, msg = E.toggle_square(spec, sq("d4"), relative)
    assert msg is None and spec.squares == (sq("e4"),)
    same, msg = E.toggle_square(spec, sq("a1"), relative)
    assert same == spec and "a1 is empty" in msg and "'mine' or 'theirs'" in msg
    placing = E.EditSpec(squares=(), target="mine")
    same, msg = E.toggle_square(placing, sq("e4"), relative)
    assert same == placing and "holds a disc" in msg
    assert E.toggle_square(placing, sq("a1"), relative)[0].squares == (sq("a1"),)


def test_unchosen_edit_offers_the_first_disc_and_stale_squares_drop():
    relative = relative_after("f5d6c3")
    assert E.chosen_squares(E.EditSpec(), relative) == (int(np.flatnonzero(relative)[0]),)
    assert E.chosen_squares(E.EditSpec(squares=(sq("a1"), sq("e4"))), relative) == (sq("e4"),)
    first, msg = E.toggle_square(E.EditSpec(), sq("e4"), relative)  # the offered square stays chosen
    assert sq("e4") in first.squares and len(first.squares) == 2
    assert E.to_edit(E.EditSpec(squares=()), relative) is None
    assert E.to_edit(E.EditSpec(squares=(sq("e4"),), layers=()), relative) is None
    edit = E.to_edit(E.EditSpec(squares=(sq("e4"),), layers=(6, 5), scale=0.25), relative)
    assert edit.squares == (sq("e4"),) and edit.layers == (5, 6) and edit.scale == 0.25


def test_edit_url_round_trip_and_bad_fields_are_noted():
    spec = E.EditSpec(squares=(sq("d4"), sq("e4")), target="blank", layers=(4, 5), method="gradient",
                      positions="all", scale=0.25, steps=40, lr=0.3, reg=0.1, on=False)
    query = E.to_query(spec)
    assert query["edit"] == "d4e4" and query["edit_on"] == "0"
    assert query["edit_layers"] == "L3,L4"  # streams 4 and 5, in the layer convention
    assert E.from_query(query) == (spec, ())
    assert E.to_query(E.EditSpec()) == {} and E.from_query({}) == (None, ())
    assert E.from_query({"edit": "none"})[0].squares == ()
    bad, notes = E.from_query({"edit": "z9", "edit_target": "explode", "edit_layers": "99", "edit_scale": "1e9"})
    assert bad.squares is None and bad.target == "flip" and bad.layers == (4,) and bad.scale == 0.5
    assert len(notes) == 4


def test_board_key_changes_with_the_clicked_outcome():
    spec = E.EditSpec()
    assert E.board_key("edit_board", 3, spec, (sq("e4"),)) == "edit_board_3_flip_e4"
    assert E.board_key("edit_board", 3, spec, ()) == "edit_board_3_flip_none"


# -- Present's views ------------------------------------------------------------------------------------

def test_view_url_round_trip_and_page_views():
    spec = V.ViewSpec("attention", head=3, probe="blank")
    assert V.from_query(V.to_query(spec)) == (spec, ())
    assert V.from_query({}) == (None, ())
    assert len(V.from_query({"view": "x", "head": "99", "probe": "y"})[1]) == 3
    assert V.for_page("interventions", spec).view == "edit" and V.for_page("present", spec) == spec


def test_attention_lands_on_the_squares_of_the_moves_attended():
    moves = parse_game("f5d6c3").moves
    patterns = np.zeros((1, 1, 3, 3))
    patterns[0, 0, 2] = [0.5, 0.2, 0.3]
    weights = D.attention_on_squares(patterns, moves, 0, 0, 2)
    assert weights[sq("f5")] == 0.5 and weights[sq("c3")] == 0.3 and weights.sum() == pytest.approx(1.0)


def test_probe_reading_marks_wrong_squares():
    truth = np.zeros(64, int)
    truth[[27, 36]] = 1
    probs = np.zeros((64, 3))
    probs[:, 0] = 1
    probs[27] = [0, 1, 0]
    cells, confidence, wrong = D.probe_reading(probs, truth, "mine_theirs", to_move=1)
    assert wrong.sum() == 1 and wrong[36] and cells[27] == 1 and confidence.min() == 1
