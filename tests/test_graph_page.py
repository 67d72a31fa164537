"""The Graph page end to end (AppTest; circuit-tracer on the shipped transcoders): the graph of a position,
a node's card from the link, a node edit that changes the prediction, and the state round trip."""
import numpy as np
import pytest

from app import graph_state as GS
from othello_core.analysis.graphs.view import parse_key
from othello_core.rules.notation import name_to_square as sq

from .test_app import app

pytest.importorskip("circuit_tracer")


def test_graph_state_round_trip_and_refusals():
    spec = GS.GraphSpec(target=sq("d3"), node="F4.5.256", pinned=("F4.5.256", "E2.3"),
                        edits=(("F4.5.256", "zero", 0.0), ("F1.2.3", "clamp", 2.5)))
    query = GS.to_query(spec)
    assert query == {"graph_target": "d3", "graph_node": "F4.5.256", "graph_pin": "F4.5.256,E2.3",
                     "graph_edit": "F4.5.256:zero,F1.2.3:clamp:2.5"}
    assert GS.from_query(query) == (spec, ())
    assert GS.from_query({}) == (None, ())
    bad, notes = GS.from_query({"graph_target": "z9", "graph_node": "x", "graph_pin": "F1.1.1,nope",
                                "graph_edit": "E1.2:zero,F1.2.3:scale:big,F1.2.3:scale:0.5"})
    assert bad == GS.GraphSpec(pinned=("F1.1.1",), edits=(("F1.2.3", "scale", 0.5),)) and len(notes) == 5
    assert spec.toggle_pin("E2.3").pinned == ("F4.5.256",) and spec.toggle_pin("I0").pinned[-1] == "I0"
    assert [e.position for e in spec.set_edit("F0.9.1", "zero", 0).node_edits(5)] == [5, 2]  # move 10 is after 6


def test_the_graph_page_explains_a_move_and_a_node_edit_moves_it():
    moves = "f5d6c3d3c4f4"
    at = app(moves).switch_page("views/graph.py").run()
    assert not at.exception, at.exception
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any(c.endswith("-graph_chart_5_None") for c in charts) and any(c.endswith("-graph_board") for c in charts)
    scores = {m.label: m.value for m in at.metric}
    assert 0.5 < float(scores["replacement score"]) <= 1 and 0.8 < float(scores["completeness"]) <= 1
    from app import graph_data
    from app import heavy
    view = heavy.cached("attribution graph", graph_data.graph_key("bundled", tuple(at.session_state["line"]), 5, None))
    assert view.nodes[-1].key == "logit" and all(parse_key(n.key) for n in view.nodes)
    feature = max(view.features(), key=lambda n: n.to_logit)  # the feature pushing the target's logit most
    at = app(moves, graph_node=feature.key, graph_edit=f"{feature.key}:zero").switch_page("views/graph.py").run()
    assert not at.exception, at.exception
    assert any(h.value.startswith(feature.key) for h in at.subheader)
    assert at.query_params["graph_edit"] == f"{feature.key}:zero" and at.query_params["graph_node"] == feature.key
    titles = [c.proto.spec for c in at.get("plotly_chart") if c.proto.id.endswith(("-graph_before", "-graph_after"))]
    assert len(titles) == 2
    before, after = (graph_data.clean_probs("bundled", tuple(at.session_state["line"]), 5),
                     graph_data.edited_probs("bundled", tuple(at.session_state["line"]), 5,
                                             tuple(at.session_state["graph"].node_edits(5))))
    assert after[view.target] < before[view.target]  # removing a feature that pushes the target lowers it
    assert np.isclose(after.sum(), 1, atol=1e-3) and not np.allclose(after, before)
