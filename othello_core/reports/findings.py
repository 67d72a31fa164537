"""The project's answers, with numbers: ``python -m othello_core findings`` writes
``findings.json`` next to the model (``assets/models/bundled/findings.json`` by default).

(a) Linear vs nonlinear probes, colour vs mine/theirs basis, per layer (from the probe report).
(b) Do simpler features explain the nonlinear probe's edge? Colour = mine/theirs XOR "whose
    turn". If "black to move" is linearly readable, the colour board can be *composed* from two
    linear probes; we measure that composed probe against the MLP colour probe, layer by layer.
(c) The minimal edit that works (the interventions sweep) and where its logit change comes from
    (the edit decomposition, averaged over positions).
(d) "Is this square empty": which components write blankness into the residual stream (their
    projections on the blank probe's directions), and a mean-ablation of the top components
    against a control ablation of random ones.
(e) Head roles over many games: attention share on the mover's own moves, per layer x head.
(f) Where the board fades: linear probes trained at one move number only (mine/theirs, colour,
    blank), with about the same number of positions at every move, against the shipped
    all-positions probe and the model's own legal-move accuracy there. If even a probe of its own
    cannot read the colours after the last moves, the information is absent, not merely hard for
    a shared probe; where colour reads better than mine/theirs, passes explain the difference.
(g) What the sparse autoencoder captures that the linear probes do not, and the reverse: per
    board-state property, the SAE's best single feature against the shipped linear probe at the
    SAE's stream, both scored as detectors (F1) on the SAE report's held-out games.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from othello_core.analysis.attention import mover_share
from othello_core.analysis.attribution import edit_diff
from othello_core.analysis.interventions import Edit, benchmark_rows, setting_label
from othello_core.analysis.probe_suite import compare_table
from othello_core.analysis.probes import (KINDS, PUBLISHED_SPAN, FitSettings, kind_curve, widest_mlp, collect_activations, curve, fit_linear, kind_targets, span_curve,
                     simple_features)
from othello_core.model.evaluate import move_log_probs, top1_is_legal
from othello_core.rules.games import mover_not_alternating, random_games
from othello_core.rules.hooks import (attn_pattern, attn_z, mlp_out, mlp_post, resid_post, stream_hooks,
                                      stream_label, stream_title)
from othello_core.rules.notation import MODEL_CONTEXT
from othello_core.rules.vocab import square_mask_to_tokens, tokens_to_squares

LATE_GAME_MOVES = (11, 31, 46, 51, 55, 57, 58, 59)
LATE_GAME_SEED = 60_000
# The findings' own small probes (a few thousand positions each): many small steps, no early stop.
SMALL_FIT = FitSettings(lr=2e-2, batch=128, max_epochs=30, lr_decay=0.95, stop_delta=None)


def _iterate(items, progress):
    return progress(items) if progress else items


def _best(curve_: list[float] | None) -> tuple[int, float] | None:
    """(layer, value) of a curve's maximum; ``None`` for a missing curve."""
    if not curve_:
        return None
    layer = int(np.argmax(curve_))
    return layer, float(curve_[layer])


