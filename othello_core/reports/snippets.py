"""Notebook snippets: the few lines of ``othello_core`` that compute what a dashboard page shows.

One function per page returns short, runnable Python for the page's current position and settings
(the app shows it in a "Reproduce in a notebook" expander). Every snippet

* imports only the public layered API (``othello_core.rules``, ``othello_core.analysis``,
  ``othello_core.reports``) and loads the page's model with ``ModelService.load(name)``;
* embeds the game as readable notation, replayed with ``othello_core.rules.parse_game`` (the page's
  whole move line; ``position`` picks the shown board, as the page does: position ``p`` is the board
  after move ``p + 1``);
* ends by binding ``result``: a dict of the numbers the page draws, computed by the same calls the
  page makes (``tests/test_snippets.py`` runs each snippet and compares ``result`` with the page's
  computation).

A snippet embeds settings (moves, position, layer, edit, probe), never a number the page computed.
Pure string building: no model is loaded here.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Sequence

from othello_core.rules.notation import format_moves, square_to_name

if TYPE_CHECKING:  # only the type: building a snippet imports no torch
    from othello_core.analysis.interventions import Edit

RESULT_DOC = "# result: "


def _text(value: str) -> str:
    """A string as a Python literal (double-quoted)."""
    return json.dumps(str(value))


def _load(model: str) -> str:
    return f"service = ModelService.load({_text(model)})  # the model, its probes, one lock"


def _game(moves: Sequence[int]) -> str:
    return f"game = parse_game({_text(format_moves(moves, sep=' '))})"


def _position(moves: Sequence[int], position: int) -> str:
    return f"position = {position}  # the board after move {position + 1} ({square_to_name(moves[position])})"


def _snippet(imports: Sequence[str], body: list[str], stdlib: Sequence[str] = ()) -> str:
    """The code: standard-library imports, the project's (sorted, as isort would), a blank line, the body."""
    head = [*stdlib, ""] if stdlib else []
    return "\n".join(head + sorted(set(imports)) + [""] + body) + "\n"


def _rules(*names: str) -> str:
    return "from othello_core.rules import " + ", ".join(sorted({"parse_game", *names}))


def _analysed(moves: Sequence[int], position: int | None, model: str, extra_imports: Sequence[str] = (),
              rules: Sequence[str] = ("square_to_name",), analyse: bool = True) -> tuple[list[str], list[str]]:
    """Imports and the first lines every position page shares: the game, the model, one analysis."""
    imports = ["from othello_core.analysis.service import ModelService", _rules(*rules), *extra_imports]
    body = [_game(moves), _load(model)]
    if analyse:
        body.append("analysis = service.analyze(game.moves)  # one forward: predictions, true boards, streams, attention")
    if position is not None:
        body.append(_position(moves, position))
    return imports, body


def play_snippet(moves: Sequence[int], position: int | None, model: str = "bundled", k: int = 5) -> str:
    """Play: ``result`` is the top-``k`` next moves as ``(move, probability, legal)``, the page's table.
    Without a prediction (``position`` None: no move yet, game over, past move 59) ``moves`` is the
    shown game and ``result`` its true legal moves."""
    if position is None:
        return _snippet([_rules("square_to_name")],
                        [_game(moves), "board = game.board",
                         RESULT_DOC + "the true legal moves (the model makes no prediction here)",
                         "result = {\"legal\": [square_to_name(s) for s in board.legal_moves()], "
                         "\"black_white\": board.counts()}"])
    imports, body = _analysed(moves, position, model)
    body += [RESULT_DOC + f"the top-{k} next moves (move, probability, truly legal), the page's table",
             f"result = {{\"top_moves\": [(square_to_name(s), p, legal) for s, p, legal in analysis.top_moves(position, k={k})],",
             "          \"probs\": analysis.move_probs[position], \"legal\": analysis.legal[position]}  # [64] each"]
    return _snippet(imports, body)


