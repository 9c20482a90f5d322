"""bo_suite: --tag labels hpo runs, --load concatenates files, the report shows tagged rows."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

# imported by name: the benchmark scripts are not part of the type-checked code
bo_suite = importlib.import_module("benchmarks.bo_suite")


def test_tagged_runs_load_and_report_next_to_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--problems", "branin", "--seeds", "1", "--budget", "3", "--processes", "1"]
    plain, tagged = tmp_path / "plain.json", tmp_path / "tagged.json"
    bo_suite.main([*common, "--samplers", "hpo-ei,random", "--out", str(plain)])
    bo_suite.main([*common, "--samplers", "hpo-ei,random", "--tag", "@x", "--out", str(tagged)])
    names = [r["sampler"] for r in json.loads(tagged.read_text())]
    assert names == ["hpo-ei@x", "random"]  # only hpo-* runs carry the tag
    capsys.readouterr()
    bo_suite.main(["--load", f"{plain},{tagged}", "--budget", "3"])
    rows = [
        line.split("|")[1].strip()
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ")
    ]
    assert {"hpo-ei", "hpo-ei@x", "random"} <= set(rows)
