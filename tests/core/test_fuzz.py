"""Property-based fuzz of the public API (issue 9): spaces, names, settings, results.

Every generated input either works or raises an ``hpo`` error (``HPOError``) that names
the field it is about, and after a refusal the database is exactly as it was. Examples
are bounded (a few dozen per property, no example database) so this runs in seconds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import hpo  # noqa: E402
from hpo.errors import HPOError  # noqa: E402
from hpo.execution.worker import evaluate  # noqa: E402
from hpo.settings import SETTING_NAMES  # noqa: E402
from hpo.space import Categorical, Float, Int  # noqa: E402
from hpo.storage import Storage  # noqa: E402

FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---------------------------------------------------------------- strategies
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5).map(np.int64),
    st.floats(-1e6, 1e6).map(np.float32),
    st.floats(-1e6, 1e6).map(np.array),
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=8),
    st.just(object()),
    st.just([1, 2]),
    st.just({"a": 1}),
    st.just(b"bytes"),
    st.just({1, 2}),
)
anything = st.one_of(numbers, junk)
json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.text(max_size=5), numbers, st.just(object())),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers(0, 3)), inner, max_size=3),
    ),
    max_leaves=6,
)
names = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,20}", fullmatch=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "../../x",
            "/abs",
            "victim/.",
            "..",
            "a\x00b",
            "a\nb",
            " x",
            "x" * 300,
            "ok-name",
            "étude 2",
            "a\\b",
        ]
    ),
    junk,
)


@st.composite
def params(draw: Any) -> Any:
    """Half the time a valid parameter, else one built from arbitrary arguments."""
    if draw(st.booleans()):
        return draw(
            st.one_of(
                st.builds(lambda lo, w: Float(lo, lo + w), st.floats(-10, 10), st.floats(0.1, 10)),
                st.builds(
                    lambda lo, w: Float(lo, lo + w, log=True),
                    st.floats(1e-4, 1),
                    st.floats(0.1, 10),
                ),
                st.builds(
                    lambda lo, n: Float(lo, lo + n * 0.5, step=0.5),
                    st.integers(-3, 3),
                    st.integers(1, 4),
                ),
                st.builds(lambda lo, w: Int(lo, lo + w), st.integers(-5, 5), st.integers(0, 5)),
                st.builds(
                    Categorical, st.lists(st.integers(-3, 3), min_size=1, max_size=4, unique=True)
                ),
            )
        )
    kind = draw(st.sampled_from(["float", "int", "cat", "junk"]))
    if kind == "float":
        return Float(
            draw(anything),
            draw(anything),
            log=draw(st.booleans()),
            step=draw(st.one_of(st.none(), numbers)),
        )
    if kind == "int":
        return Int(draw(anything), draw(anything), log=draw(st.booleans()))
    if kind == "cat":
        return Categorical(
            draw(st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=3)), max_size=4))
        )
    return draw(junk)


def build_space(draw: Any) -> tuple[dict[str, Any] | None, HPOError | None]:
    """A space, or the hpo error its construction raised (that is a refusal too)."""
    keys = draw(st.lists(st.text(min_size=1, max_size=6), min_size=0, max_size=2, unique=True))
    try:
        return {k: draw(params()) for k in keys}, None
    except HPOError as e:
        return None, e


@st.composite
def study_inputs(draw: Any) -> dict[str, Any]:
    space, error = build_space(draw)
    chosen = draw(st.lists(st.sampled_from(SETTING_NAMES), max_size=3, unique=True))
    valid = {
        "max_retries": st.integers(0, 5),
        "heartbeat_interval": st.floats(0.1, 10),
        "grace_period": st.floats(20, 100),
        "keep_weights": st.integers(0, 10),
        "artifacts": st.sampled_from([None, False]),
        "pruner": st.sampled_from(["none", "median", "asha"]),
    }
    kwargs: dict[str, Any] = {name: draw(st.one_of(valid[name], anything)) for name in chosen}
    for field, strategy in (
        ("seed", st.one_of(st.integers(0, 2**31 - 1), anything)),
        ("direction", st.sampled_from(["minimize", "maximize", "up", 3])),
        ("user_attrs", json_like),
        ("sampler", st.sampled_from(["grid", "random", "x"])),
    ):
        if draw(st.booleans()):
            kwargs[field] = draw(strategy)
    return {"name": draw(names), "space": space, "space_error": error, "kwargs": kwargs}


# ---------------------------------------------------------------- helpers
def objective(params: dict[str, Any], reporter: Any) -> float:
    return 0.0


def snapshot(url: str) -> tuple[Any, ...]:
    store = Storage(url)
    try:
        studies = store.study_names()
        trials = [
            (t.number, t.state.value, t.value)
            for s in studies
            for t in store.trials(store.get_study(s).id)
        ]
        return tuple(studies), tuple(trials)
    finally:
        store.dispose()


def names_a_field(error: BaseException, fields: set[str]) -> bool:
    message = str(error)
    return any(f"'{f}'" in message or f"{f}=" in message or f" {f} " in message for f in fields)


STUDY_FIELDS = {
    "name",
    "seed",
    "direction",
    "user_attrs",
    "load_if_exists",
    "settings",
    "sampler",
    "option(s)",
    "objective",
    *SETTING_NAMES,
}


@pytest.fixture(scope="module")
def fuzz_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("fuzz") / "hpo.db"
    return f"sqlite:///{path}"


# ---------------------------------------------------------------- properties
@FUZZ
@given(inputs=study_inputs())
def test_create_study_works_or_refuses_naming_the_field(
    fuzz_url: str, inputs: dict[str, Any]
) -> None:
    if inputs["space_error"] is not None:  # refused while building the space: names a parameter
        assert isinstance(inputs["space_error"], HPOError)
        event("refused: space")
        return
    before = snapshot(fuzz_url)
    space_fields = set(inputs["space"]) | {"space", "low", "high", "step", "log", "choices"}
    try:
        study = hpo.create_study(
            inputs["name"],
            storage=fuzz_url,
            space=inputs["space"],
            objective=objective,
            **inputs["kwargs"],
        )
    except HPOError as e:
        assert names_a_field(e, STUDY_FIELDS | space_fields), str(e)
        assert snapshot(fuzz_url) == before
        event(f"refused: {type(e).__name__}")
        return
    except Exception as e:  # noqa: BLE001 - anything else is the bug this test looks for
        pytest.fail(f"create_study raised {type(e).__name__}: {e} for {inputs!r}")
    event("created")
    try:
        assert study.name == inputs["name"]
        assert study.artifacts_root is None or study.artifacts_root.name.startswith(
            f"study-{study.id}-"
        )
        assert all(
            isinstance(v, (str, int, float, bool, list, dict, type(None)))
            for v in study.user_attrs.values()
        )
    finally:
        hpo.delete_study(study.name, storage=fuzz_url)


results = st.one_of(
    anything,
    st.builds(
        lambda v, m: {"value": v, **m},
        anything,
        st.dictionaries(
            st.text(min_size=1, max_size=4).filter(lambda k: k != "value"), json_like, max_size=3
        ),
    ),
)


@FUZZ
@given(result=results)
def test_an_objective_result_is_stored_or_fails_its_trial(fuzz_url: str, result: Any) -> None:
    study = hpo.create_study(
        "results", storage=fuzz_url, space={"x": Float(0, 1)}, seed=0, load_if_exists=True
    )
    trial = study.ask()
    outcome = evaluate(study, trial, lambda p, r: result)  # what a worker does, then stores
    study.storage.finish(
        outcome.trial_id,
        outcome.state,
        value=outcome.value,
        metrics=outcome.metrics,
        error=outcome.error,
    )
    state = outcome.state.value
    stored = study.trials[trial.number]
    event(state)
    assert stored.state.value == state and state in ("COMPLETE", "FAILED")  # never left RUNNING
    if state == "COMPLETE":
        assert isinstance(stored.value, float) and math.isfinite(stored.value)
    else:
        assert stored.error


@FUZZ
@given(
    value=st.one_of(st.none(), anything),
    metrics=st.one_of(st.none(), json_like),
    state=st.one_of(
        st.none(),
        st.sampled_from(["COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING", "bogus"]),
        junk,
    ),
)
def test_tell_works_or_refuses_and_leaves_the_trial_running(
    fuzz_url: str, value: Any, metrics: Any, state: Any
) -> None:
    study = hpo.create_study(
        "tell", storage=fuzz_url, space={"x": Float(0, 1)}, seed=0, load_if_exists=True
    )
    trial = study.ask()
    try:
        done = study.tell(trial, value, metrics=metrics, state=state)
    except HPOError as e:
        assert names_a_field(e, {"value", "metrics", "state", "trial", "tell"}), str(e)
        assert study.trials[trial.number].state.value == "RUNNING"
        study.tell(trial, state="FAILED")  # tidy up for the next example
        return
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"tell raised {type(e).__name__}: {e} for {(value, metrics, state)!r}")
    assert done.state.value in ("COMPLETE", "PRUNED", "FAILED")


@FUZZ
@given(x=anything, n=anything, attrs=st.one_of(st.none(), json_like))
def test_enqueue_works_or_refuses_writing_nothing(
    fuzz_url: str, x: Any, n: Any, attrs: Any
) -> None:
    study = hpo.create_study(
        "enqueue",
        storage=fuzz_url,
        space={"x": Float(0, 1), "n": Int(1, 3)},
        seed=0,
        load_if_exists=True,
    )
    before = snapshot(fuzz_url)
    try:
        study.enqueue({"x": x, "n": n}, user_attrs=attrs)
    except HPOError as e:
        assert names_a_field(e, {"x", "n", "params", "user_attrs", "enqueue(params)"}), str(e)
        assert snapshot(fuzz_url) == before
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"enqueue raised {type(e).__name__}: {e} for {(x, n, attrs)!r}")
