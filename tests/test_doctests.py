"""The examples in the docstrings (python-chess style) run and give what they say."""
import doctest
import importlib

import pytest

MODULES = ["othello_core.rules.notation", "othello_core.rules.board", "othello_core.rules.hooks", "othello_core.rules.user_input",
           "othello_core.analysis.activation_store", "othello_core.model.train_config", "othello_core.rules.vocab",
           "othello_core.analysis.transcoders.recipe", "othello_core.analysis.transcoders.training",
           "othello_core.analysis.transcoders.transcoder", "othello_core.analysis.transcoders.shipping",
           "app.state", "app.replicas", "app.viewport", "app.figures", "app.live_board", "othello_core.analysis.graphs.replacement",
           "othello_core.reports.labels", "othello_core.analysis.interventions", "othello_core.reports.sweep"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
