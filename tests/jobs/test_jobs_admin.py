"""`python -m jobs.admin` on the real databases: tenants, keys shown once and stored only as
their hash, listings without secrets, revocation, and clear errors with exit status 1."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from jobs import admin
from jobs.admin.cli import main
from jobs.db import get_engine
from jobs.models import Tenant
from jobs.settings import Settings

KEY = re.compile(r"adl_[A-Za-z0-9_-]{43}")
REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv), settings)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def made_key(capsys: pytest.CaptureFixture[str], settings: Settings, *options: str) -> str:
    status, out, err = run(capsys, settings, "keys", "create", "--tenant", "acme", *options)
    assert status == 0, err
    assert KEY.fullmatch(out.strip()), out  # the key alone on stdout
    return out.strip()


def test_a_key_is_printed_once_and_stored_as_its_hash(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    assert run(capsys, settings, "tenants", "create", "acme")[0] == 0
    key = made_key(capsys, settings, "--label", "ci")
    with get_engine(settings.database_url).connect() as connection:
        (row,) = connection.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert key not in repr(dict(row))
    assert row["key_sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert (row["prefix"], row["tenant"], row["label"]) == (key[:12], "acme", "ci")
    status, out, err = run(capsys, settings, "keys", "list")
    assert status == 0
    assert key[:12] in out and "ci" in out and "acme" in out
    assert key not in out + err


def test_a_key_is_revoked_by_its_prefix_or_its_id(
    capsys: pytest.CaptureFixture[str], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    run(capsys, settings, "tenants", "create", "acme")
    first, second = made_key(capsys, settings), made_key(capsys, settings)
    status, out, _ = run(capsys, settings, "keys", "revoke", first[:12])
    assert status == 0 and f"({first[:12]}) of tenant acme" in out
    (second_id,) = [key.id for key in admin.list_keys(sessions) if key.prefix == second[:12]]
    assert run(capsys, settings, "keys", "revoke", str(second_id))[0] == 0
    _, listing, _ = run(capsys, settings, "keys", "list", "--tenant", "acme")
    for line in listing.splitlines()[1:]:
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\dZ\s*$", line), line  # a revoked time
    assert second[:12] in listing


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["keys", "create", "--tenant", "nobody"], "no tenant 'nobody'"),
        (["keys", "list", "--tenant", "nobody"], "no tenant 'nobody'"),
        (["keys", "revoke", "adl_Nope1234"], "no API key 'adl_Nope1234'"),
        (["keys", "revoke", "42"], "no API key '42'"),
        (["keys", "revoke", "9" * 30], "no API key '999"),  # past a BIGINT: was a traceback
        (["keys", "revoke", "²"], "no API key '²'"),  # a digit to isdigit(), not to int()
        (["tenants", "create", "acme"], "tenant 'acme' exists already"),
        (["tenants", "create", "Not A Name"], "tenant name 'Not A Name'"),
        (["tenants", "set-quota", "nobody", "--max-queued", "3"], "no tenant 'nobody'"),
    ],
)
def test_errors_say_what_is_wrong_and_exit_1(
    capsys: pytest.CaptureFixture[str], settings: Settings, argv: list[str], words: str
) -> None:
    run(capsys, settings, "tenants", "create", "acme")
    status, out, err = run(capsys, settings, *argv)
    assert (status, out) == (1, "")
    assert err.startswith("error: ") and words in err, err


def test_quota_overrides_are_set_and_cleared(
    capsys: pytest.CaptureFixture[str], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    run(capsys, settings, "tenants", "create", "acme", "--max-queued", "5", "--max-active", "9")
    assert run(capsys, settings, "tenants", "set-quota", "acme", "--max-queued", "default")[0] == 0
    with sessions() as session:
        tenant = session.get(Tenant, "acme")
        assert (tenant.max_queued, tenant.max_active) == (None, 9)
    status, out, _ = run(capsys, settings, "tenants", "list")
    assert status == 0 and "max queued default, max active 9" in out


def test_the_module_runs_on_a_new_database(tmp_path: Path) -> None:
    """As an operator runs it: a database that does not exist yet is made and migrated first."""
    env = {**os.environ, "ADL_DATABASE_URL": f"sqlite:///{tmp_path}/new/adl.sqlite3"}

    def admin(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "jobs.admin", *argv]
        return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)

    assert admin("tenants", "create", "acme").returncode == 0
    made = admin("keys", "create", "--tenant", "acme")
    assert made.returncode == 0, made.stderr
    assert KEY.fullmatch(made.stdout.strip())
    assert "only time it is shown" in made.stderr
    unknown = admin("keys", "create", "--tenant", "nobody")
    assert unknown.returncode == 1
    assert "tenants create nobody" in unknown.stderr
