"""Play: click or paste moves, see the model's predicted moves against the true legal moves."""

import numpy as np
import streamlit as st

from othello_core.reports import tl_snippets
from othello_core.reports.snippets import play_snippet
from othello_core.rules.board import BLACK
from othello_core.rules.games import load_eothello, random_games
from othello_core.rules.notation import MoveError, square_to_name
from othello_core.rules.user_input import MAX_MOVES_TEXT, InputError, escape_markdown, parse_int, shown
from app import common
from app.live_board import board_data, live_board, player_code
from app.figures import legal_strip_svg
from app.live_svg import live_svg
from app.viewport import boards_in_row, content_width, viewport_size

ss = st.session_state
st.title("Play")
if ss.get("flash_error"):
    st.error(ss.pop("flash_error"))

game = common.game()
board = game.board
cursor = ss["cursor"]


@st.cache_resource(show_spinner="Loading the eOthello games…")
def real_games():
    return load_eothello()


def status_line() -> str:
    black, white = board.counts()
    if board.is_game_over():
        winner = {1: "black wins", -1: "white wins", 0: "draw"}[board.winner()]
        return f"Game over · black {black} – white {white} · {winner}"
    colour = "Black" if board.to_move == BLACK else "White"
    return (f"{colour} to move · {len(board.legal_moves())} legal moves · "
            f"black {black} – white {white}")


def play(square: int) -> str | None:
    error = common.play(square)
    return escape_markdown(error.detail) if error else None


st.markdown(f"**{status_line()}**")
viewport = viewport_size()
per_row, side = boards_in_row(viewport, boards=2, largest=420)  # side by side where both fit unsqueezed
left, right = st.columns(2) if per_row == 2 else (st.container(), st.container())

with left:  # the board depends on the rules alone: drawn before the model runs
    last = game.moves[-1] if game.moves else None
    flips = np.array([bool(game.flipped[-1] >> s & 1) for s in range(64)]) if game.flipped else None
    cells, legal = common.board_arrays(board)
    mover = player_code(board.to_move)
    live_board(board_data(cells, legal, to_move=mover, last_move=last, flipped=flips,
                          size=side, shown=cursor, position=f"{len(ss['line'])}_{cursor}",
                          title="Board · click a ringed square to play"), "play_board", play,
               shown_now=lambda: ss["cursor"])
analysis, position = common.analysed_position()
has_prediction = position is not None
with right:
    if has_prediction:
        live_board(board_data(cells, analysis.legal[position], to_move=mover, heat=analysis.move_probs[position],
                              size=side, position=f"{len(ss['line'])}_{cursor}",
                              title=f"Model: P(move {cursor + 1}) · rings = true legal moves"), "prediction_board")
        top = analysis.top_moves(position, k=5)
        best, best_p, best_legal = top[0]
        (st.success if best_legal else st.error)(
            f"Top-1: **{square_to_name(best)}** ({best_p:.1%}) is "
            f"{'a legal move' if best_legal else 'ILLEGAL'}")
        # a markdown table: st.table's pandas and Arrow conversion was 8% of a click's script time (py-spy)
        st.markdown("| move | probability | legal |\n| --- | ---: | --- |\n" + "\n".join(
            f"| {square_to_name(s)} | {p:.4f} | {'yes' if ok else '**NO**'} |" for s, p, ok in top))
    elif cursor == 0:  # the same board, empty of heat, until the first move: the page does not jump at it
        live_board(board_data(cells, legal, to_move=mover, heat=np.zeros(64), zmax=1.0, size=side,
                              position=f"{len(ss['line'])}_0",
                              title="Model: no prediction yet<br>it reads the moves played: play the first one"),
                   "prediction_board")
    else:
        st.info("No prediction here: the game is over (or past the model's 59-move context).")

if analysis is not None:
    live_svg(legal_strip_svg(analysis.top1_legal(), current=position, width=content_width(viewport)),
             key="legal_strip", what="legal strip")
if has_prediction:
    common.reproduce_expander(play_snippet(ss["line"], position, common.service().name),
                              tl_snippets.play_snippet(ss["line"], position, common.service().name))
else:
    common.reproduce_expander(play_snippet(game.moves, None))

st.divider()
paste_col, load_col = st.columns([3, 2], gap="large")
with paste_col:
    with st.form("paste_form"):
        # the box takes far more than MAX_MOVES_TEXT so that the parser, not the browser, refuses a long paste
        # (with a message naming the limit); a browser silently drops a paste over the box's max_chars
        text = st.text_area("Paste moves", common.notation(), height=80, max_chars=MAX_MOVES_TEXT * 50,
                            help='Standard notation ("f5 d6 c3", "F5D6C3", "f5,d6;c3", one per line), a numbered '
                                 'transcript ("1. f5 d6 2. c3"), a Python list, or numbers (say which kind below).')
        integers = st.radio("Numbers are", ["token ids (1–60)", "square indices (0–63)"],
                            horizontal=True)
        if st.form_submit_button("Load moves", type="primary"):
            mode = "tokens" if integers.startswith("token") else "squares"
            try:
                loaded = common.S.from_text(text, integers=mode)
                common.set_line(loaded.moves)
                ss.pop("paste_error", None)
                st.rerun()
            except MoveError as err:
                ss["paste_error"] = err
    if ss.get("paste_error"):
        err = ss["paste_error"]
        where = f"Move {err.index + 1} (“{shown(err.move)}”): " if err.move else ""
        st.error(f"{where}{escape_markdown(err.detail)}. The last good position is kept.")

with load_col:
    buttons = st.container(horizontal=True)  # one block where two columns were three messages a run
    if buttons.button("Random game", icon=":material/casino:", key="random_game",
                 help="a uniformly random legal game, like the training data"):
        seed = int(np.random.default_rng().integers(1 << 31))
        batch = random_games(1, seed=seed)
        line = tuple(batch.squares[0, :batch.lengths[0]].tolist())
        common.set_line(line, cursor=common.S.opening_cursor(line))
        ss.pop("paste_error", None)
        st.rerun()
    if buttons.button("New game", icon=":material/restart_alt:"):
        common.set_line((), 0)
        ss.pop("paste_error", None)
        st.rerun()
    games = real_games()
    game_id = st.text_input("eOthello game id", placeholder=f"e.g. {games.ids[0]}",
                            help=f"{len(games.ids):,} real games from eOthello")
    if game_id:
        try:
            row = games.find(parse_int(game_id, "an eOthello game id", 0, 10 ** 12))
        except InputError as err:
            st.error(escape_markdown(str(err)))
        except KeyError:
            st.error(f"No eOthello game with id {shown(game_id)}.")
        else:
            winner = {1: "black won", -1: "white won", 0: "draw"}[int(games.winners[row])]
            if st.button(f"Load game {game_id} ({winner})"):
                squares = games.squares[row]
                line = tuple(squares[squares >= 0].tolist())
                common.set_line(line, cursor=common.S.opening_cursor(line))
                ss.pop("paste_error", None)
                st.rerun()
