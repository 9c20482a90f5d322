"""A command's start-up without the cyclic garbage collector, then its imports frozen.

Starting ``hpo run`` on a scikit-learn study imports SQLAlchemy, scikit-learn, SciPy and
pandas: about 170,000 long-lived objects. Every 700 new objects the collector runs; on the
demo (``studies/digits_mlp.py``) that was about 450 collections during start-up, 3 of them
full passes over everything imported, 0.2 s of CPU (over 10% of the command's own start)
spent finding almost no garbage: modules, classes and functions live until the process
ends.

:class:`StartupGC` turns the collector off while the command starts (imports the study
file, builds the study), then :meth:`~StartupGC.started` freezes what start-up built
(``gc.freeze``: later collections skip those objects, so the first one does not pay for
all of start-up at once, and worker processes forked afterwards inherit them frozen,
which is what the ``gc.freeze`` documentation recommends before a fork) and turns the
collector back on for the run itself. On leaving, the frozen objects are handed back to
the collector (``gc.unfreeze``), so a caller in the same process, a test calling the
command in-process, finds the collector as it was.
"""

from __future__ import annotations

import gc
from types import TracebackType

__all__ = ["StartupGC"]


class StartupGC:
    """``with StartupGC() as startup: <start up>; startup.started(); <run>``.

    Leaving the block (normally or by an exception) restores the collector's state:
    enabled if it was, and nothing left frozen that this block froze.
    """

    def __init__(self) -> None:
        self._was_enabled = gc.isenabled()
        self._was_frozen = gc.get_freeze_count() > 0
        self._started = False

    def __enter__(self) -> StartupGC:
        gc.disable()
        return self

    def started(self) -> None:
        """Start-up is over: freeze what it built and turn the collector back on."""
        if self._started:
            return
        self._started = True
        gc.freeze()
        if self._was_enabled:
            gc.enable()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.started()
        if not self._was_frozen:  # someone else's freeze (e.g. an embedding program's) stays
            gc.unfreeze()
