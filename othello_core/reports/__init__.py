"""What the project writes for people: the findings, the model card, sentences and tables from
stored evaluations. Imports rules, model and analysis."""