def present_snippet(moves: Sequence[int], position: int | None, model: str = "bundled") -> str:
    """Present: the same prediction as Play (``result``: top moves, ``probs`` and ``legal`` [64])."""
    return play_snippet(moves, position, model)


def probes_snippet(moves: Sequence[int], position: int, kind: str, method: str = "linear",
                   width: int | None = None, cls: int = 1, model: str = "bundled") -> str:
    """Probes, "this position, every layer": one probe's reading at every stream. ``result``:
    ``wrong`` (squares read wrong per stream, 0 = embedding), ``best_stream`` and ``p`` (P(class
    ``cls``) ``[streams, 64]``, the page's grid)."""
    key = ("linear", kind, 0) if method == "linear" else ("mlp", kind, int(width))
    imports, body = _analysed(moves, position, model, rules=())
    body += [f"probs = service.probe_position(analysis, position)[{key!r}]  # [streams, 64, classes]",
             f"truth = analysis.truth({_text(kind)})[position]  # [64] true class per square",
             "wrong = (probs.argmax(-1) != truth).sum(-1)  # squares read wrong, per stream",
             RESULT_DOC + f"squares wrong per stream, the best stream, P(class {cls}) per stream and square",
             f"result = {{\"wrong\": wrong.tolist(), \"best_stream\": int(wrong.argmin()), \"p\": probs[..., {cls}]}}"]
    return _snippet(imports, body)


def _edit_code(edit: "Edit") -> str:
    """The ``Edit(...)`` line: squares, target, layers and method always, other fields where not the default."""
    squares = ", ".join(_text(square_to_name(s)) for s in edit.squares)
    parts = [f"squares=tuple(name_to_square(s) for s in [{squares}])", f"target={_text(edit.target)}",
             f"layers={tuple(edit.layers)!r}", f"method={_text(edit.method)}"]
    for f in fields(edit):
        value = getattr(edit, f.name)
        if f.name not in ("squares", "target", "layers", "method") and value != f.default:
            parts.append(f"{f.name}={_text(value) if isinstance(value, str) else repr(value)}")
    return "edit = Edit(" + ", ".join(parts) + ")"


def interventions_snippet(moves: Sequence[int], position: int, edit: "Edit", model: str = "bundled",
                          decompose: bool = False) -> str:
    """Interventions: the live edit. ``result``: ``before``/``after`` move probabilities [64],
    ``legal_before``/``legal_after`` [64], the ``errors`` counts and the moves whose legality the edit
    changes; with ``decompose``, ``decomposition`` (the page's sentence on where the change comes from)."""
    imports = ["from othello_core.analysis.interventions import Edit, apply_edit",
               "from othello_core.analysis.service import ModelService", _rules("name_to_square", "square_to_name")]
    if decompose:
        imports.append("from othello_core.analysis.attribution import edit_diff, summarize_edit_diff")
    body = [_game(moves), _load(model), _position(moves, position), _edit_code(edit),
            "outcome = apply_edit(service, game.moves, position, edit)  # clean vs edited, hooks removed after",
            RESULT_DOC + "P(move) before/after, legal moves before/after, error counts, the moves whose legality changed",
            "result = {\"before\": outcome.clean_probs, \"after\": outcome.edited_probs,",
            "          \"legal_before\": outcome.legal_before, \"legal_after\": outcome.legal_after,",
            "          \"errors\": outcome.errors, \"legality_changed\": [square_to_name(s) for s in outcome.flipped_legality]}"]
    if decompose:
        body += ["diff = edit_diff(service, game.moves, position, edit)  # DLA of the change + composition test",
                 "result[\"decomposition\"] = summarize_edit_diff(diff)"]
    return _snippet(imports, body)


CIRCUIT_TABS = ("dla", "lens", "neuron", "heads", "patching")


