"""TensorBoard logging: ``study.optimize(callbacks=[TensorBoardCallback("runs")])``.

Writes TensorBoard event files with the ``tensorboard`` package alone (no TensorFlow, no
torch): one run per trial (``<log_dir>/<study>/trial-<number>``: the learning curve as
``intermediate`` by step, and ``value``), and one study run (``<log_dir>/<study>/study``:
``value`` and ``best_value`` by trial number). The study's folder is named as its
artifacts folder is (:func:`hpo.paths.study_folder`: id, slug, digest), never from the
raw name. Every worker process
writes its own event files, so parallel workers never share one.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo import paths
from hpo.errors import ConfigError
from hpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpo.study import Study

__all__ = ["TensorBoardCallback", "study_folder"]


def study_folder(study: Study) -> str:
    """``study-<id>-<slug>-<digest>``: safe as a folder name whatever the study is called."""
    return paths.study_folder(Path(), study.id, study.name, study.created_at).name


class TensorBoardCallback:
    """A study callback that writes scalars per trial for TensorBoard.

    Args:
        log_dir: the folder to point ``tensorboard --logdir`` at.
    """

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: F401
        except ImportError as e:
            raise ConfigError(
                "TensorBoardCallback needs the 'tensorboard' package, which is not "
                "installed. Install it with `pip install 'hpo[tensorboard]'`."
            ) from e
        self.log_dir = Path(log_dir)
        self._writers: dict[Path, Any] = {}  # this process's writer of each study run

    def __getstate__(self) -> dict[str, Any]:  # writers stay in the process that opened them
        return {**self.__dict__, "_writers": {}}

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        root = self.log_dir / study_folder(study)
        run = [(step, "intermediate", v) for step, v in sorted(trial.intermediate.items())]
        if trial.value is not None and math.isfinite(trial.value):
            run.append((max(trial.intermediate, default=0), "value", trial.value))
        writer = _writer(root / f"trial-{trial.number}")
        try:
            _add(writer, run)
        finally:
            writer.close()
        overview = []
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            overview.append((trial.number, "value", trial.value))
            try:
                overview.append((trial.number, "best_value", study.best_value))
            except ValueError:
                pass
        overview.append((trial.number, f"state/{trial.state.value.lower()}", 1.0))
        folder = root / "study"
        if folder not in self._writers:
            self._writers[folder] = _writer(folder)
        _add(self._writers[folder], overview)


def _writer(folder: Path) -> Any:
    """A new event file in ``folder`` (each process writes its own files)."""
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    return EventFileWriter(str(folder))


def _add(writer: Any, scalars: list[tuple[int, str, float]]) -> None:
    """Write ``(step, tag, value)`` scalars and flush them to disk."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    now = time.time()
    for step, tag, value in scalars:
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])
        writer.add_event(Event(wall_time=now, step=int(step), summary=summary))
    writer.flush()


def read_scalars(folder: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the event files of ``folder``: tag -> [(step, value)] (tests, notebooks)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return {
        tag: sorted((e.step, e.value) for e in acc.Scalars(tag)) for tag in acc.Tags()["scalars"]
    }
