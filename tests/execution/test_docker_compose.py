"""docker/compose.yaml: every hpo command in it parses with the real CLI (nothing is run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # the dev extra has PyYAML: a missing one must fail, not skip

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
PG = "postgresql://postgres@postgres/hpo"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def hpo_command():
    import typer

    from hpo import cli  # an import error here is a failure, never a skip

    return typer.main.get_command(cli.app)


def _parse(group, argv: list[str]):
    """Parse ``hpo ARGV`` as the CLI would, without invoking anything; returns the params."""
    name, *rest = argv
    parent = group.make_context("hpo", [name], resilient_parsing=False)
    sub = group.get_command(parent, name)
    assert sub is not None, f"hpo has no command {name!r}"
    return name, sub.make_context(name, rest, parent=parent).params


def test_every_hpo_service_runs_a_valid_cli_command(compose, hpo_command):
    hpo_services = {n: s for n, s in compose["services"].items() if s.get("image") == "hpo:latest"}
    assert set(hpo_services) == {"create", "worker", "leaderboard"}
    parsed = {n: _parse(hpo_command, s["command"]) for n, s in hpo_services.items()}

    name, params = parsed["create"]
    assert name == "run" and params["trials"] >= 1 and params["storage"] == PG
    assert (ROOT / params["study_file"]).is_file()
    assert '"digits-mlp"' in (ROOT / params["study_file"]).read_text()  # the name workers join

    name, params = parsed["worker"]
    assert (name, params["study"], params["storage"], params["trials"]) == (
        "worker",
        "digits-mlp",
        PG,
        40,
    )
    assert compose["services"]["worker"]["deploy"]["replicas"] >= 2
    assert parsed["leaderboard"][0] == "leaderboard"
    assert parsed["leaderboard"][1]["study"] == "digits-mlp"


def test_services_start_in_order_against_the_compose_database(compose):
    services = compose["services"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == PG.rsplit("/", 1)[1]
    assert services["create"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (
        services["worker"]["depends_on"]["create"]["condition"] == "service_completed_successfully"
    )
    assert (
        services["leaderboard"]["depends_on"]["worker"]["condition"]
        == "service_completed_successfully"
    )
    for name in ("create", "worker", "leaderboard"):
        assert services[name]["environment"]["HPO_STORAGE"] == PG
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"


def test_dockerfile_installs_cpu_torch_with_the_constraints():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "--index-url https://download.pytorch.org/whl/cpu -c constraints.txt torch" in text
    assert 'ENTRYPOINT ["hpo"]' in text
    assert "torch==" in (ROOT / "constraints.txt").read_text()


def test_postgres_needs_a_password_that_lives_outside_the_file(compose):
    """Issue 9: no trust auth; the password is a secret from the environment, never in a URL."""
    services = compose["services"]
    postgres = services["postgres"]
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres["environment"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/pg_password"
    assert compose["secrets"]["pg_password"] == {"environment": "HPO_PG_PASSWORD"}
    for name in ("postgres", "create", "worker", "leaderboard"):
        assert "pg_password" in services[name]["secrets"]
    for name in ("create", "worker", "leaderboard"):
        entry = services[name]["entrypoint"]
        assert entry[:2] == ["sh", "-c"] and "PGPASSWORD" in entry[2] and "exec hpo" in entry[2]
        assert ":" not in services[name]["environment"]["HPO_STORAGE"].split("@")[0].split("//")[1]
    assert "HPO_PG_PASSWORD=" in (ROOT / "docker" / ".env.example").read_text()
