"""Probe suite time and memory (target: the whole set within 90 minutes on 2 cores).

    python bench/bench_probes.py                 # the figures the shipped report recorded
    python bench/bench_probes.py --stream 6      # time one stream's probes afresh from the suite's stores

The first form prints each stage of the last `python -m othello_core probes train` run (its
`timings_s`, wall time and peak RSS) against the 90-minute target. The second refits every probe
of one stream from the activation stores that run left in `--work-dir` (no caching) and prints the
time, so a change to the fitting code can be measured without the whole run. Figures only.
"""
import argparse
import json
import time
from pathlib import Path

from othello_core.analysis.activation_store import ActivationStore
from othello_core.analysis.probe_suite import peak_rss_mb
from othello_core.analysis.probes import REPORT_FILE, train_stream
from othello_core.paths import BUNDLED_DIR

TARGET_MIN = 90


def recorded(report: dict) -> None:
    timings = report.get("timings_s", {})
    for stage, seconds in timings.items():
        print(f"{stage:>34}: {seconds / 60:6.1f} min")
    total = sum(timings.values())
    print(f"{'all stages':>34}: {total / 60:6.1f} min (target {TARGET_MIN} min: "
          f"{'met' if total <= TARGET_MIN * 60 else 'missed'}); peak RSS {report.get('peak_rss_mb')} MB; "
          f"device {report.get('device')}; samples {report['samples']}")


def one_stream(work: Path, stream: int) -> None:
    train, test = ActivationStore(work / "model" / "train"), ActivationStore(work / "model" / "test")
    t0 = time.perf_counter()
    x, x_test = train.stream(stream), test.stream(stream)
    t1 = time.perf_counter()
    train_stream(x, train.labels, x_test, test.labels, test.position, train.position, name=f"stream {stream}")
    t2 = time.perf_counter()
    print(f"stream {stream}: read {t1 - t0:.1f} s, every probe kind {t2 - t1:.1f} s "
          f"({train.n_rows:,} training positions); x {train.n_streams} streams = "
          f"{train.n_streams * (t2 - t0) / 60:.1f} min per model; peak RSS {peak_rss_mb()} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream", type=int, default=None)
    parser.add_argument("--work-dir", default="runs/probe-suite/bundled")
    args = parser.parse_args()
    if args.stream is None:
        recorded(json.loads((BUNDLED_DIR / REPORT_FILE).read_text()))
    else:
        one_stream(Path(args.work_dir), args.stream)


if __name__ == "__main__":
    main()
