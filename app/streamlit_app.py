"""Othello-GPT Explorer (placeholder until the dashboard issue lands): the board after a paste."""
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from othello_core.board import parse_game  # noqa: E402
from othello_core.notation import MoveError  # noqa: E402


def play_page() -> None:
    st.title("Othello-GPT Explorer")
    text = st.text_input("Moves", "f5 d6 c3")
    try:
        st.code(str(parse_game(text).board))
    except MoveError as err:
        st.error(str(err))


st.navigation([st.Page(play_page, title="Play")]).run()
