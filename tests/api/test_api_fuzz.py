"""A property-based fuzz of the whole API from its own OpenAPI schema (schemathesis): whatever
a client sends, no answer is a 5xx, and every answer is one the schema documents (its status
code, content type and body). A few searches in different states are seeded first, and their
ids are offered for {search_id}, so the fuzz reaches past the 404s."""

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

from api.main import create_app
from jobs import lifecycle
from jobs.db import session_factory, unit_of_work
from jobs.migrate import upgrade
from jobs.settings import Settings

# Examples per operation (and a few more of schemathesis' own coverage cases): 14 operations
# x 150 take about 30 s on two cores.
EXAMPLES = 150
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CHECKPOINT = "epoch-0001.pt"
MAX_SEQ = 2**63 - 1  # the largest BIGINT
# Statuses that routes answer but do not declare yet; each entry waives only the "status code
# documented" check for that answer. TODO(routes): declare them in api/routes/*, e.g.
# `responses={404: {"description": "no such search"}}` (api.errors documents the error body),
# then drop them here.
UNDOCUMENTED: dict[tuple[str, str], set[int]] = {
    ("POST", "/searches"): {409},
    ("GET", "/searches/{search_id}"): {404},
    ("POST", "/searches/{search_id}/cancel"): {404, 409},
    ("POST", "/searches/{search_id}/pause"): {404},
    ("POST", "/searches/{search_id}/resume"): {404},
    ("GET", "/searches/{search_id}/events"): {404},
    ("GET", "/searches/{search_id}/genotype"): {404, 409},
    ("GET", "/searches/{search_id}/checkpoints"): {404},
    ("GET", "/searches/{search_id}/checkpoints/{name}"): {404},
    ("GET", "/searches/{search_id}/architecture"): {404, 409},
}


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


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One app on a throwaway SQLite database for the whole fuzz, with searches queued,
    paused, cancelled, running with a checkpoint, and succeeded."""
    folder = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'fuzz.sqlite3'}",
        broker_url=f"filesystem://{folder / 'broker'}",
        artifact_root=folder / "artifacts",
        data_root=folder / "data",
    )
    upgrade(settings.database_url)
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


def meets_known_defect(case: schemathesis.Case) -> bool:
    """A request that still meets a defect the fuzz found whose fix belongs to
    api/routes/events.py: an event seq past the database's 64-bit integers, in ?after= or in
    Last-Event-ID, answers 500. The fuzz skips just those; the xfail tests below say when
    they are fixed."""
    if not case.path.endswith("/events"):
        return False
    after = str((case.query or {}).get("after", ""))
    last = str((case.headers or {}).get("Last-Event-ID", "")).strip()
    return any(
        value.isascii() and value.isdigit() and int(value) > MAX_SEQ for value in (after, last)
    )


@schema.parametrize()
def test_the_api_keeps_its_schema(case: schemathesis.Case, seeded: Seeded) -> None:
    aim_at_seeded_rows(case, seeded)
    if meets_known_defect(case):
        return
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    if case.path.endswith("/events"):
        # Server-Sent Events stream until the search ends (forever for a queued one): the fuzz
        # reads the JSON pages of the same rows; tests/api/test_api_events.py covers the stream.
        headers["Accept"] = "application/json"
    response = case.call(app=seeded.app, headers=headers)
    waived = response.status_code in UNDOCUMENTED.get((case.method, case.path), ())
    checks = [check for check in CHECKS if not (waived and check is status_code_conformance)]
    case.validate_response(response, checks=checks, headers=headers)


@pytest.mark.parametrize(("operation", "statuses"), UNDOCUMENTED.items())
def test_each_waiver_is_still_needed(operation: tuple[str, str], statuses: set[int]) -> None:
    method, path = operation
    documented = create_app().openapi()["paths"][path][method.lower()]["responses"]
    assert not statuses & {int(status) for status in documented if status.isdigit()}, (
        f"{method} {path} documents these now: drop them from UNDOCUMENTED"
    )


@pytest.mark.xfail(strict=True, reason="TODO(routes): Query(ge=0, le=2**63 - 1) for `after`")
def test_an_event_seq_past_64_bits_is_422(seeded: Seeded) -> None:
    response = _get_events(seeded, params={"after": MAX_SEQ + 1})
    assert response.status_code == 422


@pytest.mark.xfail(strict=True, reason="TODO(routes): _parse_last_event_id: at most 2**63 - 1")
def test_a_last_event_id_past_64_bits_is_422(seeded: Seeded) -> None:
    response = _get_events(seeded, headers={"Last-Event-ID": str(MAX_SEQ + 1)})
    assert response.status_code == 422


def _get_events(seeded: Seeded, **request: Any) -> Any:
    headers = {"Authorization": f"Bearer {seeded.api_key}", "Accept": "application/json"}
    with TestClient(seeded.app, headers=headers, raise_server_exceptions=False) as client:
        return client.get(f"/searches/{seeded.search_ids[2]}/events", **request)
