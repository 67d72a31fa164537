"""A tiny model's ``ModelService`` with quickly fitted probes of its own, for tests that need the service's
probes (edits, findings) without the bundled model."""


def tiny_service(model, name: str = "tiny"):
    from othello_core.analysis.probes import FitSettings, collect_activations, train_probes
    from othello_core.analysis.service import ModelService
    from othello_core.model.weights import model_hash
    from othello_core.rules.games import GameBatch, random_games
    games = random_games(80, seed=1, labels=True)

    def part(rows):
        return GameBatch(games.squares[rows], games.lengths[rows], {k: v[rows] for k, v in games.labels.items()})

    train, test = collect_activations(model, part(slice(0, 60)), 5), collect_activations(model, part(slice(60, 80)), 5)
    quick = FitSettings(lr=2e-2, batch=256, max_epochs=1)
    probes, report = train_probes(train, test, model_hash(model), mlp_widths=(16,), linear_fit=quick, mlp_fit=quick)
    return ModelService(model, name, probes=probes, probe_report=report)