def circuits_snippet(moves: Sequence[int], position: int, square: int, model: str = "bundled", tab: str = "dla",
                     layer: int = 0, neuron: int = 0, corrupt_index: int | None = None) -> str:
    """Circuits, the open tab (``tab`` in ``CIRCUIT_TABS``). ``result`` by tab: ``dla``: the
    contribution of each component to the logit of ``square``, the unembedding bias, the logit and the
    top 12 neurons; ``lens``: P(move) per stream [streams, 64] and the mass on legal moves; ``neuron``:
    the hypothesis from the weights and the activation along the game; ``heads``: each head's share on
    the mover's moves [layers, heads]; ``patching`` (move ``corrupt_index`` corrupted): the metric
    clean and corrupted and the patching effects [layers, moves] per activation."""
    if tab not in CIRCUIT_TABS:
        raise ValueError(f"tab must be one of {CIRCUIT_TABS}")
    extra = ["from othello_core.analysis.attention import mover_share" if tab == "heads"
             else "from othello_core.analysis import attribution as A"]
    imports, body = _analysed(moves, position, model, extra,
                              ("name_to_square",) if tab == "dla" else (), analyse=tab not in ("dla", "patching"))
    if tab == "dla":
        body += [f"square = name_to_square({_text(square_to_name(square))})  # the output move to explain",
                 "dla = A.direct_logit_attribution(service, A.components(service, game.moves, position), square)",
                 RESULT_DOC + "each component's contribution to the move's logit (with the bias they sum to it)",
                 "result = {\"contributions\": dict(zip(dla[\"names\"], dla[\"contributions\"])), \"bias\": dla[\"bias\"],",
                 "          \"logit\": dla[\"logit\"], \"top_neurons\": A.top_neurons(dla[\"neurons\"], k=12)}"]
    elif tab == "lens":
        body += ["lens = A.logit_lens(service, analysis)[:, position]  # [streams, 64]: each stream through the unembedding",
                 RESULT_DOC + "P(move) read off each stream, and its mass on the legal moves",
                 "result = {\"lens\": lens, \"legal_mass\": (lens * analysis.legal[position]).sum(-1)}"]
    elif tab == "neuron":
        body += [f"layer, neuron = {int(layer)}, {int(neuron)}",
                 "profile = A.neuron_profile(service, layer, neuron)  # its weights in the probe bases",
                 RESULT_DOC + "the hypothesis from the weights and the activation along this game",
                 "result = {\"hypothesis\": A.neuron_hypothesis(profile), \"promotes\": profile[\"promotes\"],",
                 "          \"activations\": A.neuron_activations(service, game.moves, layer)[:, neuron]}"]
    elif tab == "heads":
        body += [RESULT_DOC + "each head's share of attention on the mover's own moves [layers, heads]",
                 "result = {\"mover_share\": mover_share(analysis.patterns, analysis.to_move, analysis.moves)}"]
    else:
        body += ["clean = game.moves[:position + 1]",
                 f"corrupt = A.corrupt_one_move(clean, {int(corrupt_index)})  # move {int(corrupt_index) + 1} replaced, "
                 "the rest still legal",
                 "patch = A.activation_patching(service, clean, corrupt)",
                 RESULT_DOC + "the metric clean and corrupted, and each patch's effect [layers, moves]",
                 "result = {\"clean_metric\": patch[\"clean_metric\"], \"corrupted_metric\": patch[\"corrupted_metric\"],",
                 "          \"effects\": patch[\"effects\"]}"]
    return _snippet(imports, body)