def probe_finding(report: dict) -> dict:
    """Q1 (a): the linear and MLP probes in both bases, beside the random-init control. Every figure
    the sentence quotes is a field of the result."""
    width = widest_mlp(report, "black_white")
    mt, bw = curve(report, "linear", "mine_theirs"), curve(report, "linear", "black_white")
    mlp_bw = kind_curve(report, "mlp", "black_white", width) if width else None
    mlp_mt = kind_curve(report, "mlp", "mine_theirs", width) if width else None
    span = span_curve(report)
    span_probe = [r["span_accuracy"] for r in report.get("linear_span", {}).get("mine_theirs", [])] or None
    best, best_mt = _best(mt)
    ahead = sum(m > b for m, b in zip(mt[1:], bw[1:]))
    figures: dict = {"best_layer": best, "best_layer_label": stream_label(best), "best_linear_mine_theirs": best_mt, "linear_black_white_there": bw[best],
                     "layers_mine_theirs_ahead": ahead, "layers_after_embedding": len(mt) - 1}
    sentence = (f"Best linear reading: {best_mt:.1%} of cells in the mine/theirs basis ({stream_label(best)}) against "
                f"{bw[best]:.1%} in the black/white basis; mine/theirs is ahead at {ahead} of {len(mt) - 1} layers "
                "after the embedding.")
    if span_probe:
        figures["span_probe_best"] = max(span_probe)
        figures["span_probe_best_layer"] = int(np.argmax(span_probe))
        sentence += (f" Trained and scored on moves {PUBLISHED_SPAN[0]}–{PUBLISHED_SPAN[1]} (the span of Nanda's and "
                     f"ARENA's code) it reads {figures['span_probe_best']:.2%} ({stream_label(figures['span_probe_best_layer'])}).")
    if mlp_bw and mlp_mt:
        lb, vb = _best(mlp_bw)
        lm, vm = _best(mlp_mt)
        colour_gain, relative_gain = vb - max(bw), vm - best_mt
        figures |= {"mlp_width": width, "mlp_colour_best": vb, "mlp_colour_layer": lb,
                    "mlp_colour_layer_label": stream_label(lb), "mlp_mine_theirs_best": vm,
                    "mlp_mine_theirs_layer": lm, "linear_colour_best": max(bw),
                    "colour_gain_points": round(100 * colour_gain, 1), "relative_gain_points": round(100 * relative_gain, 1)}
        sentence += (f" An MLP-{width} probe reads colour at {vb:.1%} ({stream_label(lb)}) against {max(bw):.1%} for the best "
                     f"linear one ({figures['colour_gain_points']:+.1f} points), and mine/theirs at {vm:.1%} ({stream_label(lm)}) "
                     f"against {best_mt:.1%} ({figures['relative_gain_points']:+.1f} points): ")
        if colour_gain > 0.05 and abs(relative_gain) < colour_gain / 5:
            sentence += ("the nonlinearity pays only in the colour basis, as it must if the board is stored relative "
                         "to the player to move (colour = mine/theirs XOR whose turn, not a linear function).")
        elif colour_gain > 0.05:
            sentence += ("the nonlinearity helps in both bases here, so the colour-basis gain is not only the XOR "
                         "with whose turn it is.")
        else:
            sentence += "on this model the MLP does not beat the linear probe by much in either basis."
    shipped = [w for w in report.get("suite", {}).get("ship_widths", []) if str(w) in report.get("mlp", {}).get("black_white", {})]
    if shipped:  # the MLP probe the app draws (Present, Probes): the shipped width, beside the widest trained
        ls, vs = _best(kind_curve(report, "mlp", "black_white", max(shipped)))
        figures |= {"shipped_mlp_width": max(shipped), "shipped_mlp_colour_best": vs,
                    "shipped_mlp_colour_layer": ls, "shipped_mlp_colour_layer_label": stream_label(ls)}
    control = report.get("control")
    if control:
        c_mt = _best(kind_curve(control, "linear", "mine_theirs"))
        c_mlp = _best(kind_curve(control, "mlp", "black_white", width)) if width else None
        baseline = control.get("baseline", {}).get("mine_theirs")
        figures |= {"control_linear_mine_theirs": c_mt[1], "control_linear_layer": c_mt[0],
                    "control_linear_layer_label": stream_label(c_mt[0]),
                    "control_mlp_colour": c_mlp[1] if c_mlp else None, "control_baseline": baseline,
                    "control_seed": control["seed"]}
        sentence += (f" The random-init control (same shape, seed {control['seed']}) reads at most {c_mt[1]:.1%} "
                     f"linearly in mine/theirs ({stream_label(c_mt[0])})")
        if c_mlp:
            sentence += f" and {c_mlp[1]:.1%} with the MLP-{width} colour probe"
        if baseline is not None:
            sentence += f", against {baseline:.1%} for guessing each square's majority class"
        gap = best_mt - c_mt[1]
        figures["trained_minus_control_points"] = round(100 * gap, 1)
        sentence += (f": the trained model's board reads {figures['trained_minus_control_points']:.1f} points above "
                     "the same probe on the untrained network." if gap > 0.05 else
                     ": the trained model is not clearly above the control, so these probes show little structure.")
    table = {row["row"]: row for row in compare_table(report)}
    li_row = table.get("li_nonlinear_synthetic")
    if li_row:
        ours = li_row["ours"]
        best_li = int(np.argmin(ours))
        li = report["li_protocol"]["model"]
        (li_width, li_rows), = li["mlp"]["black_white"].items()
        test_share = li["samples"]["test"] / (li["samples"]["test"] + li["samples"]["train"])
        figures |= {"li_mlp_error_best": ours[best_li], "li_mlp_error_layer": best_li,
                    "li_mlp_error_layer_label": stream_label(best_li),
                    "li_published_error_there": li_row["published"][best_li],
                    "li_published_error_best": min(li_row["published"]), "li_width": int(li_width),
                    "li_epochs": li_rows[0]["epochs"], "li_train_percent": round(100 * (1 - test_share)),
                    "li_test_percent": round(100 * test_share)}
        sentence += (f" Under Li et al.'s protocol (eOthello games, a random {figures['li_train_percent']}/"
                     f"{figures['li_test_percent']} split by position, width {li_width}, {figures['li_epochs']} "
                     f"epochs) the MLP colour probe errs on {ours[best_li]:.2f}% of cells at its best layer "
                     f"({stream_label(best_li)}; their layer {best_li}), against {li_row['published'][best_li]:.2f}% published for that layer "
                     f"(best published: {figures['li_published_error_best']:.2f}%).")
        random_row = table.get("li_nonlinear_random")
        if random_row:
            figures["li_control_mlp_error_best"] = min(random_row["ours"])
            sentence += (f" The random-init control errs on at least {figures['li_control_mlp_error_best']:.2f}% there "
                         f"(Li et al.'s random-init model: {min(random_row['published']):.2f}%).")
    return {"sentence": sentence, "figures": figures, "layers": report["layers"], "linear_mine_theirs": mt,
            "linear_mine_theirs_span": span, "linear_mine_theirs_span_probe": span_probe,
            "span_moves": list(PUBLISHED_SPAN), "linear_black_white": bw, "mlp_black_white": mlp_bw,
            "mlp_mine_theirs": mlp_mt, "mlp_width": width,
            "control": None if not control else {
                "linear_mine_theirs": kind_curve(control, "linear", "mine_theirs"),
                "linear_black_white": kind_curve(control, "linear", "black_white"),
                "mlp_black_white": kind_curve(control, "mlp", "black_white", width) if width else None},
            "compare": compare_table(report),
            "command": report.get("command", "python -m othello_core probes train")}


