"""Sparse autoencoders on one residual stream of Othello-GPT, trained and loaded with SAELens.

* ``recipe``: what an SAE is trained on and how (``SAERecipe``), declared once;
* ``training``: activations of fresh synthetic games -> SAELens's ``SAETrainer`` -> an SAE folder
  in SAELens's own format (``cfg.json`` + ``sae_weights.safetensors``, loadable with
  ``sae_lens.SAE.load_from_disk``);
* ``metrics``: explained variance, L0, dead/dense features, the model spliced with the SAE, and
  Karvonen et al.'s (2024) board-state metrics (per-property precision/recall/F1, coverage,
  board reconstruction);
* ``features``: what the app reads per position: active features, feature cards, steering hooks;
* ``compare``: the architecture chosen on evidence (candidates trained and measured alike).

The commands are ``python -m othello_core sae train|report`` (``othello_core.cli.sae_commands``).

SAELens is an optional dependency (``pip install -e .[sae]``); nothing outside this package imports it.
"""
