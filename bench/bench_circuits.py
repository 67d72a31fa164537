"""Circuits views vs a plain analysis of the same position (target: within 1.5x), figures only.

    python bench/bench_circuits.py
"""


from othello_core.analysis import attribution as A

from othello_core.analysis.service import ModelService
from othello_core.rules.games import random_games
from timing import median_time



def main() -> None:
    service = ModelService.load("bundled")
    batch = random_games(1, seed=3)
    moves = tuple(batch.squares[0, :31].tolist())
    position = 30
    analysis = service.analyze(moves)
    square = int(analysis.move_probs[position].argmax())
    plain = median_time(lambda: service.probe_position(service.analyze(moves), position))
    dla = median_time(lambda: A.direct_logit_attribution(service, A.components(service, moves, position), square))
    lens = median_time(lambda: A.logit_lens(service, analysis))
    print(f"plain analysis {plain * 1000:.1f} ms | DLA (heads, MLPs, neurons) {dla * 1000:.1f} ms "
          f"({dla / plain:.2f}x) | logit lens (uses the cached analysis) {lens * 1000:.1f} ms "
          f"({lens / plain:.2f}x) | target <= 1.5x each")


if __name__ == "__main__":
    main()