def composition_finding(service, report: dict, games: int = 400, progress=None, seed: int = 0) -> dict:
    """Compose colour from the linear mine/theirs probe and a linear "black to move" probe."""
    batch = random_games(games, seed=50_000 + seed, labels=True)
    acts = collect_activations(service.model, batch, positions_per_game=10, seed=seed)
    n = acts.resid.shape[1]
    split = int(n * 0.7)
    turn = torch.as_tensor(simple_features(acts.labels)["black_to_move"][:, 0]).long()
    w, b = fit_linear(acts.resid[:, :split], turn[:split, None].expand(-1, 64), 2,
                      SMALL_FIT, seed=seed).params
    turn_logits = torch.einsum("lnd,ld->ln", acts.resid[:, split:].float(), w[:, :, 0, 1] - w[:, :, 0, 0])
    turn_logits += (b[:, 0, 1] - b[:, 0, 0])[:, None]
    black_to_move = turn_logits > 0  # [L, n_test]
    turn_acc = (black_to_move == (turn[split:] == 1)[None]).float().mean(-1).numpy()
    relative = service.probes.linear_probs("mine_theirs", acts.resid[:, split:]).argmax(-1)  # [L, n, 64]
    mine_is_black = black_to_move[..., None]
    composed = torch.where(relative == 0, 0, torch.where((relative == 1) == mine_is_black, 1, 2))
    truth = torch.as_tensor(kind_targets({k: v[split:] for k, v in acts.labels.items()}, "black_white"))
    composed_acc = (composed == truth[None]).float().mean((1, 2)).numpy()
    width = widest_mlp(report, "black_white")
    mlp = kind_curve(report, "mlp", "black_white", width) if width else [float("nan")] * len(turn_acc)
    best = int(np.argmax(composed_acc))
    linear_bw = curve(report, "linear", "black_white")
    mlp_best = _best(mlp) if width else None
    figures = {"turn_probe_best": float(turn_acc.max()), "composed_best": float(composed_acc[best]),
               "composed_layer": best, "linear_colour_there": linear_bw[best],
               "mlp_width": width, "mlp_colour_best": mlp_best[1] if mlp_best else None,
               "mlp_colour_layer": mlp_best[0] if mlp_best else None}
    sentence = (f"'Black to move' is linearly readable up to {figures['turn_probe_best']:.1%}. Composing it with the "
                f"linear mine/theirs probe (colour = mine/theirs XOR whose turn) reads the colour board at "
                f"{figures['composed_best']:.1%} ({stream_label(best)}, on {n - split:,} held-out positions of {games} other "
                f"games), against {linear_bw[best]:.1%} for the linear colour probe there")
    if mlp_best is None:
        sentence += "; no MLP colour probe was trained to compare it with."
    else:
        edge = mlp_best[1] - linear_bw[best]
        share = (figures["composed_best"] - linear_bw[best]) / edge if edge > 0.005 else None
        figures["share_of_mlp_edge"] = None if share is None else round(share, 2)
        sentence += (f" and {mlp_best[1]:.1%} for the MLP-{width} colour probe at its best layer ({stream_label(mlp_best[0])}): ")
        if share is None:
            sentence += "the MLP is no better than the linear colour probe, so there is no edge to explain."
        elif figures["composed_best"] >= mlp_best[1] - 0.005:
            sentence += "one XOR of two linear features accounts for the nonlinear probe's edge."
        elif share > 0:
            sentence += (f"the XOR composition recovers {share:.0%} of the MLP's edge over the linear colour probe, "
                         "not all of it; the rest is read by the MLP alone.")
        else:
            sentence += "the composition does not beat the linear colour probe, so it explains none of the MLP's edge."
    return {"sentence": sentence, "figures": figures, "turn_probe_accuracy": turn_acc.round(4).tolist(),
            "composed_colour_accuracy": composed_acc.round(4).tolist(), "mlp_colour_accuracy": mlp,
            "features_r2": report.get("features_r2"), "test_positions": int(n - split), "games": games}


def _shift(mass: dict, kind: str) -> str:
    return f"{mass[kind]['before']:.1%} to {mass[kind]['after']:.1%}"


def _mass_sentence(sweep: dict, best: dict) -> str:
    """The sweep read by probability, not top-N: where the best edit puts the probability, the controls, and
    the edit that moves the most onto the newly legal moves when that is not the best by top-N."""
    controls = [r for r in sweep["settings"] if r["name"].startswith("control")]
    mass = best["mass"]
    text = (f". By probability rather than top-N, it moves the probability on the moves the flip makes legal from "
            f"{_shift(mass, 'made_legal')}, on those it makes illegal from {_shift(mass, 'made_illegal')} and on "
            f"those it leaves legal from {_shift(mass, 'kept_legal')}; the right way on each kind "
            f"the position has at {best['moved_rate']:.0%} of positions (controls: "
            + ", ".join(f"{r['moved_rate']:.0%}" for r in controls) + ")")
    edits = [r for r in sweep["settings"] if r["kind"] in ("single", "multi")]
    gain = lambda r: r["mass"]["made_legal"]["after"] - r["mass"]["made_legal"]["before"]  # noqa: E731
    most = max(edits, key=gain)
    if gain(most) > gain(best):
        text += (f". The edit that moves the most probability onto the newly legal moves is '{setting_label(most)}' "
                 f"({_shift(most['mass'], 'made_legal')}), yet only {most['success_rate']:.0%} of positions reach zero "
                 f"top-N errors with it, while the probability on the moves still legal goes from "
                 f"{_shift(most['mass'], 'kept_legal')}")
    return text


def edit_finding(folder: Path, service, positions: int = 12) -> dict | None:
    path = folder / "edit_sweep.json"
    if not path.exists():
        return None
    sweep = json.loads(path.read_text())
    rows = {r["name"]: r for r in sweep["settings"]}
    best = rows[sweep["best_single_layer"]]
    multi = [r for r in sweep["settings"] if r["kind"] == "multi"]
    best_multi = max(multi, key=lambda r: r["success_rate"]) if multi else None
    edit_fields = dict(best["edit"])
    bench, _ = benchmark_rows(positions, 0, seed=1)
    totals, direct, shares = [], [], {}
    for b in range(len(bench.pos)):
        moves = tuple(int(s) for s in tokens_to_squares(bench.tokens[b]) if s >= 0)
        diff = edit_diff(service, moves, int(bench.pos[b]), Edit(bench.squares[b], **edit_fields))
        if abs(diff["total"]) < 1e-6:
            continue
        totals.append(diff["total"])
        direct.append(diff["direct_only"])
        for name, value in diff["through_one_component"].items():
            shares.setdefault(name, []).append(value)
    # ratios of sums: a position whose total change is near zero must not blow the shares up
    whole = float(np.sum(totals)) if totals else 0.0
    mean_share = {k: float(np.sum(v) / whole) for k, v in shares.items()} if whole else {}
    direct_share = float(np.sum(direct) / whole) if whole else None
    top = sorted(mean_share.items(), key=lambda kv: -abs(kv[1]))[:3]
    sentence = (f"The best single-stream edit is '{setting_label(best)}': {best['success_rate']:.0%} of "
                f"{sweep['positions']} positions reach zero errors (no edit: {rows['no edit']['success_rate']:.0%}; "
                f"random direction and wrong-square controls: "
                + ", ".join(f"{r['success_rate']:.0%}" for r in sweep["settings"] if r["name"].startswith("control")) + ")")
    if best_multi:
        sentence += f"; the best multi-stream recipe ('{setting_label(best_multi)}') reaches {best_multi['success_rate']:.0%}"
    if "mass" in best:
        sentence += _mass_sentence(sweep, best)
    if direct_share is not None:
        sentence += (f". Summed over {len(totals)} edited positions, {direct_share:.0%} of the logit change is the "
                     "edit's direct effect (later components frozen); ")
        sentence += ("letting one later component respond adds most for "
                     + ", ".join(f"{k} ({v:+.0%})" for k, v in top) + "." if top else
                     "no head or MLP comes after the edited stream, so nothing later can respond.")
    return {"sentence": sentence, "sweep": sweep, "best_single_label": setting_label(best), "direct_share": direct_share,
            "component_share": mean_share, "positions_decomposed": len(totals),
            "command": sweep.get("command", "python -m othello_core edits sweep")}


