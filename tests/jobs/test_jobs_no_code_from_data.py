"""Nothing read from a file or a message can run code: torch.load only with weights_only=True,
and Celery speaks JSON only."""

import ast
from pathlib import Path

import pytest

from jobs.queue import celery_config
from jobs.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SERIALIZER_KEYS = ("task_serializer", "result_serializer", "event_serializer")


def _torch_loads(folder: Path) -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and _is_torch_load(node.func):
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", node))
    return found


def _is_torch_load(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "load"
        and isinstance(func.value, ast.Name)
        and func.value.id == "torch"
    )


def _weights_only(call: ast.Call) -> bool:
    return any(
        keyword.arg == "weights_only"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is True
        for keyword in call.keywords
    )


def test_every_torch_load_is_weights_only() -> None:
    calls = [call for folder in ("nas_core", "worker") for call in _torch_loads(REPO / folder)]
    assert calls, "no torch.load found: has the checkpoint code moved?"
    assert [where for where, call in calls if not _weights_only(call)] == []


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_pickle_in_the_service() -> None:
    for folder in ("nas_core", "worker", "jobs", "api"):
        for path in (REPO / folder).rglob("*.py"):
            assert "pickle" not in _imported_modules(path), path


@pytest.mark.parametrize("broker_url", ["filesystem://var/broker", "redis://127.0.0.1:6379/0"])
def test_the_queue_client_speaks_json_only(broker_url: str) -> None:
    config = celery_config(Settings(broker_url=broker_url))
    assert [config[key] for key in SERIALIZER_KEYS] == ["json"] * 3
    assert config["accept_content"] == config["result_accept_content"] == ["json"]


def test_the_worker_accepts_json_only() -> None:
    from worker.celery_app import app  # the worker's own app, as `celery -A` loads it

    assert [app.conf[key] for key in SERIALIZER_KEYS] == ["json"] * 3
    assert list(app.conf.accept_content) == ["json"]
    assert list(app.conf.result_accept_content) == ["json"]
