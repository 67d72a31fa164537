"""The README's Python API example runs as written, on the bundled model."""
import contextlib
import io
import json
import re

from .conftest import ROOT


def test_the_python_api_example_runs_and_reads_the_board():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The Python API in ten lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 11
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)
    top, per_stream = out.getvalue().splitlines()
    assert all(legal for _, _, legal in namespace["analysis"].top_moves(namespace["position"], k=3))
    assert "True" in top and namespace["probs"].shape == (9, 64, 3)
    read = (namespace["probs"].argmax(-1) == namespace["analysis"].relative[namespace["position"]]).mean(-1)
    assert read[6] > 0.9 and read[6] > read[0]  # after layer 6 the board is there; the embedding has less


def test_the_readme_sae_table_is_the_stored_reports():
    """The README's SAE table is what `sae report --markdown` prints from the shipped reports."""
    from othello_core.analysis.sae.recipe import sae_folder
    from othello_core.analysis.sae.report import REPORT_FILE, markdown_table
    from othello_core.paths import BUNDLED_DIR
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- sae-table -->\n", 1)[1].split("<!-- /sae-table -->", 1)[0].strip()
    trained, control = (json.loads((sae_folder(BUNDLED_DIR, control=c) / REPORT_FILE).read_text()) for c in (False, True))
    assert table == markdown_table(trained, control)


def test_the_readme_karvonen_table_is_the_stored_measurement():
    """The README's table of Karvonen et al.'s metrics is what `sae karvonen --markdown` prints from karvonen.json,
    which holds every feature set the issue asks for, on at least 1,000 fitting and 1,000 held-out games."""
    from othello_core.analysis.sae.karvonen import KARVONEN_FILE, markdown
    from othello_core.analysis.sae.recipe import sae_folder
    from othello_core.paths import BUNDLED_DIR
    stored = json.loads((sae_folder(BUNDLED_DIR) / KARVONEN_FILE).read_text())
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- karvonen-table -->\n", 1)[1].split("<!-- /karvonen-table -->", 1)[0].strip()
    assert table == markdown(stored)
    assert stored["games"]["fitting"] >= 1000 and stored["games"]["held_out"] >= 1000
    names = [row["name"] for row in stored["rows"]]
    assert names[0] == "SAE (trained model)" and [f"MLP neurons, block {b}" for b in range(8)] == names[-12:-4]
    assert [n.split(" (")[0] for n in names[-3:]] == ["baseline: one feature that always fires",
                                                      "baseline: the last 1 move one-hot", "baseline: the last 4 moves one-hot"]


def test_the_readmes_coverage_floor_numbers_are_the_stored_measurement():
    """The README's paragraph on the control's coverage quotes karvonen.json: the always-firing floor, the last
    move one-hot, the control SAE (coverage, reconstruction, its best features' median firing rate) and the
    trained SAE's height above the floor."""
    from othello_core.analysis.sae.karvonen import KARVONEN_FILE
    from othello_core.analysis.sae.recipe import sae_folder
    from othello_core.paths import BUNDLED_DIR
    rows = json.loads((sae_folder(BUNDLED_DIR) / KARVONEN_FILE).read_text())["rows"]
    found = lambda name: next(r["board"] for r in rows if r["name"].startswith(name))  # noqa: E731
    floor, move = found("baseline: one feature that always fires"), found("baseline: the last 1 move")
    control, sae = found("SAE (random-init control"), found("SAE (trained model)")
    text = " ".join((ROOT / "README.md").read_text().split())
    quoted = [f"coverage {floor['coverage']['value']:.3f} (F1 = 2p/(1+p)",
              f"the last move one-hot scores {move['coverage']['value']:.3f} / {move['reconstruction']['value']:.3f}",
              f"floor ({control['coverage']['value']:.3f}; its best features fire on a median "
              f"{control['coverage']['median_best_firing_rate']:.0%} of positions",
              f"({control['reconstruction']['value']:.3f} against {move['reconstruction']['value']:.3f})",
              f"The trained SAE is {sae['coverage']['value'] - floor['coverage']['value']:.3f} above the floor"]
    assert [q for q in quoted if q not in text] == []


