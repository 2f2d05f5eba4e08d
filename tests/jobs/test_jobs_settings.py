from pathlib import Path

import pytest
from pydantic import ValidationError

from jobs.settings import Settings, get_settings
from scripts import run_embedded


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
        ("allocator", "tcmalloc", "auto, system or the path of a malloc library"),
    ],
)
def test_bad_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


def test_auth_is_keys_by_default() -> None:
    settings = Settings(_env_file=None)
    assert (settings.auth, settings.tenant_max_queued, settings.tenant_max_active) == (
        "keys",
        20,
        50,
    )
    assert Settings(host="0.0.0.0").auth == "keys"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "api.example.org"])
def test_auth_off_is_refused_beyond_loopback(host: str) -> None:
    with pytest.raises(ValidationError, match=f"ADL_AUTH=off while listening on {host}") as refused:
        Settings(host=host, auth="off")
    assert "python -m jobs.admin keys create" in str(refused.value)
    assert "ADL_HOST=127.0.0.1" in str(refused.value)


def test_auth_off_beyond_loopback_is_refused_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADL_HOST", "0.0.0.0")
    monkeypatch.setenv("ADL_AUTH", "off")
    with pytest.raises(ValidationError, match="ADL_AUTH=off"):
        Settings()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_auth_off_is_allowed_on_loopback(host: str) -> None:
    settings = Settings(host=host, auth="off")
    assert (settings.auth, settings.on_loopback) == ("off", True)


def test_the_embedded_launcher_turns_auth_off_on_loopback_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADL_AUTH", "unset below")  # so the test's environment is restored after
    monkeypatch.delenv("ADL_AUTH")
    get_settings.cache_clear()
    assert run_embedded.embedded_settings().auth == "off"
    monkeypatch.delenv("ADL_AUTH")
    monkeypatch.setenv("ADL_HOST", "0.0.0.0")
    get_settings.cache_clear()
    assert run_embedded.embedded_settings().auth == "keys"
    monkeypatch.setenv("ADL_HOST", "127.0.0.1")
    monkeypatch.setenv("ADL_AUTH", "keys")
    get_settings.cache_clear()
    assert run_embedded.embedded_settings().auth == "keys"
    get_settings.cache_clear()


def test_worker_threads_leave_a_core_free_unless_set() -> None:
    assert Settings(torch_threads=3).worker_threads == 3
    assert Settings().worker_threads >= 1
