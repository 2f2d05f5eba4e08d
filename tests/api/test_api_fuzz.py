"""A property-based fuzz of the whole API from its own OpenAPI schema (schemathesis): whatever
a client sends, no answer is a 5xx, and every answer is one the schema documents (its status
code, content type and body). A few searches in different states are seeded first, and their
ids are offered for {search_id}, so the fuzz reaches past the 404s."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from api_support import (
    TINY_SPEC,
    genotype_doc,
    keyed_client,
    run_until_epoch,
    tenant_key,
    write_checkpoint,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from service_fixtures import postgres_database

from api.main import create_app
from jobs import lifecycle
from jobs.db import get_engine, session_factory, unit_of_work
from jobs.migrate import upgrade
from jobs.models import MAX_SEQ
from jobs.settings import Settings

# Examples per operation (and a few more of schemathesis' own coverage cases): 14 operations
# x 150 take about 30 s on two cores, per database.
EXAMPLES = 150
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CHECKPOINT = "epoch-0001.pt"


def loosen_tuples(node: Any) -> Any:
    """schemathesis 4.32 rewrites a nested `prefixItems` (GenotypeDoc.cell's (int, str) pairs)
    into Draft 4's `items: [...]` and then builds a Draft 2020-12 validator, which refuses it:
    for the fuzz, a tuple is checked as a list of its member types."""
    if isinstance(node, list):
        return [loosen_tuples(item) for item in node]
    if not isinstance(node, dict):
        return node
    loosened = {key: loosen_tuples(value) for key, value in node.items()}
    if "prefixItems" in loosened:
        loosened["items"] = {"anyOf": loosened.pop("prefixItems")}
    return loosened


# The app's own schema; making it needs no settings (those are read in the lifespan). Loaded
# at import: schemathesis' lazy from_fixture() fails on pytest 9 (it sets Item._nodeid). The
# dashboard's HTML pages and /static are not in the schema (include_in_schema=False), so not
# fuzzed: they take no input but the address (tests/api/test_api_dashboard.py covers them).
schema = schemathesis.openapi.from_dict(
    loosen_tuples(create_app().openapi()),
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": EXAMPLES, "database": "none"}, "request-timeout": 10}
    ),
)


@dataclass(frozen=True)
class Seeded:
    app: FastAPI
    api_key: str
    search_ids: list[str]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """A migrated throwaway database of each kind: some defects answer 500 on one only (a NUL
    byte in an id did so on PostgreSQL, while SQLite answered 404)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'fuzz.sqlite3'}"
        upgrade(url)
        yield url
        return
    with postgres_database(request.getfixturevalue("postgres_server_url")) as url:
        upgrade(url)
        yield url
        get_engine(url).dispose()


@pytest.fixture(scope="module")
def seeded(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One app for the whole fuzz on one database, with searches queued, paused, cancelled,
    running with a checkpoint, and succeeded."""
    folder = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        database_url=database_url,
        broker_url=f"filesystem://{folder / 'broker'}",
        artifact_root=folder / "artifacts",
        data_root=folder / "data",
    )
    for name in ("cityscapes", "pascal_voc", "ade20k"):  # so the default specs are accepted
        (settings.data_root / name).mkdir(parents=True)
    sessions = session_factory(settings.database_url)
    api_key = tenant_key(sessions, "fuzz")
    with keyed_client(settings, api_key) as client:
        ids = [client.post("/searches", json=TINY_SPEC).json()["id"] for _ in range(5)]
        client.post(f"/searches/{ids[1]}/pause")
        client.post(f"/searches/{ids[2]}/cancel")
    write_checkpoint(settings, sessions, ids[3])
    attempt = run_until_epoch(sessions, ids[4], epochs_done=2)
    with unit_of_work(sessions) as session:
        lifecycle.finish(session, settings.artifact_root, ids[4], attempt, genotype_doc(1))
    return Seeded(create_app(settings), api_key, ids)


def aim_at_seeded_rows(case: schemathesis.Case, seeded: Seeded) -> None:
    """Most generated ids name nothing; swap most of them for a seeded search's id (and the
    checkpoint's name), picked by the generated value so that shrinking still works."""
    params = case.path_parameters or {}
    if "search_id" in params:
        choices = [*seeded.search_ids, params["search_id"]]
        params["search_id"] = choices[len(str(params["search_id"])) % len(choices)]
    if "name" in params and len(str(params["name"])) % 2 == 0:
        params["name"] = CHECKPOINT


@schema.parametrize()
def test_the_api_keeps_its_schema(case: schemathesis.Case, seeded: Seeded) -> None:
    aim_at_seeded_rows(case, seeded)
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    if case.path.endswith("/events"):
        # Server-Sent Events stream until the search ends (forever for a queued one): the fuzz
        # reads the JSON pages of the same rows; tests/api/test_api_events.py covers the stream.
        headers["Accept"] = "application/json"
    response = case.call(app=seeded.app, headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


# Defects the fuzz found once, kept as plain tests: each answered 500 before its fix.


def test_an_event_seq_past_the_largest_is_422(seeded: Seeded) -> None:
    response = _get_events(seeded, params={"after": MAX_SEQ + 1})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["after"]


@pytest.mark.parametrize(
    "last_event_id",
    # b"\xb2" is '²' in Latin-1, the headers' encoding: str.isdigit() takes it, int() does not
    [str(MAX_SEQ + 1).encode(), b"1" * 5000, b"\xb2"],
    ids=["past-the-largest-seq", "past-int-digit-limit", "superscript-two"],
)
def test_a_last_event_id_that_is_no_seq_is_422(seeded: Seeded, last_event_id: bytes) -> None:
    response = _get_events(seeded, headers={"Last-Event-ID": last_event_id})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_request")


def test_the_largest_seq_reads_an_empty_page(seeded: Seeded) -> None:
    for request in ({"params": {"after": MAX_SEQ}}, {"headers": {"Last-Event-ID": str(MAX_SEQ)}}):
        response = _get_events(seeded, **request)
        assert (response.status_code, response.json()["events"]) == (200, []), request


@pytest.mark.parametrize("path", ["genotype", "architecture"])
def test_an_epoch_past_the_specs_cap_is_422(seeded: Seeded, path: str) -> None:
    response = _get(seeded, f"/searches/{seeded.search_ids[4]}/{path}", params={"epoch": 1001})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["epoch"]


def _get_events(seeded: Seeded, **request: Any) -> Any:
    return _get(seeded, f"/searches/{seeded.search_ids[2]}/events", **request)


def _get(seeded: Seeded, path: str, **request: Any) -> Any:
    headers = {"Authorization": f"Bearer {seeded.api_key}", "Accept": "application/json"}
    with TestClient(seeded.app, headers=headers, raise_server_exceptions=False) as client:
        return client.get(path, **request)
