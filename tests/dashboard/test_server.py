"""``hpo dashboard`` as a process: what it says on start, what it refuses, what it never imports."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.conftest import ROOT, _env
from tests.dashboard.test_queries import make_study


def test_serves_on_loopback_and_says_so(tmp_path: Path, dashboard_server) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    make_study(url, "served", n=6)
    server = dashboard_server(url)
    with urllib.request.urlopen(server.base + "/api/studies") as answer:
        assert b'"served"' in answer.read()
    request = urllib.request.Request(server.base + "/api/studies", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:  # no route accepts a write
        urllib.request.urlopen(request)
    assert info.value.code == 405
    with urllib.request.urlopen(server.base + "/assets/plotly.min.js") as answer:
        assert b"plotly.js" in answer.read(200)
    printed = server.close()
    assert "read-only" in printed
    assert "Bound to 127.0.0.1: only this machine can connect" in printed


def test_missing_database_is_an_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    result = subprocess.run(
        [sys.executable, "-m", "hpo", "dashboard", "--storage", f"sqlite:///{missing}"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr and not missing.exists()


def test_never_imports_study_or_worker_code(tmp_path: Path) -> None:
    """Every route answered, and no study, model, execution or study-file module was loaded."""
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = make_study(url, "imports", n=10)
    script = f"""
import sys
from starlette.testclient import TestClient
from hpo.dashboard.app import create_app
client = TestClient(create_app({url!r}))
sid = {study.id}
for path in ["/", "/api/studies", f"/api/studies/{{sid}}", f"/api/studies/{{sid}}/trials",
             f"/api/studies/{{sid}}/trials/0", f"/api/studies/{{sid}}/history",
             f"/api/studies/{{sid}}/curves", f"/api/studies/{{sid}}/parallel",
             f"/api/studies/{{sid}}/importance", f"/api/studies/{{sid}}/slice?x=lr&y=layers",
             f"/api/studies/{{sid}}/workers", f"/api/compare?ids={{sid}}"]:
    assert client.get(path).status_code == 200, path
loaded = sorted(m for m in sys.modules if m.startswith(("hpo.study", "hpo.models", "hpo.execution",
                                                        "hpo.cli", "hpo.samplers", "tests")))
print(loaded)
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
