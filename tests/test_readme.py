"""The README's Python API example runs as written, on the bundled model."""
import contextlib
import io
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
