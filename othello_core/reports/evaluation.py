"""Figures and sentences from a model's stored evaluation and training curve (what ``card`` wrote into
its folder): error rates by move number, how the errors split around passes. No model is run here."""

from __future__ import annotations

from pathlib import Path

from othello_core.model.weights import read_config, read_metrics

TRAINING_METRICS_FILE = "training_metrics.jsonl"


MOVE_SPANS = ((1, 20), (21, 40), (41, 59))  # opening, middle game, end game: how figures by move are pooled


def error_rates_by_move(by_move: dict) -> list[float | None]:
    """Top-1 error rate per move number (``None`` where no position counts)."""
    return [e / n if n else None for e, n in zip(by_move["top1_errors"], by_move["positions"])]


def error_rate_over_moves(by_move: dict, first: int, last: int) -> float:
    """The top-1 error rate pooled over move numbers ``first..last`` (1-based, inclusive)."""
    span = slice(first - 1, last)
    return sum(by_move["top1_errors"][span]) / max(sum(by_move["positions"][span]), 1)


def pass_errors(by_move: dict) -> dict | None:
    """How the top-1 errors split between positions after a pass and the rest (``None`` for a
    ``by_move`` counted before passes were)."""
    if "pass_positions" not in by_move:
        return None
    n, errors = sum(by_move["positions"]), sum(by_move["top1_errors"])
    n_pass, errors_pass = sum(by_move["pass_positions"]), sum(by_move["pass_top1_errors"])
    return {"share_of_positions": n_pass / max(n, 1), "share_of_errors": errors_pass / max(errors, 1),
            "error_after_pass": errors_pass / max(n_pass, 1),
            "error_otherwise": (errors - errors_pass) / max(n - n_pass, 1)}


def pass_errors_sentence(split: dict | None) -> str:
    """``pass_errors`` in one sentence ("" without it)."""
    if split is None:
        return ""
    return (f"After a pass (the next mover is not the one strict alternation gives; {split['share_of_positions']:.2%} "
            f"of positions) the top-1 error is {split['error_after_pass']:.2%}, against "
            f"{split['error_otherwise']:.3%} elsewhere: {split['share_of_errors']:.0%} of all errors.")


def pass_error_sentences(evaluation: dict) -> dict[str, str]:
    """``pass_errors_sentence`` per dataset of a stored evaluation (``{"synthetic": ..., "eothello": ...}``),
    keyed by the dataset's display name; datasets counted before passes were are left out."""
    sentences = {}
    for key, name in (("synthetic", "Synthetic"), ("eothello", "eOthello")):
        split = pass_errors(evaluation.get(key, {}).get("by_move", {}))
        if split:
            sentences[name] = pass_errors_sentence(split)
    return sentences


def stored_evaluation(folder: Path | str | None, model_hash: str) -> dict | None:
    """The evaluation ``card`` wrote into ``folder/config.json``, if it was made on these weights."""
    evaluation = read_config(folder).get("eval")
    return evaluation if evaluation and evaluation.get("model_hash") == model_hash else None


def training_metrics(folder: Path | str | None) -> list[dict]:
    """The held-out training curve a model folder ships (``[]`` without one)."""
    return read_metrics(Path(folder) / TRAINING_METRICS_FILE) if folder else []
