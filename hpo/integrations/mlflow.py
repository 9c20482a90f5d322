"""MLflow logging: ``study.optimize(callbacks=[MLflowCallback(tracking_uri)])``.

One MLflow run per trial, nested under one run for the study (tag ``mlflow.parentRunId``):
the trial's params, its value and numeric metrics, the learning curve as the metric
``intermediate`` by step, and its state (COMPLETE -> FINISHED, PRUNED -> KILLED, FAILED ->
FAILED with the reason as a tag). The study run gets ``best_value`` by trial number; it is
RUNNING while ``study.optimize`` runs and ends FINISHED when the workers finish, KILLED on
Ctrl-C / SIGTERM, FAILED when the run raised (``setup`` / ``teardown``, called once each by
``optimize``; a resumed study's run is RUNNING again). Workers started elsewhere
(``hpo worker``) log into it but leave its status alone.

It talks to MLflow through an explicit ``MlflowClient``, so it never touches the caller's
active run. ``study.optimize`` calls ``setup`` once before its workers start, so the
experiment and the study run exist before any worker looks for them. Workers started
elsewhere (``hpo worker`` on other machines) find them by name and tags; if two create
one at once, both keep the older and the newer is deleted, so there is one of each.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import TYPE_CHECKING, Any

from hpo.errors import ConfigError
from hpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpo.study import Study

__all__ = ["MLflowCallback"]

_STATUS = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "KILLED",
    TrialState.FAILED: "FAILED",
}
_MAX_BATCH = 1000  # MLflow's log_batch limit on metrics per call


class MLflowCallback:
    """A study callback that logs each finished trial as a nested MLflow run.

    Args:
        tracking_uri: where MLflow stores runs (``file:///path/mlruns``, ``sqlite:///mlflow.db``,
            ``http://server:5000``); None: MLflow's default (``MLFLOW_TRACKING_URI``).
        experiment_name: default: the study's name.
        metric_name: the name under which the trial's value is logged.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        experiment_name: str | None = None,
        metric_name: str = "value",
    ) -> None:
        try:
            import mlflow  # noqa: F401
        except ImportError as e:
            raise ConfigError(
                "MLflowCallback needs the 'mlflow' package (mlflow-skinny is enough), "
                "which is not installed. Install it with `pip install 'hpo[mlflow]'`."
            ) from e
        if not isinstance(metric_name, str) or not metric_name:
            raise ConfigError(
                f"The 'metric_name' parameter of MLflowCallback must be a non-empty str. "
                f"Got {metric_name!r} instead."
            )
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.metric_name = metric_name
        self._parents: dict[tuple[str, int], tuple[str, str]] = {}  # per process, not pickled state

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_parents": {}}

    def _client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def setup(self, study: Study) -> None:
        """Make the experiment and the study run now, in the process that starts the workers;
        a study run found from an earlier run (a resume) is marked RUNNING again."""
        client = self._client()
        _, run_id = self._study_run(client, study)
        if client.get_run(run_id).info.status != "RUNNING":
            client.update_run(run_id, status="RUNNING")

    def teardown(self, study: Study, error: BaseException | None = None) -> None:
        """End the study run once the workers have stopped: FINISHED after a clean run,
        KILLED after Ctrl-C / SIGTERM, FAILED when the run raised anything else."""
        from hpo.errors import WorkerInterrupted

        if error is None:
            status = "FINISHED"
        elif isinstance(error, (KeyboardInterrupt, WorkerInterrupted)):
            status = "KILLED"
        else:
            status = "FAILED"
        client = self._client()
        _, run_id = self._study_run(client, study)
        client.set_terminated(run_id, status=status)

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        from mlflow.entities import Metric, Param, RunTag

        client = self._client()
        experiment_id, parent = self._study_run(client, study)
        tags = {
            "mlflow.parentRunId": parent,
            "hpo.study": study.name,
            "hpo.trial": str(trial.number),
            "hpo.state": trial.state.value,
        }
        if trial.error:
            tags["hpo.error"] = trial.error[:5000]
        run = client.create_run(experiment_id, run_name=f"trial-{trial.number}", tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [
            Metric("intermediate", float(v), now, int(step))
            for step, v in sorted(trial.intermediate.items())
            if math.isfinite(v)
        ]
        if trial.value is not None and math.isfinite(trial.value):
            metrics.append(
                Metric(
                    self.metric_name, float(trial.value), now, max(trial.intermediate, default=0)
                )
            )
        for key, v in trial.metrics.items():
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v):
                metrics.append(Metric(str(key), float(v), now, 0))
        params = [Param(str(k), str(v)[:6000]) for k, v in trial.params.items()]
        for start in range(0, max(len(metrics), 1), _MAX_BATCH):
            client.log_batch(
                run_id,
                metrics=metrics[start : start + _MAX_BATCH],
                params=params if start == 0 else [],
                tags=[RunTag("hpo.worker", trial.worker_id or "")],
            )
        client.set_terminated(run_id, status=_STATUS.get(trial.state, "FINISHED"))
        if trial.state == TrialState.COMPLETE:
            try:
                client.log_metric(parent, "best_value", float(study.best_value), step=trial.number)
            except ValueError:
                pass

    def _study_run(self, client: Any, study: Study) -> tuple[str, str]:
        """(experiment id, study run id), made on first use and shared by every process."""
        key = (study.storage.url, study.id)
        if key not in self._parents:
            name = self.experiment_name or study.name
            experiment_id = self._find_or_create_experiment(client, name)
            self._parents[key] = (
                experiment_id,
                self._find_or_create_parent(client, experiment_id, study),
            )
        return self._parents[key]

    @staticmethod
    def _find_or_create_experiment(client: Any, name: str) -> str:
        """The experiment named ``name``; of two made at once, the older."""
        from mlflow.entities import ViewType

        def oldest() -> Any:
            named, token = [], None
            while True:  # names are matched here, not in a filter string a name could break
                page = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, page_token=token)
                named += [e for e in page if e.name == name]
                token = page.token
                if not token:
                    break
            age = lambda e: (e.creation_time or 0, str(e.experiment_id))  # noqa: E731
            return min(named, key=age, default=None)

        found = oldest()
        if found is not None:
            return str(found.experiment_id)
        try:
            mine = str(client.create_experiment(name))
        except Exception:  # noqa: BLE001 - a store that refuses duplicates: another made it
            found = oldest()
            if found is None:
                raise
            return str(found.experiment_id)
        chosen = oldest()
        if chosen is not None and str(chosen.experiment_id) != mine:
            client.delete_experiment(mine)  # lost a creation race: use the older one
            return str(chosen.experiment_id)
        return mine

    @staticmethod
    def _find_or_create_parent(client: Any, experiment_id: str, study: Study) -> str:
        query = f"tags.`hpo.role` = 'study' AND tags.`hpo.study_id` = '{study.id}'"

        def oldest() -> Any:
            runs = client.search_runs([experiment_id], filter_string=query, max_results=50)
            return min(runs, key=lambda r: (r.info.start_time, r.info.run_id)) if runs else None

        found = oldest()
        if found is not None:
            return str(found.info.run_id)
        mine = client.create_run(
            experiment_id,
            run_name=study.name,
            tags={
                "hpo.role": "study",
                "hpo.study": study.name,
                "hpo.study_id": str(study.id),
                "hpo.direction": study.direction,
            },
        )
        chosen = oldest()
        if chosen is not None and chosen.info.run_id != mine.info.run_id:
            client.delete_run(mine.info.run_id)  # lost a creation race: use the older one
            return str(chosen.info.run_id)
        return str(mine.info.run_id)
