"""What the project writes for people: the findings, the model card, sentences and tables from
stored evaluations, and the notebook snippets of every page. Imports rules, model and analysis."""
