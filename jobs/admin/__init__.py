"""Tenants and their API keys, administered from a shell: `python -m jobs.admin` (see cli.py).

Each function here is one unit of work on the database; the command line and the tests call
the same ones, so a key made for a test is made exactly as an operator makes one.
"""

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from jobs import keys, tenants
from jobs.db import session_factory, unit_of_work
from jobs.migrate import upgrade
from jobs.models import ApiKey, Tenant
from jobs.settings import Settings

Sessions = sessionmaker[Session]


def migrated_sessions(settings: Settings) -> Sessions:
    """Sessions on the settings' database, migrated first: the admin may run before the
    service ever has (e.g. to make the first key)."""
    if settings.is_sqlite:  # the folder of a first database file may not exist yet
        database_file = Path(settings.database_url.removeprefix("sqlite:///"))
        database_file.parent.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    return session_factory(settings.database_url)


def create_tenant(
    sessions: Sessions, name: str, max_queued: int | None = None, max_active: int | None = None
) -> Tenant:
    with unit_of_work(sessions) as session:
        return tenants.create_tenant(session, name, max_queued, max_active)


def list_tenants(sessions: Sessions) -> list[Tenant]:
    with unit_of_work(sessions) as session:
        return tenants.list_tenants(session)


def set_quota(sessions: Sessions, name: str, limits: dict[str, int | None]) -> Tenant:
    with unit_of_work(sessions) as session:
        return tenants.set_quota(session, name, limits)


def create_key(sessions: Sessions, tenant: str, label: str | None = None) -> keys.NewKey:
    with unit_of_work(sessions) as session:
        return keys.create_key(session, tenant, label)


def list_keys(sessions: Sessions, tenant: str | None = None) -> list[ApiKey]:
    with unit_of_work(sessions) as session:
        return keys.list_keys(session, tenant)


def revoke_key(sessions: Sessions, prefix_or_id: str) -> ApiKey:
    with unit_of_work(sessions) as session:
        return keys.revoke_key(session, prefix_or_id)
