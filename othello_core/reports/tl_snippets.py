"""The notebook snippets in TransformerLens terms: the same numbers as ``snippets`` (one function per page,
same arguments, same ``result`` keys where the page shows them), computed the way a researcher who reads
TransformerLens would: ``model`` is the service's ``HookedTransformer``, activations come from
``model.run_with_cache`` by hook name (``blocks.5.hook_resid_post`` is the stream after L5), edits and steering
are ``model.run_with_hooks``, and attribution and patching are TransformerLens's own
(``ActivationCache.logit_attrs``, ``accumulated_resid``, ``transformer_lens.patching``). ``othello_core`` is
used only for what TransformerLens does not know: the game, the token <-> square map, the probes, the edit's
probe directions and the SAE's files. ``tests/test_snippets.py`` runs each one against the page's numbers.
Pure string building, like ``snippets``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from othello_core.reports.snippets import RESULT_DOC, _edit_code, _game, _position, _snippet, _text
from othello_core.rules.hooks import stream_hook, stream_label

if TYPE_CHECKING:
    from othello_core.analysis.interventions import Edit

TORCH = "import torch"
_PROBS = ["def move_probs(token_logits):  # [..., 61] logits -> [..., 64] P(move) per square; token 0 is padding",
          "    probs = torch.zeros(token_logits.shape)",
          "    probs[..., 1:] = token_logits[..., 1:].softmax(-1)",
          "    return token_probs_to_squares(probs.numpy())",
          ""]


def _head(moves: Sequence[int], position: int | None, model: str, rules: Sequence[str] = (),
          extra: Sequence[str] = (), cache: bool = True, probs: bool = False,
          vocab: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """Imports and the lines every TL snippet shares: the game, the HookedTransformer, one cached forward (and
    ``move_probs``, logits to P(move) per square, where the snippet reads predictions)."""
    vocab = ", ".join(sorted({"moves_to_tokens", *vocab, *(["token_probs_to_squares"] if probs else [])}))
    imports = ["from othello_core.analysis.service import ModelService",
               "from othello_core.rules import " + ", ".join(sorted({"parse_game", *rules})),
               f"from othello_core.rules.vocab import {vocab}", *extra]
    body = ["torch.set_grad_enabled(False)  # inference only", "", *(_PROBS if probs else []), _game(moves),
            f"service = ModelService.load({_text(model)})  # the model, its probes",
            "model = service.model  # a transformer_lens HookedTransformer",
            "tokens = torch.tensor([moves_to_tokens(game.moves)])  # [1, moves]; tokens 1..60: the non-centre squares"]
    if cache:
        body.append("logits, cache = model.run_with_cache(tokens)  # cache[hook name]: [1, moves, ...]")
    if position is not None:
        body.append(_position(moves, position))
    return imports, body


def play_snippet(moves: Sequence[int], position: int, model: str = "bundled", k: int = 5) -> str:
    """Play (and Present): ``result``: ``probs`` [64] and the top-``k`` ``(move, probability)``."""
    imports, body = _head(moves, position, model, rules=("square_to_name",), cache=False, probs=True)
    body += ["logits = model(tokens)  # [1, moves, 61]", "probs = move_probs(logits[0, position])",
             RESULT_DOC + f"P(move) per square and the top-{k} moves, the page's board and table",
             f"result = {{\"probs\": probs, \"top_moves\": [(square_to_name(s), float(probs[s])) "
             f"for s in probs.argsort()[::-1][:{k}]]}}"]
    return _snippet(imports, body, stdlib=[TORCH])


def probes_snippet(moves: Sequence[int], position: int, kind: str, method: str = "linear",
                   width: int | None = None, cls: int = 1, model: str = "bundled") -> str:
    """Probes: ``result``: ``p`` (P(class ``cls``) [streams, 64]) and ``read`` (the class read [streams, 64])."""
    imports, body = _head(moves, position, model)
    read = (f"service.probes.linear_probs({_text(kind)}, resid)" if method == "linear"
            else f"service.probes.mlp_probs({_text(kind)}, {int(width)}, resid)")
    body += ["# embed (blocks.0.hook_resid_pre), then after L0 .. after L7 (blocks.L.hook_resid_post)",
             "resid = cache.accumulated_resid(pos_slice=position)  # [streams, 1, d_model]",
             f"probs = {read}[:, 0]  # [streams, 64, classes]",
             RESULT_DOC + f"P(class {cls}) and the class read, per stream and square (the page's grid)",
             f"result = {{\"p\": probs[..., {cls}].numpy(), \"read\": probs.argmax(-1).numpy()}}"]
    return _snippet(imports, body, stdlib=[TORCH])


def interventions_snippet(moves: Sequence[int], position: int, edit: "Edit", model: str = "bundled") -> str:
    """Interventions: ``result``: ``before`` and ``after`` P(move) [64], the edit as hooks on the streams."""
    imports, body = _head(moves, position, model, rules=("name_to_square",), cache=False, probs=True,
                          extra=["from othello_core.analysis.interventions import Edit, edit_hook, rows_for_game"])
    hooks = ", ".join(f"({_text(stream_hook(s))}, edit_hook(edit, service.probes, {s}, rows, generator))"
                      for s in edit.layers)
    body += [_edit_code(edit),
             "rows = rows_for_game(game.moves, position, edit.squares)  # the tokens and the true boards",
             "generator = torch.Generator().manual_seed(0)  # only a random-direction control draws from it",
             f"hooks = [{hooks}]  # " + ", ".join(stream_label(s) for s in edit.layers),
             "after = model.run_with_hooks(rows.tokens, fwd_hooks=hooks)  # the hooks are removed after the call",
             "before = model(rows.tokens)",
             RESULT_DOC + "P(move) clean and edited",
             "result = {\"before\": move_probs(before[0, position]), \"after\": move_probs(after[0, position])}"]
    return _snippet(imports, body, stdlib=[TORCH])


CIRCUIT_TABS = ("dla", "lens", "neuron", "heads", "patching")


def circuits_snippet(moves: Sequence[int], position: int, square: int, model: str = "bundled", tab: str = "dla",
                     layer: int = 0, neuron: int = 0, corrupt_index: int | None = None) -> str:
    """Circuits, the open tab. ``result`` by tab: ``dla``: each component's logit attribution (TransformerLens's
    labels: ``L3H2``, ``3_mlp_out``, ``embed``, ``pos_embed``, ``bias`` = every attention output bias) and the
    logit; ``lens``: P(move) per stream [streams, 64]; ``neuron``: the activation along the game and what it
    promotes [64]; ``heads``: the patterns [layers, heads, moves, moves]; ``patching``: the patched metric
    [layers, moves] per activation (``transformer_lens.patching``) and the metric clean and corrupted."""
    if tab not in CIRCUIT_TABS:
        raise ValueError(f"tab must be one of {CIRCUIT_TABS}")
    from othello_core.rules.notation import square_to_name

    imports, body = _head(moves, position, model, rules=("name_to_square",) if tab == "dla" else (),
                          probs=tab == "lens", vocab=["token_probs_to_squares"] if tab == "neuron" else [])
    if tab == "dla":
        imports.append("from othello_core.rules.notation import SQUARE_TO_TOKEN")
        body += [f"token = SQUARE_TO_TOKEN[name_to_square({_text(square_to_name(square))})]  # the move to explain",
                 "parts, labels = cache.get_full_resid_decomposition(expand_neurons=False, pos_slice=position,",
                 "                                                   return_labels=True)  # [components, 1, d_model]",
                 "attrs = cache.logit_attrs(parts, tokens=token, pos_slice=position)[:, 0]  # final LayerNorm applied",
                 RESULT_DOC + "each component's direct attribution; with the unembedding bias they sum to the logit",
                 "result = {\"attributions\": dict(zip(labels, attrs.tolist())), \"bias\": float(model.b_U[token]),",
                 "          \"logit\": float(logits[0, position, token])}"]
    elif tab == "lens":
        body += ["streams = cache.accumulated_resid(apply_ln=True, pos_slice=position)  # [streams, 1, d_model]",
                 RESULT_DOC + "P(move) read off each stream through the final LayerNorm and the unembedding",
                 "result = {\"lens\": move_probs(model.unembed(streams))[:, 0]}"]
    elif tab == "neuron":
        body += [f"layer, neuron = {int(layer)}, {int(neuron)}",
                 "w_out = model.W_out[layer, neuron]  # [d_model]: what the neuron writes",
                 RESULT_DOC + "its activation along the game and what it promotes through W_U (centred)",
                 "result = {\"activations\": cache[f\"blocks.{layer}.mlp.hook_post\"][0, :, neuron].numpy(),",
                 "          \"promotes\": token_probs_to_squares(((w_out - w_out.mean()) @ model.W_U).numpy())}"]
    elif tab == "heads":
        body += [RESULT_DOC + "every head's attention pattern [layers, heads, query move, key move]",
                 "result = {\"patterns\": torch.stack([cache[\"pattern\", layer][0] "
                 "for layer in range(model.cfg.n_layers)]).numpy()}"]
    else:
        imports += ["from othello_core.analysis.attribution import corrupt_one_move",
                    "from othello_core.rules.games import game_labels",
                    "from othello_core.rules.notation import SQUARE_TO_TOKEN"]
        body += ["clean = game.moves[:position + 1]",
                 f"corrupt = corrupt_one_move(clean, {int(corrupt_index)})  # move {int(corrupt_index) + 1} replaced, "
                 "the rest still legal",
                 "legal_clean, legal_corrupt = (game_labels(g)[\"legal\"][position] for g in (clean, corrupt))",
                 "up = [SQUARE_TO_TOKEN[s] for s in (legal_clean & ~legal_corrupt).nonzero()[0]]",
                 "down = [SQUARE_TO_TOKEN[s] for s in (legal_corrupt & ~legal_clean).nonzero()[0]]",
                 "",
                 "def metric(logits):  # mean logit of the moves legal only in the clean game minus the corrupted's",
                 "    last, zero = logits[0, -1], logits.new_tensor(0.0)",
                 "    return (last[up].mean() if up else zero) - (last[down].mean() if down else zero)",
                 "",
                 "clean_logits, clean_cache = model.run_with_cache(torch.tensor([moves_to_tokens(clean)]))",
                 "corrupt_tokens = torch.tensor([moves_to_tokens(corrupt)])",
                 RESULT_DOC + "the metric clean and corrupted, and each activation patched in [layers, moves]",
                 "result = {\"clean_metric\": float(metric(clean_logits)), "
                 "\"corrupted_metric\": float(metric(model(corrupt_tokens))),",
                 "          **{kind: patch(model, corrupt_tokens, clean_cache, metric).numpy() for kind, patch in (",
                 "              (\"resid_pre\", patching.get_act_patch_resid_pre),",
                 "              (\"attn_out\", patching.get_act_patch_attn_out),",
                 "              (\"mlp_out\", patching.get_act_patch_mlp_out))}}"]
        imports.append("from transformer_lens import patching")
    return _snippet(imports, body, stdlib=[TORCH])


def attention_snippet(moves: Sequence[int], layer: int, upto: int, model: str = "bundled") -> str:
    """Attention: ``result``: ``pattern``, layer ``layer``'s heads over moves 1..``upto`` [heads, query, key]."""
    imports, body = _head(moves, None, model)
    body += [f"layer, upto = {int(layer)}, {int(upto)}  # the layer, and the moves shown",
             RESULT_DOC + "the layer's attention patterns, from blocks.{layer}.attn.hook_pattern",
             "result = {\"pattern\": cache[\"pattern\", layer][0, :, :upto, :upto].numpy()}"]
    return _snippet(imports, body, stdlib=[TORCH])


