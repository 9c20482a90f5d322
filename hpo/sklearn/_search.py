"""HPOSearchCV: scikit-learn's search contract, with hpo's samplers, workers and storage.

``fit`` builds a study whose trials are candidates (one trial = every CV split of one
parameter set, :mod:`hpo.sklearn._objective`), runs it with ``n_jobs`` hpo worker
processes, then rebuilds ``cv_results_`` from the stored trials with scikit-learn's own
formatting, picks the best COMPLETE trial and refits. Because results are read back from
the storage, a search given ``storage=`` resumes where it stopped and its ``cv_results_``
hold every trial of the study, from every run.
"""

from __future__ import annotations

import copy
import numbers
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from joblib import effective_n_jobs
from joblib import hash as joblib_hash
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import _warn_or_raise_about_fit_failures
from sklearn.utils.validation import _check_method_params, indexable

from hpo.errors import ConfigError, StudyMismatchError
from hpo.sklearn._objective import CV_OUT, CVObjective, incremental_step, stored_out
from hpo.space import Categorical, SearchSpace
from hpo.storage import Storage
from hpo.trial import TrialState

__all__ = ["HPOSearchCV"]

_FINISHED = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED]
_STATE_ORDER = {
    TrialState.COMPLETE.value: 0,
    TrialState.PRUNED.value: 1,
    TrialState.FAILED.value: 2,
}


