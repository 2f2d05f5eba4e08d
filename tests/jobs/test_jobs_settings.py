from pathlib import Path

import pytest
from pydantic import ValidationError

from jobs.settings import Settings


def test_defaults_are_the_embedded_mode() -> None:
    settings = Settings(_env_file=None)
    assert settings.is_sqlite
    assert settings.broker_folder == Path("var/broker")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_read_from_adl_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADL_PORT", "9001")
    monkeypatch.setenv("ADL_DATA_ROOT", "/datasets")
    settings = Settings()
    assert settings.port == 9001
    assert settings.data_root == Path("/datasets")


@pytest.mark.parametrize("url", ["postgres://u@db/adl", "postgresql://u@db/adl"])
def test_postgres_urls_use_psycopg3(url: str) -> None:
    assert Settings(database_url=url).database_url == "postgresql+psycopg://u@db/adl"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://db/adl", "postgresql:// or sqlite://"),
        ("broker_url", "amqp://rabbit", "redis://"),
        ("port", 0, "greater than or equal to 1"),
    ],
)
def test_bad_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


def test_listening_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ValidationError, match="set ADL_API_TOKEN"):
        Settings(host="0.0.0.0")
    assert Settings(host="0.0.0.0", api_token="s3cret").api_token is not None
    assert Settings(host="0.0.0.0", allow_unauthenticated=True).host == "0.0.0.0"
    assert Settings(host="::1").host == "::1"


def test_worker_threads_leave_a_core_free_unless_set() -> None:
    assert Settings(torch_threads=3).worker_threads == 3
    assert Settings().worker_threads >= 1