def features_snippet(moves: Sequence[int], position: int, feature: int, mode: str = "ablate", scale: float = 0.5,
                     everywhere: bool = False, model: str = "bundled") -> str:
    """Features: ``result``: ``acts`` (every feature at every move [moves, d_sae]) and ``after`` (P(move) [64]
    with the feature steered by a hook on the SAE's stream)."""
    imports, body = _head(moves, position, model, probs=True,
                          extra=["from othello_core.analysis.sae.features import load_feature_set"])
    rows = ":" if everywhere else "position"
    if mode == "ablate":
        step = "- sae.encode(x)[..., feature, None] * direction"
    else:
        step = f"+ {float(scale)!r} * x.norm(dim=-1, keepdim=True) * direction / direction.norm()"
    change = [f"    x = resid[:, {rows}]", f"    resid[:, {rows}] = x {step}"]
    body += ["features = load_feature_set(service.folder)  # the SAE shipped beside the model, and its hook",
             "sae = features.sae  # a sae_lens SAE",
             "acts = sae.encode(cache[features.hook][0])  # [moves, d_sae]",
             f"feature = {feature}",
             "direction = sae.W_dec[feature]  # [d_model]",
             "",
             f"def steer(resid, hook):  # {'ablate' if mode == 'ablate' else 'add'}, "
             f"{'at every move' if everywhere else 'at this move'}",
             *change,
             "    return resid",
             "",
             "steered = model.run_with_hooks(tokens, fwd_hooks=[(features.hook, steer)])",
             RESULT_DOC + "every feature's activation along the game, and P(move) with the feature steered",
             "result = {\"acts\": acts.numpy(), \"after\": move_probs(steered[0, position])}"]
    return _snippet(imports, body, stdlib=[TORCH])


def model_snippet(model: str = "bundled") -> str:
    """Model: ``result``: the HookedTransformer's shape and its number of parameters."""
    imports = ["from othello_core.analysis.service import ModelService"]
    body = [f"model = ModelService.load({_text(model)}).model  # a transformer_lens HookedTransformer",
            RESULT_DOC + "the shape from model.cfg and the parameters",
            "cfg = model.cfg",
            "result = {\"n_layers\": cfg.n_layers, \"d_model\": cfg.d_model, \"n_heads\": cfg.n_heads, \"d_mlp\": cfg.d_mlp,",
            "          \"parameters\": sum(p.numel() for p in model.parameters())}"]
    return _snippet(imports, body)
