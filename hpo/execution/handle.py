"""The narrow view of a study that execution works from, so execution never imports ``hpo.study``.

``hpo.study.Study`` satisfies :class:`StudyHandle`; the worker loop, the reporter a trial
sees, the progress bar and the runners are written against this protocol. Study depends
on execution (``optimize`` runs workers), never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hpo.pruning import Pruner
    from hpo.samplers.base import Sampler
    from hpo.space import SearchSpace
    from hpo.storage import Storage


class StudyHandle(Protocol):
    """What a worker needs of a study: where it is stored, how to propose, what to run."""

    storage: Storage
    space: SearchSpace
    sampler: Sampler
    pruner: Pruner
    objective: Callable[..., Any] | None

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def direction(self) -> str: ...

    @property
    def seed(self) -> int: ...

    @property
    def settings(self) -> Mapping[str, Any]: ...  # a StudySettings

    @property
    def artifacts_root(self) -> Path | None: ...

    def opener(self) -> Callable[[], StudyHandle]:
        """A picklable callable that reopens this study (by name, from its storage URL) in
        another process or on another machine: what a remote worker runs first."""
        ...


__all__ = ["StudyHandle"]
