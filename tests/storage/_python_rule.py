"""The check both SQL pruning paths share: a finished one-worker study pruned exactly where
the pruner's Python rule, replayed on the stored curves, says it should have."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from hpo.trial import FrozenTrial, TrialState

Rule = Callable[[int, int, Mapping[int, float], Mapping[int, Mapping[int, float]]], bool]
"""``rule(number, step, curve so far, peers' curves) -> prune?``"""


def assert_pruned_as_python_rule(trials: Sequence[FrozenTrial], rule: Rule) -> None:
    """With one worker each trial's peers were the trials before it: replay the rule on them."""
    trials = sorted(trials, key=lambda t: t.number)
    assert any(t.state == TrialState.PRUNED for t in trials)
    for t in trials:
        before = {p.number: p.intermediate for p in trials if p.number < t.number}
        stopped = None
        for step in sorted(t.intermediate):
            curve = {s: v for s, v in t.intermediate.items() if s <= step}
            if rule(t.number, step, curve, before):
                stopped = step
                break
        assert (t.state == TrialState.PRUNED) == (stopped is not None), t