@torch.no_grad()
def empty_square_finding(service, games: int = 200, layer: int | None = None, top_k: int = 4,
                         seed: int = 0, progress=None) -> dict:
    """Which heads/MLPs write "blank" into the stream read at ``layer``, and what ablating them does."""
    model = service.model
    n_layers = model.cfg.n_layers
    layer = layer or max(1, n_layers // 2)
    w, bias = service.probes.linear["blank"]
    v = (w[layer, :, :, 1] - w[layer, :, :, 0])  # [d, 64] occupied -> empty
    c = (bias[layer, :, 1] - bias[layer, :, 0])
    batch = random_games(games, seed=70_000 + seed, labels=True)
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    labels = {k: val[:, :MODEL_CONTEXT] for k, val in batch.labels.items()}
    valid = torch.as_tensor(labels["mover"] != 0)  # [g, pos]
    empty = torch.as_tensor(labels["board"] == 0)  # [g, pos, 64]
    names = ["hook_embed", "hook_pos_embed"] + [attn_z(l) for l in range(layer)] + \
            [mlp_out(l) for l in range(layer)] + [resid_post(layer - 1)]
    _, cache = service.run(tokens, names=names)
    comps = {"embed": cache["hook_embed"], "pos_embed": cache["hook_pos_embed"]}
    for l in range(layer):
        z = cache[attn_z(l)]
        for h in range(model.cfg.n_heads):
            comps[f"L{l}H{h}"] = z[:, :, h] @ model.blocks[l].attn.W_O[h]
        comps[f"L{l} MLP"] = cache[mlp_out(l)]
    separation = {}
    for name, out in comps.items():
        proj = out.float() @ v  # [g, pos, 64]
        e = proj[empty & valid[..., None]].mean()
        o = proj[~empty & valid[..., None]].mean()
        separation[name] = float(e - o)
    resid = cache[resid_post(layer - 1)].float()
    base_logits = resid @ v + c
    base_acc = float(((base_logits > 0) == empty)[valid].float().mean())
    candidates = [n for n in separation if n not in ("embed", "pos_embed")]
    top_k = max(1, min(top_k, len(candidates) // 2))  # leave as many for the random control
    top = sorted(candidates, key=lambda n: -abs(separation[n]))[:top_k]
    rng = np.random.default_rng(seed)
    random_set = list(rng.choice([n for n in candidates if n not in top], size=top_k, replace=False))

    def ablated(components: list[str]) -> tuple[float, float]:
        hooks = []
        for name in components:
            if name.endswith("MLP"):
                l = int(name[1:].split()[0])
                mean = cache[mlp_out(l)].mean((0, 1))
                hooks.append((mlp_out(l), lambda act, hook, m=mean: m.expand_as(act).clone()))
            else:
                l, h = int(name[1:].split("H")[0]), int(name.split("H")[1])
                mean = cache[attn_z(l)][:, :, h].mean((0, 1))

                def fn(act, hook, h=h, m=mean):
                    act = act.clone()
                    act[:, :, h] = m
                    return act
                hooks.append((attn_z(l), fn))
        keep = {}

        def grab(act, hook):
            keep["resid"] = act.detach().clone()
        logits, _ = service.run(tokens, fwd_hooks=hooks + [(resid_post(layer - 1), grab)])
        acc = float((((keep["resid"].float() @ v + c) > 0) == empty)[valid].float().mean())
        return acc, _legal_top1(logits, labels)

    ablate_top = ablated(top)
    ablate_random = ablated(random_set)
    clean_logits, _ = service.run(tokens)
    base_legal = _legal_top1(clean_logits, labels)
    sentence = (f"In the stream {stream_title(layer)} the blank probe reads {base_acc:.1%} of cells. The components that write "
                f"blankness most: {', '.join(top)} (projection on the blank directions, empty minus occupied). "
                f"Mean-ablating them drops blank-probe accuracy to {ablate_top[0]:.1%} and legal top-1 from "
                f"{base_legal:.1%} to {ablate_top[1]:.1%}; ablating {top_k} random heads/MLPs instead gives "
                f"{ablate_random[0]:.1%} and {ablate_random[1]:.1%}.")
    return {"sentence": sentence, "layer": layer, "layer_label": stream_title(layer), "separation": separation, "top_components": top,
            "random_components": random_set, "blank_accuracy": {"clean": base_acc, "ablate_top": ablate_top[0],
                                                                 "ablate_random": ablate_random[0]},
            "legal_top1": {"clean": base_legal, "ablate_top": ablate_top[1], "ablate_random": ablate_random[1]},
            "games": games}


def _legal_hits(logits: torch.Tensor, legal: np.ndarray) -> np.ndarray:
    """Whether the model's top move is legal, per position: ``logits [..., vocab]``, ``legal [..., 64]``."""
    return top1_is_legal(move_log_probs(logits).cpu().numpy(), square_mask_to_tokens(legal))


def _legal_top1(logits: torch.Tensor, labels: dict) -> float:
    legal = labels["legal"]
    return float(_legal_hits(logits, legal)[legal.any(-1)].mean())


def _held_out_accuracy(x: torch.Tensor, y: np.ndarray, classes: int, train: int, seed: int) -> float:
    """Fit a linear probe on the first ``train`` samples of ``x [n, d]``, score the rest."""
    w, b = fit_linear(x[None, :train], torch.as_tensor(y[:train]), classes,
                      SMALL_FIT, seed=seed).params
    pred = (torch.einsum("nd,dsc->nsc", x[train:], w[0]) + b[0]).argmax(-1)
    return float((pred == torch.as_tensor(y[train:])).float().mean())


def late_game_finding(service, report: dict, games: int = 3000, moves: tuple[int, ...] = LATE_GAME_MOVES,
                      seed: int = 0, batch_size: int = 100, progress=None) -> dict:
    """Per move number: linear mine/theirs, black/white and blank probes trained at that move only
    (80% of the games that reach it; scored on the rest), the shipped all-positions mine/theirs
    probe on the same held-out positions, the model's legal top-1 there, how many legal moves
    there are, and how often a pass has made the next mover differ from strict alternation (at a
    fixed move the black/white probe is the mine/theirs probe by alternation, so the two differ
    only there). Read at the stream where the shipped mine/theirs probe is best."""
    layer = int(np.argmax(curve(report, "linear", "mine_theirs")))
    hook = stream_hooks(service.n_layers)[layer]
    positions = np.array(moves) - 1
    batch = random_games(games, seed=LATE_GAME_SEED + seed, labels=True)
    tokens = torch.as_tensor(batch.tokens[:, :MODEL_CONTEXT])
    legal = batch.labels["legal"][:, positions]  # [g, k, 64]
    resid, hits = [], []
    for start in _iterate(range(0, games, batch_size), progress):
        logits, cache = service.run(tokens[start:start + batch_size], names=[hook])
        resid.append(cache[hook][:, positions].float().cpu())
        hits.append(_legal_hits(logits[:, positions], legal[start:start + batch_size]))
    resid, hits = torch.cat(resid), np.concatenate(hits)  # [g, k, d], [g, k]
    out: dict = {key: [] for key in ("own_probe_mine_theirs", "own_probe_black_white", "own_probe_blank",
                                     "shared_probe_mine_theirs", "model_legal_top1", "legal_moves",
                                     "mover_not_alternating", "train", "test")}
    for k, pos in enumerate(positions):
        rows = np.nonzero(batch.labels["mover"][:, pos] != 0)[0]  # the games that reach this move
        train = int(len(rows) * 0.8)
        if train < 4 or len(rows) - train < 1:
            for values in out.values():
                values.append(None)
            continue
        x = resid[rows, k]
        labels = {name: batch.labels[name][rows, pos] for name in ("relative", "board")}
        targets = {kind: kind_targets(labels, kind) for kind in ("mine_theirs", "black_white", "blank")}
        for kind, values in targets.items():
            out[f"own_probe_{kind}"].append(round(_held_out_accuracy(x, values, KINDS[kind], train, seed), 4))
        shared = service.probes.linear_probs("mine_theirs", x[None, train:], streams=[layer])[0].argmax(-1)
        out["shared_probe_mine_theirs"].append(
            round(float((shared == torch.as_tensor(targets["mine_theirs"][train:])).float().mean()), 4))
        can_move = legal[rows, k].any(-1)
        out["model_legal_top1"].append(round(float(hits[rows, k][can_move].mean()), 4) if can_move.any() else None)
        out["legal_moves"].append(round(float(legal[rows, k].sum(-1).mean()), 2))
        passed = mover_not_alternating(batch.labels["to_move"][rows, pos], pos)
        out["mover_not_alternating"].append(round(float(passed.mean()), 4))
        out["train"].append(train)
        out["test"].append(int(len(rows) - train))
    out["sentence"] = _late_game_sentence(moves, out, stream_label(layer))
    return out | {"moves": list(moves), "layer": layer, "games": games}


def _late_game_sentence(moves, out: dict, layer_name: str) -> str:
    known = [k for k, v in enumerate(out["own_probe_mine_theirs"]) if v is not None]
    if len(known) < 2:
        return "Too few of these games reach the late moves to train a probe at each move number."
    mine, colour, blank = out["own_probe_mine_theirs"], out["own_probe_black_white"], out["own_probe_blank"]
    first, last = known[0], known[-1]
    sentence = (f"Linear probes trained at one move number only ({layer_name}, {min(out['train'][k] for k in known):,}+ "
                f"positions at each move) read mine/theirs at {mine[first]:.1%} of cells after move {moves[first]} and "
                f"{mine[last]:.1%} after move {moves[last]} (the shipped all-positions probe: "
                f"{out['shared_probe_mine_theirs'][last]:.1%}); in the colour basis {colour[first]:.1%} and "
                f"{colour[last]:.1%}; blank {blank[last]:.1%} after move {moves[last]}")
    top1 = out["model_legal_top1"][last]
    sentence += (f", where the model's top move is legal {top1:.1%} of the time" if top1 is not None else "") + \
        f" with {out['legal_moves'][last]:.1f} legal moves on average. "
    if colour[last] < max(colour[k] for k in known) - 0.1 and blank[last] >= 0.98:
        sentence += ("At the last move the colours are gone from the stream in either basis, not merely hard for one "
                     "shared probe to read; only the emptiness is left, which is all a forced last move needs. ")
    before = [k for k in known[:-1] if out["mover_not_alternating"][k] > 0.03]
    if before:
        k = max(before, key=lambda k: colour[k] - mine[k])
        if colour[k] - mine[k] > 0.03:
            sentence += (f"Before it, after move {moves[k]}, the colour basis (at a fixed move, mine/theirs by strict "
                         f"alternation) reads {colour[k]:.1%} against {mine[k]:.1%} for mine/theirs by the true next "
                         f"mover: in {out['mover_not_alternating'][k]:.0%} of these games a pass has changed who "
                         "moves next, and the stream's board does not follow it.")
    return sentence.strip()


def head_roles(service, games: int = 200, seed: int = 0, batch_size: int = 50) -> dict:
    batch = random_games(games, seed=80_000 + seed, labels=True)
    names = [attn_pattern(l) for l in range(service.n_layers)]
    shares = []
    for start in range(0, games, batch_size):
        tokens = torch.as_tensor(batch.tokens[start:start + batch_size, :MODEL_CONTEXT])
        _, cache = service.run(tokens, names=names)
        patterns = torch.stack([cache[n] for n in names], 1).float().numpy()  # [b, L, H, q, k]
        for g in range(len(tokens)):
            n = int(min(batch.lengths[start + g], MODEL_CONTEXT))
            moves = batch.squares[start + g, :n]
            shares.append(mover_share(patterns[g][..., :n, :n], batch.labels["to_move"][start + g, :n], moves))
    share = np.nanmean(np.array(shares), 0)
    return {"mover_share": share.round(4).tolist(), "games": games,
            "sentence": f"Over {games} games, the most 'mine'-focused head is "
                        f"L{np.unravel_index(np.argmax(share), share.shape)[0]}H{np.unravel_index(np.argmax(share), share.shape)[1]} "
                        f"({share.max():.0%} of its attention on the mover's moves), the most 'theirs'-focused "
                        f"L{np.unravel_index(np.argmin(share), share.shape)[0]}H{np.unravel_index(np.argmin(share), share.shape)[1]} ({share.min():.0%})."}


STEPS = ("probes", "composition", "late game", "edits", "empty square", "head roles", "neurons", "sae", "features",
         "feature circuits", "edit graphs")


def compute_findings(service, folder: Path, progress: Callable | None = None, games: int = 400,
                     late_game_games: int = 3000, only: tuple[str, ...] = STEPS, previous: dict | None = None) -> dict:
    """Every finding (or the ``only`` steps, the rest kept from ``previous``)."""
    start = time.time()
    report = service.probe_report
    steps = [s for s in STEPS if s in only]
    out: dict = dict(previous or {}) | {"model": service.name, "model_hash": service.hash,
                                         "paper_weights": service.name in ("synthetic", "championship")}
    for step in _iterate(steps, progress):
        if step == "probes":
            out["probes"] = probe_finding(report)
        elif step == "composition":
            out["simpler_features"] = composition_finding(service, report, games=games)
        elif step == "late game":
            out["late_game"] = late_game_finding(service, report, games=late_game_games)
        elif step == "edits":
            out["minimal_edit"] = edit_finding(folder, service)
        elif step == "empty square":
            out["empty_square"] = empty_square_finding(service, games=max(50, games // 2))
        elif step == "sae":
            out["sae"] = sae_finding(folder)
        elif step == "features":
            out["features_vs_probes"] = features_finding(folder)
        elif step == "feature circuits":
            out["feature_circuits"] = feature_circuit_finding(folder)
        elif step == "edit graphs":
            out["edit_graphs"] = edit_graph_finding(folder, (out.get("minimal_edit") or {}).get("direct_share"))
        elif step == "head roles":
            out["head_roles"] = head_roles(service, games=max(50, games // 2))
        else:
            top = neuron_top_positions(service, games=max(50, games // 2))
            np.savez_compressed(folder / NEURON_FILE, values=top["values"], index=top["index"],
                                games=top["games"], seed=top["seed"], model_hash=service.hash)
            out["neurons"] = {"file": NEURON_FILE, "games": top["games"], "seed": top["seed"]}
    if tuple(steps) == STEPS or "wall_time_s" not in out:
        out["wall_time_s"] = round(time.time() - start, 1)
        out.pop("updated", None)  # a partial run's record, superseded
    else:
        out["updated"] = {"steps": steps, "wall_time_s": round(time.time() - start, 1)}
    return out


NEURON_FILE = "neuron_top.npz"
NEURON_SEED = 90_001


def neuron_top_positions(service, games: int = 300, k: int = 6, batch_size: int = 50) -> dict:
    """For every neuron, the ``k`` positions (game, position) of ``games`` random games (seed
    ``NEURON_SEED``) where it fires most; the games regenerate from the seed."""
    batch = random_games(games, seed=NEURON_SEED)
    layers, d_mlp = service.n_layers, service.model.cfg.d_mlp
    names = [mlp_post(l) for l in range(layers)]
    best_val = np.full((layers, d_mlp, k), -np.inf, dtype=np.float32)
    best_idx = np.zeros((layers, d_mlp, k, 2), dtype=np.int32)
    for start in range(0, games, batch_size):
        tokens = torch.as_tensor(batch.tokens[start:start + batch_size, :MODEL_CONTEXT])
        _, cache = service.run(tokens, names=names)
        valid = torch.as_tensor(tokens != 0)  # [b, pos]
        for l, name in enumerate(names):
            acts = cache[name].float().masked_fill(~valid[..., None], -np.inf)  # [b, pos, d_mlp]
            flat = acts.reshape(-1, d_mlp).T.cpu().numpy()  # [d_mlp, b*pos]
            top = np.argpartition(-flat, k - 1, axis=1)[:, :k]
            vals = np.take_along_axis(flat, top, 1)
            merged_val = np.concatenate([best_val[l], vals], 1)
            pos = tokens.shape[1]
            idx = np.stack([start + top // pos, top % pos], -1)
            merged_idx = np.concatenate([best_idx[l], idx], 1)
            order = np.argsort(-merged_val, 1)[:, :k]
            best_val[l] = np.take_along_axis(merged_val, order, 1)
            best_idx[l] = np.take_along_axis(merged_idx, order[..., None], 1)
    return {"values": best_val, "index": best_idx, "games": games, "seed": NEURON_SEED}


CAPTURED_F1 = 0.9  # a property is "captured" by a detector scoring at least this F1


def sae_finding(folder: Path, threshold: float = CAPTURED_F1) -> dict | None:
    """(g) Per property family, how many properties the SAE's best feature and the linear probe each
    capture (F1 >= ``threshold``), which only one of them captures, and the mean F1 of each."""
    from othello_core.analysis.sae.metrics import FAMILIES, MIN_POSITIVES, property_names
    from othello_core.analysis.sae.recipe import sae_folder
    from othello_core.analysis.sae.report import REPORT_FILE
    path = sae_folder(folder) / REPORT_FILE
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    if "probe_properties" not in report:
        return None
    held_out = report.get("held_out_properties")  # the SAE's feature chosen on one half, scored on the other
    sae_f1 = np.asarray((held_out or report["properties"])["f1"], dtype=float)
    probe_f1 = np.asarray([np.nan if v is None else v for v in report["probe_properties"]["f1"]])
    enough = np.asarray((held_out or report)["positives"]) >= MIN_POSITIVES
    names = property_names()
    families = {}
    for i, family in enumerate(FAMILIES):
        part = slice(i * 64, (i + 1) * 64)
        keep = enough[part]
        sae, probe = sae_f1[part][keep], probe_f1[part][keep]
        has_probe = not np.isnan(probe).all()
        row = {"properties": int(keep.sum()), "sae_captured": int((sae >= threshold).sum()),
               "sae_mean_f1": round(float(sae.mean()), 4)}
        if has_probe:
            row |= {"probe_captured": int((probe >= threshold).sum()), "probe_mean_f1": round(float(probe.mean()), 4),
                    "sae_only": int(((sae >= threshold) & (probe < threshold)).sum()),
                    "probe_only": int(((probe >= threshold) & (sae < threshold)).sum())}
        families[family] = row
    gaps = [(float(p - s), names[j]) for j, (s, p) in enumerate(zip(sae_f1, probe_f1)) if enough[j] and not np.isnan(p)]
    gaps.sort()
    out = {"threshold": threshold, "stream": int(report["probe_properties"]["stream"]), "families": families,
           "sae_ahead": [{"property": n, "gap": round(-g, 3)} for g, n in gaps[:5] if g < 0],
           "probe_ahead": [{"property": n, "gap": round(g, 3)} for g, n in gaps[::-1][:5] if g > 0],
           "d_sae": int(report["reconstruction"]["d_sae"]), "games": int(report["games"]["n"])}
    board = [families[f] for f in ("empty", "mine", "theirs")]
    out["board_state"] = {key: sum(r.get(key, 0) for r in board) for key in ("properties", "sae_captured", "probe_captured",
                                                                      "sae_only", "probe_only")}
    out["sentence"] = _sae_sentence(out)
    return out


def _sae_sentence(out: dict) -> str:
    fam, t, board = out["families"], out["threshold"], out["board_state"]
    n, sae_n, probe_n = board["properties"], board["sae_captured"], board["probe_captured"]
    parts = [f"Of {n} board-state properties (each square empty, mine or theirs), the SAE has a single feature "
             f"with F1 of at least {t} for {sae_n}; the linear probes {stream_label(out['stream'])} read {probe_n} at "
             f"that level."]
    for family, what in (("legal", "legal moves"), ("flipped", "flipped discs")):
        r = fam[family]
        if "probe_captured" not in r:  # no probe reads this family
            continue
        parts.append(f"For {what} the SAE captures {r['sae_captured']} of {r['properties']} squares against the "
                     f"probe's {r['probe_captured']} (mean F1 {r['sae_mean_f1']:.2f} vs {r['probe_mean_f1']:.2f}).")
    last = fam["last_move"]
    parts.append(f"Where the last move was played, which no probe reads, single features capture "
                 f"{last['sae_captured']} of {last['properties']} squares.")
    if out["probe_ahead"]:
        top = out["probe_ahead"][0]
        parts.append(f"The probes' widest lead is on {top['property']} (+{top['gap']:.2f} F1).")
    if out["sae_ahead"]:
        top = out["sae_ahead"][0]
        parts.append(f"The SAE's widest lead is on {top['property']} (+{top['gap']:.2f} F1).")
    return " ".join(parts)


def edit_graph_finding(folder: Path, component_direct_share: float | None = None) -> dict | None:
    """(c) continued, at the feature level: the edit's change of the became-legal-minus-became-illegal logit
    split by circuit-tracer's attribution before and after the edit (``graphs edits``: ``edit_paths.json`` beside
    the transcoders; None until every position is done), beside the component-level decomposition's direct share
    on the same positions and measure."""
    from othello_core.analysis.graphs.edit_paths import EDIT_PATHS_FILE
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.rules.hooks import block_label
    path = transcoder_folder(folder) / EDIT_PATHS_FILE
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    s = stored["summary"]
    if s["positions"] < stored["positions"]:
        return None  # a run cut short: nothing to quote yet
    share, first_later = s["share"], stored["edit"]["layers"][0]
    later_blocks = sorted(((b, v) for b, v in enumerate(s["block_share"]) if b >= first_later), key=lambda kv: -kv[1])
    sentence = (f"At the feature level, with '{stored['edit_label']}' on the same {s['positions']} positions and the "
                f"same measure (the mean logit of the moves the flip makes legal minus those it makes illegal), "
                f"circuit-tracer's attribution of that measure before and after the edit (every active transcoder "
                f"feature, error node and input move) puts {share['later']:.0%} of its summed change on the features "
                f"and error nodes of the blocks after the edited stream, most on "
                + ", ".join(f"{block_label(b)} ({v:.0%})" for b, v in later_blocks[:3])
                + f"; {share['edit_path']:.0%} runs along the edit's own path (the added vector read directly or "
                f"through attention, with the rescaled constants) and {share['earlier']:.0%} through the blocks "
                f"before it (through the edited run's attention patterns and LayerNorm scales); error nodes carry "
                f"{s['errors_share']:.0%}, and the edit moved the measure toward the edited board at "
                f"{s['moved_toward']} of {s['positions']} positions.")
    if component_direct_share is not None:
        sentence += (f" The component-level decomposition (later attention and MLP outputs frozen) leaves "
                     f"{component_direct_share:.0%} to the edit's direct effect: both say the edit acts "
                     + ("mostly through later features, not directly." if share["later"] > 0.5
                        and component_direct_share < 0.5 else "in ways the two methods do not agree on."))
    return {"sentence": sentence, "summary": s, "edit_label": stored["edit_label"], "positions": s["positions"],
            "component_direct_share": component_direct_share, "command": stored["command"]}


def feature_circuit_finding(folder: Path) -> dict | None:
    """(i) The circuit question at the feature level: attribution graphs over the transcoders at held-out
    positions (``graphs circuits``: ``graph_circuits.json`` beside the transcoders), read with the rule labels."""
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    path = transcoder_folder(folder) / "graph_circuits.json"
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    s = stored["summary"]
    kinds = list(s["kind_share"].items())[:3]
    layers = sorted(s["layer_share"].items(), key=lambda kv: -kv[1])[:2]
    sentence = (f"Over {s['positions']} held-out positions, the (up to) {s['per_position']} transcoder "
                f"features whose direct edges raise the top move's logit most in each attribution graph are read "
                f"(by their rule labels) as " + ", ".join(f"'{k}' ({v:.0%})" for k, v in kinds) +
                f" features; they sit mostly in {' and '.join(f'{l} ({v:.0%})' for l, v in layers)} (mean layer "
                f"{s['mean_layer']:.1f}), {s['at_target_move']:.0%} of them at the move being answered. Zeroing them "
                f"lowers the logit by {s['mean_drop_top']:.2f} on average (of {s['mean_logit']:.1f}), against "
                f"{s['mean_drop_random']:.2f} for as many random active features of the same layers and moves; the "
                f"graph's features win at {s['top_beats_random']} of {s['positions']} positions.")
    return {"sentence": sentence, "summary": s, "command": stored["command"], "positions": s["positions"]}


def features_finding(folder: Path) -> dict | None:
    """(h) Probes, MLP neurons and SAE features on the same 128 mine/theirs properties, on Karvonen et al.'s
    definitions (``karvonen.json`` of ``sae karvonen``), beside the linear probe read as a detector of the
    same properties (``probe_properties`` of the SAE report) and the published figures."""
    from othello_core.analysis.sae.karvonen import KARVONEN_FILE, PUBLISHED
    from othello_core.analysis.sae.recipe import sae_folder
    from othello_core.analysis.sae.report import REPORT_FILE
    path, report_path = sae_folder(folder) / KARVONEN_FILE, sae_folder(folder) / REPORT_FILE
    if not path.exists() or not report_path.exists():
        return None
    stored, report = json.loads(path.read_text()), json.loads(report_path.read_text())

    def scores(row: dict) -> dict:
        return {"name": row["name"], "hook": row["hook"], "coverage": round(row["board"]["coverage"]["value"], 4),
                "reconstruction": round(row["board"]["reconstruction"]["value"], 4),
                "legal_coverage": round(row["legal"]["coverage"]["value"], 4),
                "legal_reconstruction": round(row["legal"]["reconstruction"]["value"], 4)}

    rows = [scores(r) for r in stored["rows"]]
    sae = next(r for r in rows if r["name"].startswith("SAE (trained"))
    neurons = [r for r in rows if r["name"].startswith("MLP neurons, block") and "control" not in r["name"]]
    best = max(neurons, key=lambda r: r["reconstruction"])
    block5 = next(r for r in neurons if r["hook"] == "blocks.5.mlp.hook_post")
    control = next((r for r in rows if "control" in r["name"] and r["name"].startswith("MLP")), None)
    control_sae = next((r for r in rows if r["name"].startswith("SAE (random-init control")), None)
    always = next((r for r in rows if r["name"].startswith("baseline: one feature that always fires")), None)
    last_move = next((r for r in rows if r["name"].startswith("baseline: the last 1 move")), None)
    if control_sae:  # how often the control SAE's best feature for a property fires (median over properties)
        raw = next(r for r in stored["rows"] if r["name"] == control_sae["name"])["board"]["coverage"]
        control_sae = control_sae | {"median_best_firing_rate": round(raw.get("median_best_firing_rate", float("nan")), 4)}
    probe_f1 = np.asarray(report["probe_properties"]["f1"][64:192], dtype=float)  # the mine, then theirs squares
    out = {"rows": rows, "sae": sae, "best_neurons": best, "block5_neurons": block5, "control_neurons": control,
           "control_sae": control_sae, "always_fires": always, "last_move": last_move,
           "sae_above_floor": round(sae["coverage"] - always["coverage"], 4) if always else None,
           "probe": {"stream": report["probe_properties"]["stream"], "mean_f1": round(float(np.nanmean(probe_f1)), 4),
                     "properties": int(np.isfinite(probe_f1).sum())},
           "published": {"best_coverage": PUBLISHED["best_coverage"]["value"],
                         "best_reconstruction": PUBLISHED["best_reconstruction"]["value"],
                         "neuron_coverage": PUBLISHED["mlp_neurons"]["coverage"],
                         "neuron_reconstruction": PUBLISHED["mlp_neurons"]["reconstruction"], "neuron_block": 5},
           "games": stored["games"]}
    out["sentence"] = _features_sentence(out)
    return out


def _features_sentence(out: dict) -> str:
    sae, best, b5, pub, probe = out["sae"], out["best_neurons"], out["block5_neurons"], out["published"], out["probe"]
    text = (f"On Karvonen et al.'s 128 mine/theirs properties ({out['games']['fitting']:,} fitting and "
            f"{out['games']['held_out']:,} held-out games), the SAE on {sae['hook']} reaches coverage "
            f"{sae['coverage']:.3f} and board reconstruction {sae['reconstruction']:.3f}; this model's own MLP neurons "
            f"reconstruct the board {'better' if best['reconstruction'] > sae['reconstruction'] else 'less well'}, "
            f"best at {best['hook']} (coverage / reconstruction {best['coverage']:.3f} / {best['reconstruction']:.3f}"
            + (f"; {b5['hook']}: {b5['coverage']:.3f} / {b5['reconstruction']:.3f}" if b5 is not best else "") + "). ")
    if out["control_neurons"]:
        c = out["control_neurons"]
        text += f"The random-init control's {c['hook']} neurons reach {c['coverage']:.3f} / {c['reconstruction']:.3f}. "
    if out.get("control_sae") and out.get("always_fires") and out.get("last_move"):
        c, a, m = out["control_sae"], out["always_fires"], out["last_move"]
        rate = c["median_best_firing_rate"]
        near = abs(c["reconstruction"] - m["reconstruction"]) <= 0.01
        text += (f"Coverage has a floor that knows no board: one feature firing on every position scores "
                 f"{a['coverage']:.3f} (the F1 of always answering yes; a feature blind to the board scores less the "
                 f"rarer it fires) and reconstructs {a['reconstruction']:.3f}. The random-init control's SAE reaches "
                 f"{c['coverage']:.3f} coverage, {'below' if c['coverage'] < a['coverage'] else 'above'} that floor"
                 + (f" (its best features fire on a median {rate:.0%} of positions)" if rate == rate else "")
                 + f", and reconstructs {c['reconstruction']:.3f}, "
                 + ("about as much as" if near else "more than" if c["reconstruction"] > m["reconstruction"]
                    else "less than")
                 + f" the last move one-hot ({m['reconstruction']:.3f}); the trained SAE's coverage is "
                 f"{abs(out['sae_above_floor']):.3f} {'above' if out['sae_above_floor'] >= 0 else 'below'} the floor. ")
    text += (f"The linear mine/theirs probe {stream_label(probe['stream'])}, one detector per property, reads them at a "
             f"mean F1 of {probe['mean_f1']:.3f}. Published: the best trained SAEs {pub['best_coverage']:.3f} coverage "
             f"and {pub['best_reconstruction']:.3f} reconstruction, block {pub['neuron_block']}'s neurons {pub['neuron_coverage']:.3f} / "
             f"{pub['neuron_reconstruction']:.3f}.")
    return text
