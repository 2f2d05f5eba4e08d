"""Helpers for the worker tests."""

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jobs import repository, tenants
from jobs.db import unit_of_work
from jobs.spec import SearchSpec

TINIEST_SPEC: dict[str, Any] = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 8, "image_size": 32},
    "search_space": {"layers": 2, "filter_multiplier": 2},
    "training": {"epochs": 1, "arch_start_epoch": 0, "batch_size": 2, "crop_size": 32},
}

TWO_EPOCHS = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 8, "image_size": 32},
    "search_space": {"layers": 2, "filter_multiplier": 2},
    "training": {"epochs": 2, "arch_start_epoch": 0, "batch_size": 2, "crop_size": 32},
}


def queued_search(
    sessions: sessionmaker[Session], search_id: str = "s-1", spec: dict[str, Any] | None = None
) -> str:
    """A row as POST /searches leaves it for the tenant `local` (without the API's dataset
    check)."""
    document = SearchSpec.model_validate(spec or TINIEST_SPEC).model_dump(mode="json")
    with unit_of_work(sessions) as session:
        tenants.ensure_tenant(session, tenants.LOCAL)
        repository.add_search(session, search_id, document, tenant=tenants.LOCAL)
    return search_id
