"""The command line of jobs.admin, on the database of ADL_DATABASE_URL:

    python -m jobs.admin tenants create acme [--max-queued 5] [--max-active 10]
    python -m jobs.admin tenants list
    python -m jobs.admin tenants set-quota acme [--max-queued N|default] [--max-active N|default]
    python -m jobs.admin keys create --tenant acme [--label ci]
    python -m jobs.admin keys list [--tenant acme]
    python -m jobs.admin keys revoke adl_AbCd1234       (the prefix `keys list` shows, or the id)

`keys create` writes the key alone on stdout, so KEY=$(python -m jobs.admin keys create ...)
works, and what it is on stderr; it is the only time the key is shown. Errors exit with 1.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError

from jobs import admin
from jobs.admin import Sessions
from jobs.errors import ServiceError
from jobs.models import ApiKey, Tenant
from jobs.settings import Settings, get_settings

QUOTAS = ("max_queued", "max_active")


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    """Run one command; 0 when it did what it said, 1 with a message on stderr when not."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    try:
        settings = settings or get_settings()
    except ValidationError as exc:
        _err(f"invalid settings:\n{exc}")
        return 1
    try:
        args.run(admin.migrated_sessions(settings), args)
    except ServiceError as exc:
        _err(f"error: {exc.detail}")
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m jobs.admin", description=__doc__.split("\n")[0])
    groups = root.add_subparsers(required=True, metavar="{tenants,keys}")
    _tenant_commands(groups.add_parser("tenants", help="tenants and their quotas"))
    _key_commands(groups.add_parser("keys", help="API keys"))
    return root


def _tenant_commands(group: argparse.ArgumentParser) -> None:
    commands = group.add_subparsers(required=True, metavar="{create,list,set-quota}")
    create = commands.add_parser("create", help="a new tenant")
    create.add_argument("name")
    for option in ("--max-queued", "--max-active"):
        create.add_argument(option, type=_count, help="override the service-wide quota")
    create.set_defaults(run=_tenants_create)
    commands.add_parser("list", help="every tenant").set_defaults(run=_tenants_list)
    quota = commands.add_parser("set-quota", help="change a tenant's quota overrides")
    quota.add_argument("name")
    for option in ("--max-queued", "--max-active"):
        # absent: kept as it is; `default`: the service-wide ADL_TENANT_MAX_* again
        quota.add_argument(option, type=_limit, default=argparse.SUPPRESS, help="N or default")
    quota.set_defaults(run=_tenants_set_quota)


def _key_commands(group: argparse.ArgumentParser) -> None:
    commands = group.add_subparsers(required=True, metavar="{create,list,revoke}")
    create = commands.add_parser("create", help="a new key, printed once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--label", help="what the key is for, e.g. ci")
    create.set_defaults(run=_keys_create)
    listing = commands.add_parser("list", help="keys (never their secrets)")
    listing.add_argument("--tenant")
    listing.set_defaults(run=_keys_list)
    revoke = commands.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("key", help="its prefix (adl_…) or id, as `keys list` shows them")
    revoke.set_defaults(run=_keys_revoke)


def _tenants_create(sessions: Sessions, args: argparse.Namespace) -> None:
    tenant = admin.create_tenant(sessions, args.name, args.max_queued, args.max_active)
    _out(f"created tenant {tenant.name} (quota: {_quota(tenant)})")


def _tenants_list(sessions: Sessions, _args: argparse.Namespace) -> None:
    rows = [(t.name, _quota(t), _when(t.created_at)) for t in admin.list_tenants(sessions)]
    _table(("tenant", "quota", "created"), rows)


def _tenants_set_quota(sessions: Sessions, args: argparse.Namespace) -> None:
    limits = {name: getattr(args, name) for name in QUOTAS if hasattr(args, name)}
    tenant = admin.set_quota(sessions, args.name, limits)
    _out(f"tenant {tenant.name} (quota: {_quota(tenant)})")


def _keys_create(sessions: Sessions, args: argparse.Namespace) -> None:
    new = admin.create_key(sessions, args.tenant, args.label)
    _err(
        f"API key {new.row.id} ({new.row.prefix}) of tenant {new.row.tenant}. This is the only "
        "time it is shown (only its hash is stored); send it as 'Authorization: Bearer <key>'."
    )
    _out(new.secret)


def _keys_list(sessions: Sessions, args: argparse.Namespace) -> None:
    rows = [_key_row(key) for key in admin.list_keys(sessions, args.tenant)]
    _table(("id", "prefix", "tenant", "label", "created", "last used", "revoked"), rows)


def _keys_revoke(sessions: Sessions, args: argparse.Namespace) -> None:
    key = admin.revoke_key(sessions, args.key)
    _out(f"revoked API key {key.id} ({key.prefix}) of tenant {key.tenant}")


def _key_row(key: ApiKey) -> tuple[str, ...]:
    times = (key.created_at, key.last_used_at, key.revoked_at)
    return (str(key.id), key.prefix, key.tenant, key.label or "", *map(_when, times))


def _quota(tenant: Tenant) -> str:
    queued = "default" if tenant.max_queued is None else tenant.max_queued
    active = "default" if tenant.max_active is None else tenant.max_active
    return f"max queued {queued}, max active {active}"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}Z"


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def _limit(text: str) -> int | None:
    return None if text == "default" else _count(text)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        _out("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def _out(line: str) -> None:
    sys.stdout.write(line.rstrip() + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