class HPOSearchCV(BaseSearchCV):
    """Hyperparameter search over any estimator with hpo's samplers (GP by default).

    A drop-in for ``GridSearchCV`` / ``RandomizedSearchCV``: same ``fit``, ``cv_results_``,
    ``best_params_``, ``best_score_``, ``best_index_``, ``best_estimator_``, ``refit``,
    ``predict``/``score``/``transform`` through the refitted estimator.

    Args:
        estimator: any scikit-learn estimator or Pipeline (``"mlp__alpha"`` names).
        space: parameter name -> :class:`hpo.space.Float` / ``Int`` / ``Categorical``; a list
            is taken as ``Categorical(list)``.
        sampler: ``"gp"``, ``"random"``, ``"grid"``, a config dict or an hpo Sampler.
        n_trials: finished (COMPLETE or PRUNED) candidates the study should hold: a total,
            so refitting a resumed search with the same ``n_trials`` runs nothing new.
        cv, scoring, refit, error_score, return_train_score, verbose: as in GridSearchCV.
            With several metrics, ``refit`` must name the one the search optimizes.
        n_jobs: hpo worker processes (None: 1, -1: one per core). Each trial runs its
            splits one after another in its worker.
        storage: an SQLAlchemy URL to keep the study in (resumable; several machines may
            join it with ``hpo worker``). None: a private temporary database.
        study_name: the study's name in ``storage`` (default ``"HPOSearchCV-<Estimator>"``).
        pruner: ``"median"``, ``"asha"`` or an hpo Pruner. With an estimator (or a
            Pipeline's last step) that has ``partial_fit``, trials then train epoch by epoch
            and hopeless ones are stopped; PRUNED trials appear in ``cv_results_`` with the
            scores they reached (``state`` column) and are never chosen as best.
        max_epochs: epochs of ``partial_fit`` per trial when pruning (default: the
            estimator's ``max_iter``, else 100).
        random_state: seeds the sampler and the trials (int, RandomState or None).

    Attributes:
        cv_results_: scikit-learn's format, one entry per finished trial in trial order,
            plus ``trial_number``, ``state`` and ``n_epochs``.
        study_: name and storage URL of the study (None when the storage was temporary).
    """

    def __init__(
        self,
        estimator: Any,
        space: Mapping[str, Any],
        *,
        sampler: Any = "gp",
        n_trials: int = 50,
        cv: Any = 5,
        scoring: Any = None,
        n_jobs: int | None = 1,
        refit: Any = True,
        storage: str | None = None,
        study_name: str | None = None,
        pruner: Any = None,
        max_epochs: int | None = None,
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.sampler = sampler
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.storage = storage
        self.study_name = study_name
        self.pruner = pruner
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.verbose = verbose

    # BaseSearchCV.fit calls _run_search; this class has its own fit (hpo runs the trials).
    def _run_search(self, evaluate_candidates: Any) -> None:  # pragma: no cover - unused
        raise NotImplementedError("HPOSearchCV.fit runs its trials through hpo, not _run_search")

    def fit(self, X: Any, y: Any = None, **params: Any) -> HPOSearchCV:
        """Run the search (or resume it) and refit the best candidate on all of X.

        Args:
            X: (n_samples, n_features) training data.
            y: targets, or None for unsupervised estimators.
            **params: fit parameters of the estimator (``sample_weight`` ...) and ``groups``
                for the CV splitter.

        Raises:
            ConfigError: a bad argument (named, with the offending value); nothing written.
            StudyMismatchError: resuming a stored study with other data, cv or scoring.
            ValueError: every fit failed (the first errors are in the message).
        """
        self._check_arguments()
        space = self._search_space()
        seed = self._seed()
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        base = clone(self.estimator)
        objective = CVObjective(
            base,
            X,
            y,
            splits,
            scorer=scorers,
            refit_metric=refit_metric,
            fit_params=routed.estimator.fit,
            score_params=routed.scorer.score,
            return_train_score=self.return_train_score,
            error_score=self.error_score,
            max_epochs=self._epochs(base),
        )
        fingerprint = joblib_hash(
            (
                X,
                y,
                [(tr, te) for tr, te in splits],
                base,
                repr(self.scoring),
                objective.max_epochs,
                self.return_train_score,
            )
        )
        trials = self._run_study(space, objective, seed, fingerprint)

        candidate_params = [t.params for t in trials]
        outs = [
            stored_out(o)
            for t in trials
            for o in _trial_outs(t, self.n_splits_, self.error_score, self.return_train_score)
        ]
        if self.error_score == "raise":  # a resumed study may hold failures of an earlier run
            failed = [t for t in trials if t.state == TrialState.FAILED]
            if failed:
                raise ValueError(
                    f"Trial {failed[0].number} failed (error_score='raise'): {failed[0].error}"
                )
        with warnings.catch_warnings():
            warnings.simplefilter("always", FitFailedWarning)
            _warn_or_raise_about_fit_failures(outs, self.error_score)
        more = {
            "trial_number": [t.number for t in trials],
            "state": [t.state.value for t in trials],
            "n_epochs": [len(t.intermediate) or None for t in trials],
        }
        results = self._format_results(candidate_params, self.n_splits_, outs, more)
        self.multimetric_ = isinstance(outs[0]["test_scores"], dict)
        _rank_by_state(results, [t.state.value for t in trials])

        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric, results))
            if not callable(self.refit):
                self.best_score_ = float(results[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
            started = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **routed.estimator.fit)
            else:
                self.best_estimator_.fit(X, **routed.estimator.fit)
            self.refit_time_ = time.time() - started
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self

    # ------------------------------------------------------------------ pieces of fit
    def _check_arguments(self) -> None:
        """scikit-learn's declarative checks, raised as hpo's ConfigError (a ValueError)."""
        n = self.n_trials
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ConfigError(
                f"The 'n_trials' parameter of HPOSearchCV must be an int >= 1. Got {n!r} instead."
            )
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool)
            or not isinstance(self.n_jobs, numbers.Integral)
            or self.n_jobs == 0
        ):
            raise ConfigError(
                f"The 'n_jobs' parameter of HPOSearchCV must be None, -1 or an int >= 1. "
                f"Got {self.n_jobs!r} instead."
            )
        if self.max_epochs is not None and (
            isinstance(self.max_epochs, bool)
            or not isinstance(self.max_epochs, numbers.Integral)
            or self.max_epochs < 1
        ):
            raise ConfigError(
                f"The 'max_epochs' parameter of HPOSearchCV must be None or an int >= 1. "
                f"Got {self.max_epochs!r} instead."
            )
        if self.storage is not None and not isinstance(self.storage, str):
            raise ConfigError(
                f"The 'storage' parameter of HPOSearchCV must be None or an SQLAlchemy URL. "
                f"Got {self.storage!r} instead."
            )
        if self.study_name is not None and (
            not isinstance(self.study_name, str) or not self.study_name.strip()
        ):
            raise ConfigError(
                f"The 'study_name' parameter of HPOSearchCV must be None or a non-empty str. "
                f"Got {self.study_name!r} instead."
            )
        if not (isinstance(self.error_score, numbers.Real) or self.error_score == "raise"):
            raise ConfigError(
                f"The 'error_score' parameter of HPOSearchCV must be a number or 'raise'. "
                f"Got {self.error_score!r} instead."
            )
        if not (isinstance(self.refit, (bool, str)) or callable(self.refit)):
            raise ConfigError(
                f"The 'refit' parameter of HPOSearchCV must be a bool, a metric name or a "
                f"callable. Got {self.refit!r} instead."
            )
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "get_params"):
            raise ConfigError(
                f"The 'estimator' parameter of HPOSearchCV must be a scikit-learn estimator. "
                f"Got {self.estimator!r} instead."
            )
        if (
            self.scoring is not None
            and not isinstance(self.scoring, (str, list, tuple, dict))
            and not callable(self.scoring)
        ):
            raise ConfigError(
                f"The 'scoring' parameter of HPOSearchCV must be None, a str, a callable, "
                f"a list or a dict. Got {self.scoring!r} instead."
            )
        if isinstance(self.scoring, (list, tuple, dict)) and not isinstance(self.refit, str):
            raise ConfigError(
                f"With several metrics (scoring={self.scoring!r}), the 'refit' parameter of "
                f"HPOSearchCV must name the metric to optimize. Got {self.refit!r} instead."
            )

    def _search_space(self) -> SearchSpace:
        """The space as an hpo SearchSpace; every name must be a parameter of the estimator."""
        if not isinstance(self.space, Mapping) or not self.space:
            raise ConfigError(
                f"The 'space' parameter of HPOSearchCV must be a non-empty dict of "
                f"name -> Float/Int/Categorical. Got {self.space!r} instead."
            )
        valid = self.estimator.get_params(deep=True)
        for name in self.space:
            if name not in valid:
                raise ConfigError(
                    f"The 'space' parameter of HPOSearchCV names {name!r}, which is not a "
                    f"parameter of {type(self.estimator).__name__}; valid names: "
                    f"{sorted(valid)[:30]}."
                )
        # copies: the space is a constructor argument, which fit must leave untouched
        return SearchSpace(
            {
                name: Categorical(p) if isinstance(p, (list, tuple)) else copy.deepcopy(p)
                for name, p in self.space.items()
            }
        )

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool)):
            return None if rs is None else int(rs) % (2**31)
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(2**31 - 1))
        raise ConfigError(
            f"The 'random_state' parameter of HPOSearchCV must be None, an int or a "
            f"RandomState. Got {rs!r} instead."
        )

    def _epochs(self, base: Any) -> int | None:
        """Epochs per trial when pruning applies (a pruner and a partial_fit estimator)."""
        if self.pruner in (None, "none"):
            return None
        step = incremental_step(base)
        if step is None:
            return None
        if self.max_epochs is not None:
            return int(self.max_epochs)
        max_iter = step.get_params().get("max_iter")
        if isinstance(max_iter, numbers.Integral) and int(max_iter) > 0:
            return int(max_iter)
        return 100

    def _run_study(
        self, space: SearchSpace, objective: CVObjective, seed: int | None, fingerprint: str
    ) -> list[Any]:
        """Create (or resume) the study, run it to ``n_trials``, return its finished trials."""
        import hpo

        n_workers = max(1, min(effective_n_jobs(self.n_jobs), self.n_trials))
        tmp = None
        url: str | Storage | None = self.storage
        if url is None:
            # A private temporary file, not "sqlite://": worker processes need a file to share,
            # and an in-memory database's one connection would be shared with the worker's
            # heartbeat thread. A Storage instance, not a URL, so no process-wide cache keeps it.
            tmp = tempfile.mkdtemp(prefix="hposearchcv-")
            url = Storage(f"sqlite:///{tmp}/search.db")
        name = self.study_name or f"HPOSearchCV-{type(self.estimator).__name__}"
        try:
            existing = (
                hpo.load_study(name, storage=url)
                if self.storage is not None and name in {s.name for s in hpo.list_studies(url)}
                else None
            )
            if existing is not None:
                stored = existing.user_attrs.get("searchcv_fingerprint")
                if stored != fingerprint:
                    raise StudyMismatchError(
                        f"Study {name!r} in {url!r} was run on other data, cv splits, scoring or "
                        f"base "
                        f"estimator (fingerprint {stored!r}, now {fingerprint!r}). Use another "
                        "study_name, or the same inputs to resume it."
                    )
            study = hpo.create_study(
                name,
                space=space,
                storage=url,
                objective=objective,
                direction="maximize",
                sampler=self.sampler,
                pruner=self.pruner,
                seed=seed,
                load_if_exists=True,
                user_attrs={"searchcv_fingerprint": fingerprint},
                artifacts=False,
            )
            callbacks = [objective.stop_on_failure] if self.error_score == "raise" else []
            study.optimize(
                self.n_trials,
                n_workers=n_workers,
                show_progress=self.verbose > 0,
                callbacks=callbacks,
            )
            trials = study.get_trials(_FINISHED, with_curves=True)
            self.study_ = {"name": name, "storage": self.storage} if self.storage else None
            return trials
        finally:
            if isinstance(url, Storage):
                url.dispose()
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)


