"""Per-epoch architecture snapshots (genotype, α, β) from a search's genotype events."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.dashboard import history
from api.dashboard.schemas import Architecture
from api.deps import SessionDep, TenantDep
from api.responses import NOT_FOUND_OR_NOT_YET
from jobs.spec import MAX_EPOCHS

router = APIRouter(tags=["dashboard"])


@router.get(
    "/searches/{search_id}/architecture",
    response_model=Architecture,
    responses=NOT_FOUND_OR_NOT_YET,
)
def get_architecture(
    search_id: str,
    session: SessionDep,
    tenant: TenantDep,
    epoch: Annotated[
        int | None, Query(ge=1, le=MAX_EPOCHS, description="default: the latest epoch")
    ] = None,
) -> dict[str, Any]:
    """The genotype, α and β decoded at the end of an epoch, every epoch's network path, and the
    epoch since which the architecture has not changed. 409 before the first epoch ends."""
    return history.architecture(session, search_id, epoch, tenant=tenant)
