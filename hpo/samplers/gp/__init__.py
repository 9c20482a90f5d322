"""Gaussian-process Bayesian optimization: model, acquisitions, their optimizer, the sampler.

``model`` (GP posterior and hyperparameter fit), ``acquisition`` (EI/log-EI, UCB, PI),
``optimize`` (maximizing any score over a mixed unit cube) and ``sampler`` (the glue).
The sampler is imported lazily by :mod:`hpo.samplers` because it pulls in scipy.optimize.
"""