def test_the_readme_transcoder_table_is_the_stored_report():
    """The README's transcoder table is what `transcoders report --markdown` prints from the shipped report."""
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.analysis.transcoders.report import CONTROL_REPORT_FILE, REPORT_FILE, markdown_table
    from othello_core.paths import BUNDLED_DIR
    stored = json.loads((transcoder_folder(BUNDLED_DIR) / REPORT_FILE).read_text())
    control = json.loads((transcoder_folder(BUNDLED_DIR) / CONTROL_REPORT_FILE).read_text())
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- transcoder-table -->\n", 1)[1].split("<!-- /transcoder-table -->", 1)[0].strip()
    assert table == markdown_table(stored, control)
    assert "random-init control" in control["model"] and control["layers"][0]["tokens"] == stored["layers"][0]["tokens"]
    assert min(layer["explained_variance"] for layer in stored["layers"]) >= 0.85  # issue 36's target, as shipped


def test_the_readme_labels_table_is_the_shipped_labels():
    """The README's rule-label table is what `labels report --markdown` prints from the shipped labels."""
    from othello_core.analysis.labels import UNIT_KINDS, labels_file, load_labels
    from othello_core.paths import BUNDLED_DIR
    from othello_core.reports.labels import label_summary, markdown_table
    found = {k: load_labels(labels_file(BUNDLED_DIR, k)) for k in UNIT_KINDS if labels_file(BUNDLED_DIR, k).exists()}
    assert "neurons" in found and list(found["neurons"][0]) == [f"L{b}" for b in range(8)]
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- labels-table -->\n", 1)[1].split("<!-- /labels-table -->", 1)[0].strip()
    assert table == markdown_table({k: label_summary(sets, info) for k, (sets, info) in found.items()})


def test_the_readmes_minimal_edit_numbers_are_the_shipped_sweeps():
    """The README's minimal-edit lines (the table's two rows and the paragraph on the edit by probability) quote
    exactly these values of the shipped edit sweep, each where its setting is named."""
    from othello_core.analysis.interventions import setting_label
    from othello_core.paths import BUNDLED_DIR
    sweep = json.loads((BUNDLED_DIR / "edit_sweep.json").read_text())
    by = {setting_label(r).split(" (")[0]: r for r in sweep["settings"]}
    best, large, grad = by[sweep["best_single_layer"]], by["after L3 add x1"], by["after L3–L7 gradient"]
    edits = [r for r in sweep["settings"] if r["kind"] in ("single", "multi")]
    assert grad["moved_rate"] == max(r["moved_rate"] for r in edits)  # "the most of any recipe"
    gain = lambda r: r["mass"]["made_legal"]["after"]  # noqa: E731
    assert large is max(edits, key=gain)  # "moves the most onto the moves the flip makes legal"
    controls = [r for r in sweep["settings"] if r["kind"] == "control" and r["edit"]]
    pct = lambda x, places=1: f"{x:.{places}%}"  # noqa: E731
    readme = (ROOT / "README.md").read_text()
    paragraph = readme.split("The minimal edit by probability", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in readme.splitlines() if line.startswith(("| best single-stream edit", "| the same edit by"))]
    expected = {
        rows[0]: [pct(best["success_rate"], 0), pct(by["no edit"]["success_rate"], 0)]
        + [pct(r["success_rate"], 0) for r in controls],
        rows[1]: [f"{pct(best['mass'][k]['before'])} → {pct(best['mass'][k]['after'])}" for k in ("made_legal", "made_illegal")]
        + [pct(best["moved_rate"], 0)] + [pct(r["moved_rate"], 0) for r in controls],
        paragraph: [f"{pct(large['mass']['made_legal']['before'])} → {pct(large['mass']['made_legal']['after'])}",
                    pct(large["success_rate"], 0), pct(large["mass"]["kept_legal"]["before"]),
                    pct(large["mass"]["kept_legal"]["after"]), pct(best["mass"]["kept_legal"]["after"]),
                    pct(grad["moved_rate"]), pct(grad["success_rate"])]}
    for text, values in expected.items():
        quoted = re.findall(r"\d+(?:\.\d+)?%", text)
        wanted = [v for value in values for v in re.findall(r"\d+(?:\.\d+)?%", value)]
        assert sorted(quoted) == sorted(wanted), (text[:60], quoted, wanted)


