"""One Settings object, read from ADL_* environment variables once, validated at start-up.

The defaults are the embedded mode: a SQLite file, a folder broker and local folders under var/,
so `make run` needs no server. Production overrides them (see docker-compose.yml).
"""

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_NAMES = {"localhost"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADL_", frozen=True, extra="ignore")

    database_url: str = "sqlite:///var/adl.sqlite3"
    broker_url: str = "filesystem://var/broker"
    queue: str = "searches"
    artifact_root: Path = Path("var/artifacts")
    data_root: Path = Path("var/data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_token: SecretStr | None = None
    allow_unauthenticated: bool = False
    lease_seconds: int = Field(default=900, ge=10)
    max_attempts: int = Field(default=3, ge=1)
    visibility_timeout_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    progress_interval_seconds: float = Field(default=0.5, gt=0)
    cancel_check_seconds: float = Field(default=1.0, gt=0)
    event_poll_seconds: float = Field(default=0.5, gt=0)
    torch_threads: int = Field(default=0, ge=0)  # 0: all cores but one (see worker_threads)

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

    @model_validator(mode="after")
    def _refuse_open_unauthenticated(self) -> Self:
        open_to_others = not _is_loopback(self.host)
        if open_to_others and self.api_token is None and not self.allow_unauthenticated:
            raise ValueError(
                f"listening on {self.host} without authentication: set ADL_API_TOKEN, "
                "or ADL_HOST=127.0.0.1, or ADL_ALLOW_UNAUTHENTICATED=true behind your own proxy"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

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
