"""Response bodies of the dashboard's read endpoints (documented in the OpenAPI schema)."""

from pydantic import BaseModel, Field

from api.schemas import SearchDetail
from jobs.genotype import GenotypeDoc
from jobs.states import State


class HistoryEntry(BaseModel):
    epoch: int
    network_path: list[int]
    changed: bool = Field(description="the decoded architecture differs from the epoch before")


class Architecture(BaseModel):
    """The architecture decoded at the end of one epoch, with the search-space weights."""

    epoch: int = Field(description="the epoch of this snapshot, counted from 1")
    epochs: int
    state: State
    genotype: GenotypeDoc
    alphas: list[list[float]] = Field(description="softmax per cell edge: (edges, primitives)")
    betas: list[list[list[float]]] = Field(
        description="normalised per source node, invalid directions 0: (layers, 4 levels, 3 "
        "directions finer/same/coarser)"
    )
    history: list[HistoryEntry] = Field(description="every decoded epoch, oldest first")
    unchanged_since: int = Field(description="the latest architecture is decoded since this epoch")


class Overview(BaseModel):
    items: list[SearchDetail] = Field(description="each search with its progress snapshot")
    next_cursor: str | None