def test_the_readmes_edit_paths_numbers_are_the_shipped_measurement():
    """The README's paragraph on whether an edit acts directly quotes the shipped edit_paths.json (and the
    component-level direct share of findings.json), each share where its part is named."""
    from othello_core.analysis.graphs.edit_paths import EDIT_PATHS_FILE
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.paths import BUNDLED_DIR
    stored = json.loads((transcoder_folder(BUNDLED_DIR) / EDIT_PATHS_FILE).read_text())
    findings = json.loads((BUNDLED_DIR / "findings.json").read_text())
    s = stored["summary"]
    text = " ".join((ROOT / "README.md").read_text().split("**Does an edit act directly", 1)[1].split("\n\n", 1)[0].split())
    blocks = sorted(enumerate(s["block_share"]), key=lambda kv: -kv[1])[:3]
    expected = [f"at the {s['positions']} positions", f"puts {s['share']['later']:.0%} of the change",
                "(" + ", ".join(f"L{b} {v:.0%}" for b, v in blocks) + ")", f"{s['share']['edit_path']:.0%} on the edit's",
                f"{s['share']['earlier']:.0%} on the blocks before", f"error nodes carry {s['errors_share']:.0%}",
                f"leaves {findings['minimal_edit']['direct_share']:.0%} to the direct effect"]
    assert [e for e in expected if e not in text] == []
    assert stored["edit_label"].replace("x", "×") in text


def test_the_readmes_graph_quality_numbers_are_the_shipped_measurements():
    """The README's graph-quality paragraph quotes graph_quality.json and graph_quality_control.json."""
    from othello_core.analysis.transcoders.recipe import transcoder_folder
    from othello_core.paths import BUNDLED_DIR
    folder = transcoder_folder(BUNDLED_DIR)
    trained, control = (json.loads((folder / name).read_text())["mean"]
                        for name in ("graph_quality.json", "graph_quality_control.json"))
    text = " ".join((ROOT / "README.md").read_text().split("`python -m othello_core graphs quality --positions 50", 1)[1]
                    .split("\n\n", 1)[0].split())
    for quoted in (f"replacement score **{trained['replacement_score']:.3f}**",
                   f"completeness **{trained['completeness_score']:.3f}**", f"**{trained['seconds']:.1f} s a graph**",
                   f"{trained['n_kept']:.0f} nodes kept by pruning of {trained['n_features']:,.0f} active features",
                   f"replacement **{control['replacement_score']:.3f}**, completeness **{control['completeness_score']:.3f}**",
                   f"{control['n_kept']:.0f} nodes kept of {control['n_features']:,.0f} active features, "
                   f"{control['seconds']:.1f} s a graph"):
        assert quoted in text, quoted


def test_the_readme_depth_table_is_the_stored_sweep():
    """The README's depth table is what `labels report --depth` prints from labels/depth_sweep.json."""
    from othello_core.analysis.labels import LABELS_FOLDER
    from othello_core.paths import BUNDLED_DIR
    from othello_core.reports.labels import depth_table
    sweep = json.loads((BUNDLED_DIR / LABELS_FOLDER / "depth_sweep.json").read_text())
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- depth-table -->\n", 1)[1].split("<!-- /depth-table -->", 1)[0].strip()
    assert table == depth_table(sweep)
    from othello_core.analysis.labels import EXPLAINED_R2, labels_file, load_labels
    same = next(r for r in sweep["rows"] if (r["games"], r["depth"]) == (100, 3))  # the shipped labels' setting
    sets, _ = load_labels(labels_file(BUNDLED_DIR, "neurons"))
    assert same["explained"] == int((sets["L5"].r2 > EXPLAINED_R2).sum())  # reproduces the shipped labels' count
    best = max(sweep["rows"], key=lambda r: r["explained"])
    depth8 = " -> ".join(str(r["explained"]) for r in sorted(sweep["rows"], key=lambda r: r["games"]) if r["depth"] == 8)
    text = " ".join(readme.split("<!-- /depth-table -->", 1)[1].split("Causal check", 1)[0].split())
    from othello_core.reports.labels import PUBLISHED_LAYER5
    paper = PUBLISHED_LAYER5["explained"]
    assert (f"close {best['explained'] - same['explained']} of the {paper - same['explained']} neurons" in text
            and f"({same['explained']} -> {best['explained']} of {paper})" in text and f"({depth8} from" in text), text