def _trial_outs(trial: Any, n_splits: int, error_score: Any, train: bool) -> list[dict[str, Any]]:
    """A trial's stored per-split results; a FAILED trial (no results) scores error_score."""
    stored = trial.metrics.get(CV_OUT) or trial.user_attrs.get(CV_OUT)
    if stored:
        return list(stored)
    score = None if not isinstance(error_score, numbers.Real) else error_score
    out = {
        "test_scores": score,
        "fit_time": 0.0,
        "score_time": 0.0,
        "n_test_samples": 0,
        "fit_error": trial.error or f"trial {trial.number} {trial.state.value}",
    }
    if train:
        out["train_scores"] = score
    return [out] * n_splits


def _rank_by_state(results: dict[str, Any], states: list[str]) -> None:
    """Re-rank so COMPLETE candidates come first, then PRUNED (partial scores), then failed ones.

    Within a group, ranks follow scikit-learn (higher mean is better, ties share the lowest
    rank); a NaN mean counts as failed whatever the trial's state.
    """
    order = np.array([_STATE_ORDER[s] for s in states])
    for key in [k for k in results if k.startswith("rank_test_")]:
        mean = np.asarray(results["mean_test_" + key[len("rank_test_") :]], dtype=float)
        group = np.where(np.isnan(mean), 2, order)
        ranks = np.empty(len(states), dtype=np.int32)
        offset = 0
        for g in (0, 1, 2):
            idx = np.flatnonzero(group == g)
            if len(idx):
                ranks[idx] = offset + rankdata(-np.nan_to_num(mean[idx], nan=0.0), method="min")
                offset += len(idx)
        results[key] = ranks
