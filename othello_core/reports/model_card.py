"""The model card of a run folder: evaluate its weights (or reuse the evaluation made on these same
weights), record the figures in its config.json and write ``model_card.md``."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from othello_core.model.evaluate import evaluate, heldout_games, real_games
from othello_core.model.hooked_transformer import load_model
from othello_core.model.weights import SHARD_INDEX, model_hash, n_parameters
from othello_core.reports.evaluation import MOVE_SPANS, error_rate_over_moves, pass_error_sentences


def write_card(folder: Path | str, name: str = "bundled", games: int = 10_000, device: str | None = None,
               reuse_eval: bool = False) -> str:
    """Evaluate a run folder, write its model_card.md (+ eval figures into config.json); the card's text."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    model = load_model(str(folder), device=device)
    device = str(next(model.parameters()).device)
    digest = model_hash(model)
    previous = config.get("eval", {})
    if (reuse_eval and previous.get("model_hash") == digest and previous["synthetic"]["games"] == games
            and "pass_positions" in previous["synthetic"].get("by_move", {})):
        synthetic, real = previous["synthetic"], previous["eothello"]  # same weights: same figures
    else:
        with torch.inference_mode():
            synthetic = evaluate(model, heldout_games(games), device=device, by_move=True)
            real = evaluate(model, real_games(), device=device, by_move=True)
    config["eval"] = {"synthetic": synthetic, "eothello": real, "model_hash": digest}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    t, s = config.get("training", {}), config["shape"]
    card = f"""# Model card: {name}

An Othello-GPT with the paper's layout (TransformerLens `HookedTransformer`, LNPre, GELU, 61-token
vocabulary, 59-token context), trained by this project on synthetic games (every move uniform over
the legal moves).

| | |
| --- | --- |
| shape | {s['n_layers']} layers, {s['n_heads']} heads, d_model {s['d_model']}, d_mlp {s['d_mlp']} |
| parameters | {n_parameters(model):,} (the paper's: 25,295,421) |
| weights | {weights_files(folder)}, {config.get('dtype', 'float16')}, hash `{digest}` |
| games seen | {t.get('games_seen', 0):,} ({t.get('steps', 0):,} steps of {t.get('batch_size', '?')}) |
| objective | {'cross-entropy against the uniform distribution over the legal next moves' if t.get('target') == 'legal' else 'next-token cross-entropy (the paper)'} |
| hardware | {t.get('hardware', '?')} |
| wall time | {t.get('wall_time_s', 0) / 60:.1f} min |
| seed | {t.get('seed', '?')} |
| command{'s, in order' if len(config.get('command_history', [])) > 1 else ''} | {' then '.join(f'`{c}`' for c in config.get('command_history') or [t.get('command', '?')])} |
{continued_from(config.get('earlier_training'))}
## Evaluation

| data | legal top-1 | legal-set F1 (p >= 1%) | positions |
| --- | --- | --- | --- |
| {synthetic['games']:,} held-out synthetic games | {synthetic['legal_top1']:.2%} | {synthetic['legal_set_f1']:.3f} | {synthetic['positions']:,} |
| {real['games']:,} eOthello games | {real['legal_top1']:.2%} | {real['legal_set_f1']:.3f} | {real['positions']:,} |

{errors_by_move_table(synthetic, real)}
{during_training(t)}
Regenerate: `python -m othello_core card {folder}`. {paper_comparison(n_parameters(model), synthetic, t.get('games_seen', 0))}
"""
    (folder / "model_card.md").write_text(card)
    return card


def continued_from(earlier: dict | None) -> str:
    """The card's row for a run trained on from earlier weights (``train.inherited_training``)."""
    if not earlier:
        return ""
    return (f"| continued from | weights `{earlier.get('weights_hash')}` ({earlier.get('from')}) after "
            f"{earlier.get('games_seen', 0):,} games on {earlier.get('hardware')}; fresh optimizer |\n")


def errors_by_move_table(synthetic: dict, real: dict) -> str:
    """Where in the game the top-1 errors are: error rate per span of move numbers."""
    if "by_move" not in synthetic or "by_move" not in real:
        return ""
    rows = "\n".join(f"| {a}–{b} | {error_rate_over_moves(synthetic['by_move'], a, b):.3%} | "
                     f"{error_rate_over_moves(real['by_move'], a, b):.3%} |" for a, b in MOVE_SPANS)
    passes = "\n".join(f"- {name}: {sentence}" for name, sentence
                       in pass_error_sentences({"synthetic": synthetic, "eothello": real}).items())
    return f"""Top-1 error by move number (the prediction made after that move):

| moves | synthetic | eOthello |
| --- | --- | --- |
{rows}

{passes}
"""


def weights_files(folder: Path) -> str:
    shards = sorted(folder.glob("model-*-of-*.safetensors"))
    if (folder / SHARD_INDEX).exists() and shards:
        return f"{len(shards)} shards `model-0000N-of-{len(shards):05d}.safetensors` + `{SHARD_INDEX}`"
    return "`model.safetensors`"


def during_training(training: dict) -> str:
    final = training.get("final_eval")
    if not final:
        return ""
    return (f"At the end of training ({training.get('hardware', '?')}, float32 weights), "
            f"{final['games']:,} held-out games gave legal top-1 {final['legal_top1']:.3%}; the table "
            "above uses the float16 weights shipped here, on this machine.\n")


def paper_comparison(parameters: int, synthetic: dict, games_seen: int) -> str:
    error = 1 - synthetic["legal_top1"]
    if parameters >= 20_000_000:
        return (f"Its top-1 error is {error:.3%}; the paper's synthetic model makes 0.01% and an "
                "independent check of the released weights found 0.07%. It has the paper's shape and "
                f"saw {games_seen / 1e6:.1f}M games (the paper's synthetic set holds 20M), with its own "
                "objective and seed, so read probe, edit and circuit figures as those of a close but "
                "not identical model.")
    return (f"Its top-1 error is {error:.2%}; the paper's synthetic model makes 0.01%. This model is far "
            "smaller and saw far fewer games, so its world model is weaker: read every probe, edit "
            "and circuit figure in this light.")
