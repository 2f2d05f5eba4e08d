"""Response bodies. The request body is jobs.spec.SearchSpec; the genotype is GenotypeDoc."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from jobs.states import State


class Progress(BaseModel):
    """The latest progress and per-epoch metrics; epochs are counted from 1."""

    model_config = ConfigDict(extra="ignore")

    epoch: int | None = None
    epochs: int | None = None
    step: int | None = None
    steps: int | None = None
    phase: str | None = None
    weight_loss: float | None = None
    arch_loss: float | None = None
    lr: float | None = None
    images_per_second: float | None = None
    eta_seconds: float | None = None
    miou: float | None = None
    pixel_accuracy: float | None = None
    metrics_epoch: int | None = None


class SearchSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    state: State
    attempts: int
    lost_attempts: int  # attempts that ended without a result; ADL_MAX_ATTEMPTS of them fail it
    error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SearchDetail(SearchSummary):
    spec: dict[str, Any]
    cancel_requested: bool
    progress: Progress | None = None


class SearchPage(BaseModel):
    items: list[SearchSummary]
    next_cursor: str | None  # pass as ?cursor= for the next (older) page


class Event(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime


class EventPage(BaseModel):
    events: list[Event]
    next_after: int  # pass as ?after= to continue
    finished: bool  # the search is over and no event follows


class Checkpoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    epoch: int | None
    size: int
    sha256: str
    created_at: datetime


class CheckpointList(BaseModel):
    items: list[Checkpoint]


class ErrorBody(BaseModel):
    """Every error answer (api/errors.py): a stable code and what to do about it. Some add
    keys, e.g. `state` on a 409, `search_id` on a reused Idempotency-Key."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: Any


class Problem(BaseModel):
    field: str  # the dotted path, e.g. training.batch_size
    message: str


class ValidationErrorBody(ErrorBody):
    """A 422: each bad field of a request that does not fit the schema, or one sentence for
    a request the service refused as it stands (an unknown dataset, a foreign cursor)."""

    detail: list[Problem] | str
