"""Model: which weights are live, their model card, and how to get the paper's weights."""

import streamlit as st

from othello_core.paths import HF_REPO, HUB_FILES, WEIGHTS_ENV
from othello_core.reports.evaluation import pass_error_sentences, stored_evaluation, training_metrics
from othello_core.reports import tl_snippets
from othello_core.reports.snippets import model_snippet
from othello_core.rules.user_input import escape_markdown, shown
from app.charts import chart
from app import common
from app.figures import error_by_move_figure, training_figure

st.title("Model")
svc = common.service()
failed = st.session_state.get("model_error")
if failed:
    st.warning(f"**{shown(failed[0])}** could not be loaded, so the bundled model is "
               f"live.\n\n{escape_markdown(failed[1])}")
info = svc.info
cols = st.columns(4)
cols[0].metric("Live weights", info["name"])
cols[1].metric("Parameters", f"{info['parameters']:,}")
cols[2].metric("Shape", f"{info['n_layers']}L·{info['n_heads']}H·{info['d_model']}d")
cols[3].metric("Device", info["device"])
st.caption(f"Weights hash `{info['hash']}` ({info['weights']}) · probes: "
           + ("loaded" if svc.probes is not None else f"none ({svc.probe_error})"))
if svc.card:
    with st.expander("Model card", expanded=True):
        st.markdown(svc.card)
training = training_metrics(svc.folder)
if training:
    st.subheader("Training curve")
    chart(training_figure(training), key="training_curve")
    st.caption("Legal top-1 error on held-out games (2,000 at each point; a star on 10,000 at the end of "
               "each training run, a later run going on from the earlier weights) against the number of "
               "random games seen; the dotted line is the paper's synthetic model.")
evaluation = stored_evaluation(svc.folder, info["hash"])
if evaluation and "by_move" in evaluation.get("synthetic", {}):
    st.subheader("Where in the game it still errs")
    chart(error_by_move_figure({
        f"{evaluation['synthetic']['games']:,} held-out synthetic games": evaluation["synthetic"]["by_move"],
        f"{evaluation['eothello']['games']:,} eOthello games": evaluation["eothello"]["by_move"]}),
        key="error_by_move")
    st.caption("Share of positions whose top-1 prediction is illegal, by move number (hover: errors of "
               "positions). The errors grow as the game goes on: the later the position, the more flips the "
               "model must have tracked.")
    for name, sentence in pass_error_sentences(evaluation).items():
        st.markdown(f"**{name}.** {sentence}")
common.reproduce_expander(model_snippet(svc.name), tl_snippets.model_snippet(svc.name))
st.subheader("The paper's weights")
st.markdown(
    "The `synthetic` and `championship` models are the files "
    + ", ".join(f"`{f}`" for f in HUB_FILES.values())
    + f" of the Hugging Face repo `{HF_REPO}`. Without internet, download them elsewhere and put "
    f"them in a folder named by the environment variable `{WEIGHTS_ENV}`, then pick them in the "
    "sidebar. A local checkpoint (HookedTransformer state dict, the authors' minGPT checkpoint, "
    "or a run folder of `python -m othello_core train`) can be given as a path.")
