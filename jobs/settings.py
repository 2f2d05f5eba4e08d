"""One Settings object, read from ADL_* environment variables once, validated at start-up.

The defaults are the embedded mode: a SQLite file, a folder broker and local folders under var/,
so `make run` needs no server. Production overrides them (see docker-compose.yml).
"""

import ipaddress
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobs.allocator import find_allocator

LOOPBACK_NAMES = {"localhost"}


class Settings(BaseSettings):
    # hide_input_in_errors: a refused URL must not reach the start-up log with its password
    model_config = SettingsConfigDict(
        env_prefix="ADL_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    database_url: str = "sqlite:///var/adl.sqlite3"
    broker_url: str = "filesystem://var/broker"
    queue: str = "searches"
    artifact_root: Path = Path("var/artifacts")
    data_root: Path = Path("var/data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # keys: every API call needs a tenant's API key (python -m jobs.admin keys create);
    # off: every caller is the tenant `local`, allowed only on a loopback address.
    auth: Literal["keys", "off"] = "keys"
    # Per-tenant quotas at submit (a tenant's own row may override them): searches waiting
    # (queued, paused) and searches not finished yet (waiting or held by a worker).
    tenant_max_queued: int = Field(default=20, ge=0)
    tenant_max_active: int = Field(default=50, ge=0)
    lease_seconds: int = Field(default=900, ge=10)
    max_attempts: int = Field(default=3, ge=1)
    visibility_timeout_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    progress_interval_seconds: float = Field(default=0.5, gt=0)
    cancel_check_seconds: float = Field(default=1.0, gt=0)
    event_poll_seconds: float = Field(default=0.5, gt=0)
    torch_threads: int = Field(default=0, ge=0)  # 0: all cores but one (see worker_threads)
    # The malloc that worker processes started here preload: auto (tcmalloc, else jemalloc,
    # where installed), system, or a library's path (see jobs/allocator.py)
    allocator: str = "auto"
    # A pause after every supernet step, on purpose: a tiny search lasts long enough to be
    # watched, paused or killed (tests, demos). 0 in production.
    step_delay_seconds: float = Field(default=0.0, ge=0, le=60)
    # The largest valid SearchSpec is about 1.2 KiB: the floor keeps every valid one in, and
    # a body near the cap is a mistake or an attack.
    max_body_bytes: int = Field(default=64 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)
    # Browser origins allowed to call the API (ADL_CORS_ORIGINS, JSON list or comma-separated);
    # empty: no CORS headers at all, only same-origin pages such as the dashboard.
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, url: str) -> str:
        """Accept the plain postgres:// spellings and pick the psycopg 3 driver for them."""
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        if not url.startswith(("postgresql+psycopg://", "sqlite://")):
            raise ValueError("ADL_DATABASE_URL must be a postgresql:// or sqlite:// URL")
        return url

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        if urlsplit(url).scheme not in ("redis", "rediss", "filesystem"):
            raise ValueError("ADL_BROKER_URL must be a redis://, rediss:// or filesystem:// URL")
        return url

    @field_validator("allocator")
    @classmethod
    def _allocator_choice(cls, choice: str) -> str:
        if choice != "auto":  # auto asks the dynamic linker: left to the worker's launch
            find_allocator(choice)  # a ValueError that names the choices
        return choice

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _plain_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(
                    f"ADL_CORS_ORIGINS: {origin!r} is not an origin like https://app.example.org"
                )
        return origins

    @model_validator(mode="after")
    def _refuse_open_unauthenticated(self) -> Self:
        """No escape hatch: a proxy in front does not make an open API safe to leave open."""
        if self.auth == "off" and not self.on_loopback:
            raise ValueError(
                f"ADL_AUTH=off while listening on {self.host}: anyone who reaches it could run "
                "searches. Either keep ADL_AUTH=keys (the default) and make a key with "
                "`python -m jobs.admin keys create --tenant NAME`, or listen on a loopback "
                "address only (ADL_HOST=127.0.0.1)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def on_loopback(self) -> bool:
        """The API listens on this machine only (127.0.0.1, ::1, localhost)."""
        return _is_loopback(self.host)

    @property
    def worker_threads(self) -> int:
        """CPU threads for torch. Leaving a core free matters: OpenMP threads spin-wait, and on a
        busy machine a thread per core made a tiny search 10x slower."""
        return self.torch_threads or max(1, (os.cpu_count() or 1) - 1)

    @property
    def broker_folder(self) -> Path | None:
        """The folder of a filesystem:// broker (the embedded mode), else None."""
        if not self.broker_url.startswith("filesystem://"):
            return None
        return Path(self.broker_url.removeprefix("filesystem://") or "var/broker")


def redacted(url: str) -> str:
    """The URL with its password replaced by ***, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings()
