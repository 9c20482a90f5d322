"""Writing whole trials at once: what an import from another tool needs.

Normal trials are born RUNNING through the claim protocol; an imported trial already has
its final state, value, curve and timestamps. :func:`add_trials` appends such trials to
a study in one transaction, under the study-row lock the claim protocol uses, so it is
safe even while workers run (numbers continue from the study's counter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hpo.storage.schema import IntermediateRow, StudyRow, TrialRow
from hpo.trial import FrozenTrial

if TYPE_CHECKING:
    from hpo.storage.storage import Storage


def add_trials(
    storage: Storage,
    study_id: int,
    trials: Sequence[FrozenTrial],
    bracket_of: Callable[[int], int | None] | None = None,
) -> list[int]:
    """Append ``trials`` (any state) to a study; returns the numbers they were given.

    Each trial keeps its params, value, metrics, user attrs, error, timestamps and learning
    curve; numbers follow the study's counter in the order given (``trial.number`` is
    ignored), so an import into a fresh study keeps the source's numbering. Each curve
    point carries ``bracket_of(number)``, the study pruner's ``bracket_of`` (schema 5).
    """

    def fn(session: Session) -> list[int]:
        first = storage._lock_study(session, study_id)
        numbers = []
        for k, t in enumerate(trials):
            row = TrialRow(
                study_id=study_id,
                number=first + k,
                state=t.state.value,
                params=dict(t.params),
                value=t.value,
                metrics=dict(t.metrics),
                user_attrs=dict(t.user_attrs),
                started_at=t.started_at,
                finished_at=t.finished_at,
                heartbeat_at=None,
                worker_id=t.worker_id,
                error=t.error,
                retry_of=None,
                grid_id=None,
            )
            session.add(row)
            session.flush()
            bracket = bracket_of(row.number) if bracket_of is not None else None
            session.add_all(
                IntermediateRow(
                    trial_id=row.id,
                    study_id=study_id,
                    step=int(step),
                    value=float(v),
                    bracket=bracket,
                )
                for step, v in sorted(t.intermediate.items())
            )
            numbers.append(first + k)
        study = session.get(StudyRow, study_id)
        assert study is not None
        study.next_number = first + len(trials)
        return numbers

    return storage.tx.run(fn)
