"""Stands in for wandb on the device machine only (scripts/gpu_train.sh puts this folder on the path when
wandb is missing there; the 20 MB wheel would not fit the 64 MiB that travels). SAELens imports wandb at
module level and, with ``log_to_wandb`` off -- the default of the ``SAETrainerConfig`` that
``analysis.sae.training`` builds -- only builds a ``Histogram`` of the feature densities that it never
logs. Anything else fails loudly rather than logging nowhere."""


class Histogram:
    """What SAELens builds for a log it does not send: the values, kept."""

    def __init__(self, sequence=None, **kwargs):
        self.sequence = sequence


def __getattr__(name):
    raise AttributeError(f"wandb.{name} was used on the device, where wandb is not installed and "
                         "scripts/device_site stands in for it: SAE training must run with log_to_wandb off")
