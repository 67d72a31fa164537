"""The examples in the docstrings (python-chess style) run and give what they say."""
import doctest
import importlib

import pytest

MODULES = ["othello_core.notation", "othello_core.board", "othello_core.hooks", "othello_core.user_input",
           "othello_core.activation_store", "othello_core.train_config", "othello_core.vocab"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
