"""Othello-GPT Explorer core: exact rules, games, model, probes, interventions, circuits.

No Streamlit import anywhere in this package; torch is imported only by the model modules.
"""
