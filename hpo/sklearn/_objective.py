"""The objective behind HPOSearchCV: one trial = one candidate scored on every CV split.

It runs in hpo's worker processes, so everything it needs (estimator, data, splits,
scorers) travels with it. Each trial stores scikit-learn's per-split results (the dicts
``_fit_and_score`` returns) in its metrics under ``cv_out``, which is how ``cv_results_``
is rebuilt from the database, also after a resume. NaN is stored as null (PostgreSQL's
JSON has no NaN).

With a pruner and an estimator (or a Pipeline's last step) that has ``partial_fit``, a
trial trains epoch by epoch on all folds at once and reports the mean validation score
after each epoch, so the study's pruner can stop it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection._validation import _fit_and_score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from hpo.errors import TrialPruned
from hpo.objective import Reporter, TrialResult
from hpo.trial import FrozenTrial, TrialState

CV_OUT = "cv_out"  # metrics key of a trial's per-split results


def to_json(value: Any) -> Any:
    """Scores and times as plain JSON: floats, NaN -> None, dicts for multi-metric scores."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, str):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json` (None -> NaN)."""
    if isinstance(value, Mapping):
        return {k: from_json(v) for k, v in value.items()}
    return np.nan if value is None else float(value)


def stored_out(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One stored split result back in ``_fit_and_score``'s shape."""
    out = {
        "test_scores": from_json(raw["test_scores"]),
        "fit_time": from_json(raw["fit_time"]),
        "score_time": from_json(raw["score_time"]),
        "n_test_samples": int(raw["n_test_samples"]),
        "fit_error": raw.get("fit_error"),
    }
    if "train_scores" in raw:
        out["train_scores"] = from_json(raw["train_scores"])
    return out


def refit_score(test_scores: Any, refit_metric: str) -> float:
    return float(test_scores[refit_metric] if isinstance(test_scores, Mapping) else test_scores)


def incremental_step(estimator: Any) -> Any:
    """The object that has ``partial_fit``: the estimator, or a Pipeline's last step; else None."""
    last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return last if hasattr(last, "partial_fit") else None


class CVObjective:
    """``objective(params, reporter)``: cross-validate ``estimator`` with ``params``.

    Args:
        estimator: the unfitted base estimator (cloned per split).
        X, y: the data, already made indexable.
        splits: (train indices, test indices) per split, fixed for the whole search.
        scorer: a scorer, or scikit-learn's multimetric scorer.
        refit_metric: the key of the score the study optimizes (``"score"`` for one metric).
        fit_params, score_params: passed to ``fit`` and to the scorer (split like X).
        return_train_score, error_score: as in scikit-learn's searches.
        max_epochs: epochs of ``partial_fit`` per trial when pruning; None: no epochs
            (one ``fit`` per split).
    """

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: Any,
        splits: Sequence[tuple[Any, Any]],
        *,
        scorer: Any,
        refit_metric: str,
        fit_params: Mapping[str, Any],
        score_params: Mapping[str, Any],
        return_train_score: bool,
        error_score: Any,
        max_epochs: int | None,
    ) -> None:
        self.estimator = estimator
        self.X, self.y = X, y
        self.splits = list(splits)
        self.scorer = scorer
        self.refit_metric = refit_metric
        self.fit_params = dict(fit_params)
        self.score_params = dict(score_params)
        self.return_train_score = return_train_score
        self.error_score = error_score
        self.max_epochs = max_epochs
        self.raised: BaseException | None = None

    def __call__(self, params: dict[str, Any], reporter: Reporter) -> TrialResult:
        try:
            return self._evaluate(params, reporter)
        except TrialPruned:
            raise
        except Exception as e:
            self.raised = e  # error_score='raise': re-raised as is by stop_on_failure
            raise

    def stop_on_failure(self, study: Any, trial: FrozenTrial) -> None:
        """A study callback for ``error_score='raise'``: the first failed fit ends the search."""
        if trial.state == TrialState.FAILED:
            raised, self.raised = self.raised, None
            raise raised if raised is not None else ValueError(trial.error)

    def _evaluate(self, params: dict[str, Any], reporter: Reporter) -> TrialResult:
        if self.max_epochs:
            outs = self._epochs(params, reporter)
        else:
            outs = [self._fit_and_score(params, train, test) for train, test in self.splits]
        errors = [o["fit_error"] for o in outs if o["fit_error"] is not None]
        value = float(np.mean([refit_score(o["test_scores"], self.refit_metric) for o in outs]))
        if not math.isfinite(value):  # a failed fit with error_score=nan: the trial FAILS
            raise ValueError(errors[0] if errors else f"mean test score is {value}")
        return TrialResult(value, {CV_OUT: [_out_json(o) for o in outs]})

    def _fit_and_score(self, params: dict[str, Any], train: Any, test: Any) -> dict[str, Any]:
        return _fit_and_score(
            clone(self.estimator),
            self.X,
            self.y,
            scorer=self.scorer,
            train=train,
            test=test,
            verbose=0,
            parameters=dict(params),
            fit_params=self.fit_params,
            score_params=self.score_params,
            return_train_score=self.return_train_score,
            return_n_test_samples=True,
            return_times=True,
            error_score=self.error_score,
        )

    # ------------------------------------------------------------- epochs (pruning)
    def _epochs(self, params: dict[str, Any], reporter: Reporter) -> list[dict[str, Any]]:
        """Train every split one ``partial_fit`` epoch at a time; report the mean score."""
        folds = [self._start_fold(params, train, test) for train, test in self.splits]
        outs: list[dict[str, Any]] = []
        for epoch in range(self.max_epochs or 0):
            outs = [self._epoch(fold, epoch) for fold in folds]
            mean = float(np.mean([refit_score(o["test_scores"], self.refit_metric) for o in outs]))
            if any(o["fit_error"] for o in outs) or not math.isfinite(mean):
                break
            try:
                reporter.report(epoch, mean)
            except TrialPruned:
                keep = getattr(reporter, "set_user_attr", None)
                if keep is not None:  # so cv_results_ can show what the pruned trial reached
                    keep(CV_OUT, [_out_json(o) for o in outs])
                raise
        return outs

    def _start_fold(self, params: dict[str, Any], train: Any, test: Any) -> dict[str, Any]:
        model = clone(self.estimator).set_params(**clone(params, safe=False))
        X_tr, y_tr = _safe_indexing(self.X, train), _safe_indexing(self.y, train)
        X_te, y_te = _safe_indexing(self.X, test), _safe_indexing(self.y, test)
        fold = {
            "model": model,
            "X_tr": X_tr,
            "y_tr": y_tr,
            "X_te": X_te,
            "y_te": y_te,
            "X_fit": X_tr,
            "fit_time": 0.0,
            "error": None,
        }
        started = time.perf_counter()
        try:
            if isinstance(model, Pipeline) and len(model.steps) > 1:
                fold["X_fit"] = model[:-1].fit_transform(X_tr, y_tr)  # preprocessing once
        except Exception as e:  # noqa: BLE001 - scored as error_score, like a failed fit
            fold["error"] = _error_text(e)
        fold["fit_time"] += time.perf_counter() - started
        return fold

    def _epoch(self, fold: dict[str, Any], epoch: int) -> dict[str, Any]:
        model = fold["model"]
        step = incremental_step(model)
        n_test = len(fold["y_te"]) if fold["y_te"] is not None else len(fold["X_te"])
        if fold["error"] is None:
            started = time.perf_counter()
            try:
                kwargs = {}
                if epoch == 0 and is_classifier(step):
                    kwargs["classes"] = np.unique(self.y)
                step.partial_fit(fold["X_fit"], fold["y_tr"], **kwargs)
            except Exception as e:  # noqa: BLE001
                fold["error"] = _error_text(e)
            fold["fit_time"] += time.perf_counter() - started
        if fold["error"] is not None:
            if self.error_score == "raise":
                raise ValueError(fold["error"])
            fail = self._fail_scores()
            failed = {
                "test_scores": fail,
                "fit_time": fold["fit_time"],
                "score_time": 0.0,
                "n_test_samples": n_test,
                "fit_error": fold["error"],
            }
            return {**failed, "train_scores": fail} if self.return_train_score else failed
        started = time.perf_counter()
        test = self.scorer(model, fold["X_te"], fold["y_te"], **self.score_params)
        score_time = time.perf_counter() - started
        out = {
            "test_scores": test,
            "fit_time": fold["fit_time"],
            "score_time": score_time,
            "n_test_samples": n_test,
            "fit_error": None,
        }
        if self.return_train_score:
            out["train_scores"] = self.scorer(
                model, fold["X_tr"], fold["y_tr"], **self.score_params
            )
        return out

    def _fail_scores(self) -> Any:
        names = getattr(self.scorer, "_scorers", None)
        return (
            {n: self.error_score for n in names} if isinstance(names, Mapping) else self.error_score
        )


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _out_json(out: Mapping[str, Any]) -> dict[str, Any]:
    stored = {
        "test_scores": to_json(out["test_scores"]),
        "fit_time": to_json(out["fit_time"]),
        "score_time": to_json(out["score_time"]),
        "n_test_samples": int(out["n_test_samples"]),
        "fit_error": out.get("fit_error"),
    }
    if "train_scores" in out:
        stored["train_scores"] = to_json(out["train_scores"])
    return stored
