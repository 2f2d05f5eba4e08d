"""The settings added for hardening: CORS origins, the body cap, and URLs kept out of logs."""

import json

import pytest
from pydantic import ValidationError

from jobs.settings import Settings, redacted
from jobs.spec import SearchSpec

PASSWORD = "s3cret-pw"
SMALLEST_CAP = 16 * 1024


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql+psycopg://adl:{PASSWORD}@db:5432/adl",
            "postgresql+psycopg://adl:***@db:5432/adl",
        ),
        (f"redis://:{PASSWORD}@redis:6379/0", "redis://:***@redis:6379/0"),
        ("postgresql+psycopg://adl@db/adl", "postgresql+psycopg://adl@db/adl"),
        ("sqlite:///var/adl.sqlite3", "sqlite:///var/adl.sqlite3"),
    ],
)
def test_redacted_hides_only_the_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_a_refused_url_is_not_echoed_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(database_url=f"mysql://adl:{PASSWORD}@db/adl")
    assert "postgresql:// or sqlite://" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_cors_is_off_by_default() -> None:
    assert Settings(_env_file=None).cors_origins == []


@pytest.mark.parametrize(
    "value",
    ['["https://a.example", "http://localhost:3000"]', "https://a.example, http://localhost:3000"],
)
def test_cors_origins_are_a_json_list_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ADL_CORS_ORIGINS", value)
    assert Settings().cors_origins == ["https://a.example", "http://localhost:3000"]


@pytest.mark.parametrize("origin", ["*", "a.example", "https://a.example/app", "ftp://a.example"])
def test_only_plain_origins_are_accepted(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins=[origin])


def test_the_smallest_body_cap_leaves_room_for_any_valid_spec() -> None:
    assert Settings(_env_file=None).max_body_bytes == 64 * 1024
    Settings(max_body_bytes=SMALLEST_CAP)
    with pytest.raises(ValidationError, match="max_body_bytes"):
        Settings(max_body_bytes=SMALLEST_CAP - 1)
    largest = SearchSpec().model_dump(mode="json")
    largest["dataset"]["name"] = "x" * 255
    largest["training"].update(val_batches=100_000, seed=2**31 - 1)
    assert len(json.dumps(largest, indent=8)) < SMALLEST_CAP / 4
