"""The model: weight files, the lean training GPT, the TransformerLens boundary
(``hooked_transformer``: the only TransformerLens importer), model sources, training and the
legal-move evaluation. Imports the rules layer only (``tests/test_architecture.py``)."""
