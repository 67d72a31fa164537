"""Intervention costs on the bundled model, figures only.

    python bench/bench_edits.py

1. toggling a live edit (one position, linear add at one layer) as a ratio to a plain analysis
   of the same position (target <= 1.5x);
2. the minimal-edit sweep over 200 positions (100 synthetic + 100 eOthello): wall time
   (target < 2 minutes on the 2-core machine).
"""
import time


from othello_core.analysis.interventions import Edit, apply_edit, benchmark_rows, run_sweep
from othello_core.analysis.service import ModelService
from othello_core.rules.games import random_games
from timing import median_time



def main() -> None:
    service = ModelService.load("bundled")
    batch = random_games(1, seed=3)
    moves = tuple(batch.squares[0, :batch.lengths[0]].tolist())
    position = 30
    square = next(s for s in range(64) if service.analyze(moves).relative[position, s] != 0)
    edit = Edit((square,), "flip", (service.n_layers // 2,), scale=0.5)
    analysis = service.analyze(moves[:position + 1])
    plain = median_time(lambda: service.probe_position(service.analyze(moves[:position + 1]), position))
    toggled = median_time(lambda: apply_edit(service, moves[:position + 1], position, edit,
                                             clean_probs=analysis.move_probs[position]))
    print(f"plain analysis {plain * 1000:.1f} ms, edit toggle (edited run; the clean one is the cached "
          f"analysis, as in the app) {toggled * 1000:.1f} ms: {toggled / plain:.2f}x (target <= 1.5x)")
    start = time.perf_counter()
    rows, origin = benchmark_rows(100, 100, seed=0)
    prepared = time.perf_counter() - start
    result = run_sweep(service, rows, origin)
    total = time.perf_counter() - start
    print(f"sweep over {result['positions']} positions, {len(result['settings'])} settings: {total:.1f} s "
          f"({prepared:.1f} s choosing positions) (target < 120 s)")


if __name__ == "__main__":
    main()
