"""Tenants and their quotas. A tenant is who searches are for: each search, API key and
idempotency key belongs to one, and a tenant sees only its own searches."""

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import repository
from jobs.errors import (
    InvalidRequestError,
    QuotaExceededError,
    TenantExistsError,
    UnknownTenantError,
)
from jobs.models import Tenant
from jobs.states import State

LOCAL = "local"  # the tenant of every caller when ADL_AUTH=off, and of searches made before keys
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
WAITING = frozenset({State.QUEUED, State.PAUSED})
# every state but the terminal ones: a search that will still take (or holds) a worker
ACTIVE = WAITING | {State.RUNNING, State.PAUSING, State.CANCELLING}


@dataclass(frozen=True)
class Quota:
    max_queued: int
    max_active: int


def create_tenant(
    session: Session, name: str, max_queued: int | None = None, max_active: int | None = None
) -> Tenant:
    if NAME.fullmatch(name) is None:
        raise InvalidRequestError(
            f"tenant name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if session.get(Tenant, name) is not None:
        raise TenantExistsError(f"tenant {name!r} exists already")
    tenant = Tenant(name=name, max_queued=max_queued, max_active=max_active)
    session.add(tenant)
    session.flush()
    return tenant


def ensure_tenant(session: Session, name: str) -> Tenant:
    """The tenant, created when missing (the `local` tenant of ADL_AUTH=off). A concurrent
    request may create it first: the savepoint keeps this transaction usable then."""
    tenant = session.get(Tenant, name)
    if tenant is not None:
        return tenant
    try:
        with session.begin_nested():
            session.add(Tenant(name=name))
    except IntegrityError:
        pass  # created meanwhile by a concurrent request: read it below
    return get_tenant(session, name)


def get_tenant(session: Session, name: str, *, lock: bool = False) -> Tenant:
    """The row; `lock` serialises one tenant's submissions (a no-op on SQLite, where every
    transaction holds the write lock anyway)."""
    query = select(Tenant).where(Tenant.name == name)
    tenant = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if tenant is None:
        raise UnknownTenantError(
            f"no tenant {name!r}: create it with `python -m jobs.admin tenants create {name}`"
        )
    return tenant


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.name)))


def set_quota(session: Session, name: str, limits: dict[str, int | None]) -> Tenant:
    """Override the service-wide quotas for one tenant: `limits` maps max_queued and/or
    max_active to a number, or to None for the default again; a limit not named is kept."""
    tenant = get_tenant(session, name)
    for field, value in limits.items():
        if field not in ("max_queued", "max_active"):
            raise ValueError(f"not a quota: {field}")
        setattr(tenant, field, value)
    session.flush()
    return tenant


def check_quota(session: Session, tenant: Tenant, default: Quota) -> None:
    """QuotaExceededError when one more search would take the tenant over either limit."""
    limits = (
        ("queued or paused", WAITING, _pick(tenant.max_queued, default.max_queued)),
        ("not finished", ACTIVE, _pick(tenant.max_active, default.max_active)),
    )
    for what, states, limit in limits:
        count = repository.count_searches(session, tenant.name, states)
        if count >= limit:
            raise QuotaExceededError(
                f"tenant {tenant.name!r} has {count} searches {what}, its limit is {limit}: "
                "wait for one to finish or cancel one, then submit again"
            )


def _pick(override: int | None, default: int) -> int:
    return default if override is None else override
