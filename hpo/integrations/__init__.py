"""Front doors to other tools, each an optional dependency imported on first use.

- :mod:`hpo.integrations.optuna`: hpo's GP as an Optuna sampler.
- :mod:`hpo.integrations.optuna_io`: import Optuna studies into hpo, export hpo studies to Optuna.
- :mod:`hpo.integrations.mlflow`, :mod:`hpo.integrations.tensorboard`: logging callbacks
  for ``Study.optimize(callbacks=[...])``.
"""
