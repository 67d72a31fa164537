"""Othello-GPT Explorer core, in four layers whose imports run one way (``tests/test_architecture.py``):

* ``othello_core.rules``: squares, tokens, the exact rules, batched games, hook names (numpy only);
* ``othello_core.model``: weight files, the lean training GPT, the TransformerLens boundary, training, evaluation;
* ``othello_core.analysis``: the locked ``ModelService``, probes, interventions, attribution, attention;
* ``othello_core.reports``: findings, the model card, sentences and tables from stored evaluations.

``othello_core.paths`` (where files live) is shared by all of them; ``othello_core.cli`` is the command
line. No Streamlit import anywhere in this package; torch is imported only from the model layer up.
"""
