"""The concrete data set shipped in the package (models/data/concrete.csv; see its README)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.models.datasets import dataset_to_spec, load_dataset

DATA = Path(__file__).resolve().parents[2] / "models" / "data"


def test_concrete_is_yehs_1030_mixtures() -> None:
    ds = load_dataset("concrete")
    assert ds.X.shape == (1030, 8) and ds.task == "regression" and ds.n_test == 0
    assert ds.feature_names == [
        "cement",
        "blast_furnace_slag",
        "fly_ash",
        "water",
        "superplasticizer",
        "coarse_aggregate",
        "fine_aggregate",
        "age",
    ]
    # UCI's documented ranges, per column, then the target's (MPa)
    low = [102.0, 0.0, 0.0, 121.8, 0.0, 801.0, 594.0, 1.0]
    high = [540.0, 359.4, 200.1, 247.0, 32.2, 1145.0, 992.6, 365.0]
    np.testing.assert_allclose(ds.X.min(axis=0), low)
    np.testing.assert_allclose(ds.X.max(axis=0), high)
    assert (ds.y.min(), ds.y.max()) == (2.33, 82.6)
    # UCI's first rows
    np.testing.assert_allclose(ds.X[0], [540, 0, 0, 162, 2.5, 1040, 676, 28])
    np.testing.assert_allclose(ds.X[2], [332.5, 142.5, 0, 228, 0, 932, 594, 270])
    np.testing.assert_allclose(ds.y[[0, 1, 2, 3]], [79.99, 61.89, 40.27, 41.05])
    assert dataset_to_spec("concrete") == {"name": "concrete"}


def test_concrete_ships_with_its_source_and_licence() -> None:
    readme = (DATA / "README.md").read_text()
    for needle in ("Yeh", "1998", "UCI", "CC BY 4.0", "r-cran-modeldata"):
        assert needle in readme


def test_concrete_takes_no_options() -> None:
    with pytest.raises(ConfigError, match=r"'concrete' takes no options; got \['n_samples'\]"):
        load_dataset({"name": "concrete", "n_samples": 10})


def test_an_mlp_learns_concrete() -> None:
    from hpo.models.sklearn_mlp import SklearnMLPRegressorTrainer
    from hpo.objective import NullReporter

    result = SklearnMLPRegressorTrainer(max_epochs=30).fit(
        {"hidden_layer_sizes": (32,), "learning_rate_init": 0.01}, "concrete", NullReporter(seed=0)
    )
    assert result.value > 0.5 and result.metrics["test_r2"] > 0.5  # far better than the mean