def attention_snippet(moves: Sequence[int], layer: int, upto: int, model: str = "bundled") -> str:
    """Attention: ``result``: ``pattern`` (layer ``layer``'s heads over moves 1..``upto``,
    [heads, query, key]) and ``mover_share`` [layers, heads] over the whole line."""
    imports, body = _analysed(moves, None, model, ["from othello_core.analysis.attention import mover_share"])
    body += [f"layer, upto = {int(layer)}, {int(upto)}  # the layer, and the moves shown",
             "pattern = analysis.patterns[layer, :, :upto, :upto]  # [heads, query, key]",
             "labels = [f\"{i + 1}:{square_to_name(m)}\" for i, m in enumerate(game.moves[:upto])]",
             "# drawn as the page does: circuitsvis.attention.attention_heads(attention=pattern, tokens=labels)",
             RESULT_DOC + "the layer's attention patterns, and each head's share on the mover's moves [layers, heads]",
             "result = {\"pattern\": pattern, \"mover_share\": mover_share(analysis.patterns, analysis.to_move, analysis.moves)}"]
    return _snippet(imports, body)


def findings_snippet(model: str = "bundled") -> str:
    """Findings: (a) recomputed from the probe report, the other sections as stored. ``result``:
    ``probes`` (the figures of (a)), ``blank_accuracy`` (d), ``mover_share`` (e), ``late_game`` (f)."""
    imports = ["from othello_core.analysis.service import ModelService",
               "from othello_core.reports.findings import probe_finding"]
    body = [_load(model),
            "findings = json.loads((service.folder / \"findings.json\").read_text())  # what the page draws",
            "probes = probe_finding(service.probe_report)  # (a) recomputed: linear vs MLP probes per layer",
            "# regenerate every section: python -m othello_core findings",
            RESULT_DOC + "the figures of (a), the blank-probe ablation (d), head roles (e), the late game (f)",
            "result = {\"probes\": probes[\"figures\"], \"blank_accuracy\": findings[\"empty_square\"][\"blank_accuracy\"],",
            "          \"mover_share\": findings[\"head_roles\"][\"mover_share\"], \"late_game\": findings.get(\"late_game\")}"]
    return _snippet(imports, body, stdlib=["import json"])


def model_snippet(model: str = "bundled") -> str:
    """Model: ``result``: ``info`` (shape, parameters, hash), ``training_curve`` (the held-out
    curve's records) and ``evaluation`` (the stored evaluation, with its errors by move number)."""
    imports = ["from othello_core.analysis.service import ModelService",
               "from othello_core.reports.evaluation import stored_evaluation, training_metrics"]
    body = [_load(model),
            RESULT_DOC + "shape and hash, the training curve, the stored evaluation (errors by move number)",
            "result = {\"info\": service.info, \"training_curve\": training_metrics(service.folder),",
            "          \"evaluation\": stored_evaluation(service.folder, service.hash)}"]
    return _snippet(imports, body)


def features_snippet(moves: Sequence[int], position: int, feature: int, mode: str = "ablate", scale: float = 0.5,
                     everywhere: bool = False, model: str = "bundled") -> str:
    """Features: the SAE shipped beside the model. ``result``: ``active`` (the position's strongest
    features, ``(feature, activation)``, the page's table), ``describe`` (the chosen feature's line)
    and ``after`` (P(move) [64] with the feature steered; ``before`` is ``analysis.move_probs[position]``)."""
    imports, body = _analysed(moves, position, model, rules=(), extra_imports=[
        "from othello_core.analysis.sae.features import active_features, encode, load_feature_set, steered_probs"])
    body += ["features = load_feature_set(service.folder)  # the SAE (SAELens format), its report, top positions",
             "acts = encode(features, analysis.resid[features.stream])  # [positions, features]",
             f"feature = {feature}",
             f"after = steered_probs(service, features, game.moves, position, feature, {_text(mode)}, "
             f"scale={float(scale)!r}, everywhere={everywhere!r})",
             RESULT_DOC + "the strongest active features, the chosen one's description, P(move) steered and not",
             "result = {\"active\": active_features(acts[position], k=15), \"describe\": features.describe(feature),",
             "          \"before\": analysis.move_probs[position], \"after\": after}"]
    return _snippet(imports, body)
