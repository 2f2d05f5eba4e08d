"""API keys: random secrets shown once at creation and stored only as their sha256.

A key looks like `adl_<43 url-safe characters>`; its first PREFIX_CHARS characters are its
public name in listings and for `keys revoke`. A plain (fast) hash is enough: the key is 256
random bits, not a password, so there is nothing for a slow hash to protect against guessing.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from jobs.db import utcnow
from jobs.errors import UnauthorizedError, UnknownApiKeyError
from jobs.models import ApiKey
from jobs.settings import Settings
from jobs.tenants import LOCAL, get_tenant

KEY_START = "adl_"
PREFIX_CHARS = len(KEY_START) + 8
# last_used_at is for humans ("is this key still in use?"): a write per minute at most, not one
# per request, so a dashboard polling every two seconds does not turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    secret: str  # the key itself: shown once, never stored


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, tenant: str, label: str | None = None) -> NewKey:
    get_tenant(session, tenant)  # UnknownTenantError with what to do
    secret = KEY_START + secrets.token_urlsafe(32)
    row = ApiKey(
        tenant=tenant, prefix=secret[:PREFIX_CHARS], key_sha256=digest(secret), label=label
    )
    session.add(row)
    session.flush()
    return NewKey(row, secret)


def authenticate(session: Session, key: str) -> str:
    """The tenant of a live key. Looked up by its hash, so no comparison of secrets happens
    here whose timing could leak one."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_sha256 == digest(key))).one_or_none()
    if row is None:
        raise UnauthorizedError("unknown API key: check it, or ask an administrator for one")
    if row.revoked_at is not None:
        raise UnauthorizedError(
            f"API key {row.prefix}… was revoked on {row.revoked_at:%Y-%m-%d}; ask for a new one"
        )
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.tenant


def list_keys(session: Session, tenant: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.tenant, ApiKey.created_at, ApiKey.id)
    if tenant is not None:
        get_tenant(session, tenant)
        query = query.where(ApiKey.tenant == tenant)
    return list(session.scalars(query))


def revoke_key(session: Session, prefix_or_id: str) -> ApiKey:
    """Revoke by the prefix shown in listings (or the whole key) or by the numeric id.
    Revoking a revoked key keeps its first revocation time."""
    row = session.scalars(_find(prefix_or_id)).one_or_none()
    if row is None:
        raise UnknownApiKeyError(
            f"no API key {prefix_or_id!r}: give its prefix or id as `keys list` shows them"
        )
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def _find(prefix_or_id: str) -> Select[tuple[ApiKey]]:
    # ASCII digits only (isdigit() takes '²', int() does not), and at most 18: they fit a BIGINT
    if prefix_or_id.isascii() and prefix_or_id.isdigit() and len(prefix_or_id) <= 18:
        return select(ApiKey).where(ApiKey.id == int(prefix_or_id))
    if len(prefix_or_id) > PREFIX_CHARS:  # the whole key was given
        return select(ApiKey).where(ApiKey.key_sha256 == digest(prefix_or_id))
    return select(ApiKey).where(ApiKey.prefix == prefix_or_id)


def describe_auth(settings: Settings) -> str:
    """One start-up log line saying who may call the API."""
    if settings.auth == "off":
        return (
            f"authentication is OFF (ADL_AUTH=off): the API listens on {settings.host}, a "
            f"loopback address, so only this machine can reach it; every caller is tenant "
            f"{LOCAL!r}. Set ADL_AUTH=keys to require API keys."
        )
    return (
        "authentication: API keys (ADL_AUTH=keys); make one with "
        "`python -m jobs.admin keys create --tenant NAME`"
    )
