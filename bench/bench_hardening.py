"""A hostile room, measured: memory after many bad model sources, the slowest malformed input.

    python -m bench.bench_hardening [--sources 100]   (from the repository root: it reads the tests' corpus)

Loads the bundled model through the app's service path, then asks for ``--sources`` distinct bad
model sources (missing paths, paths outside the model folders, a text file, a FIFO) and prints the
RSS growth (target: under 50 MB) and the slowest refusal (target: under 2 s); then parses the
malformed corpus of the tests (paste and URL paths) and prints the slowest input. Figures only.
"""
import argparse
import os
import resource
import tempfile
import time
from pathlib import Path



def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=100)
    args = parser.parse_args()
    from app import common
    from app import state as S
    from othello_core.rules.board import parse_game
    from othello_core.rules.notation import MoveError
    from tests.malformed import corpus, url_params

    tmp = Path(tempfile.mkdtemp())
    os.environ["OTHELLO_MODEL_DIRS"] = str(tmp)
    (tmp / "notes.pth").write_text("not a checkpoint " * 1000)
    os.mkfifo(tmp / "pipe.pth")
    common.load_service("bundled")
    before, slowest = rss_mb(), 0.0
    for i in range(args.sources):
        source = [f"/no/such/{i}.pth", f"/etc/{i}", str(tmp / "notes.pth"), str(tmp / "pipe.pth"),
                  str(tmp / f"missing-{i}")][i % 5]
        t0 = time.perf_counter()
        svc, message = common.try_service(source)
        slowest = max(slowest, time.perf_counter() - t0)
        assert svc is None and message
    after = rss_mb()
    print(f"{args.sources} bad model sources: RSS {before:.0f} -> {after:.0f} MB (+{after - before:.1f} MB, "
          f"target < 50 MB); slowest refusal {slowest * 1000:.1f} ms (target < 2 s); "
          f"failures remembered {len(common._FAILED)} (bound 32)")
    worst, worst_text = 0.0, ""
    for text in corpus():
        t0 = time.perf_counter()
        try:
            parse_game(text, integers="tokens")
        except MoveError:
            pass
        if time.perf_counter() - t0 > worst:
            worst, worst_text = time.perf_counter() - t0, text[:20]
    t0 = time.perf_counter()
    for params in url_params():
        S.from_query(params)
    print(f"{len(corpus())} malformed pastes: slowest {worst * 1000:.2f} ms ({worst_text!r}...); "
          f"{len(url_params())} links read in {(time.perf_counter() - t0) * 1000:.0f} ms")
    for offline in ("1", ""):  # HF_HUB_OFFLINE set, then unset on this offline machine (the reachability probe)
        os.environ["HF_HUB_OFFLINE"] = offline
        os.environ.pop("OTHELLO_GPT_WEIGHTS", None)
        common._FAILED.clear()
        t0 = time.perf_counter()
        svc, message = common.try_service("synthetic")
        print(f"'synthetic' offline (HF_HUB_OFFLINE={offline or 'unset'}): refused in "
              f"{time.perf_counter() - t0:.2f} s (target < 2 s; was ~24 s): {message[:70]}...")


if __name__ == "__main__":
    main()
