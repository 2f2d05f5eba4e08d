"""The decoded genotype and the checkpoints of a search."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import FileResponse

from api.deps import SessionDep, SettingsDep, TenantDep
from api.responses import NO_CHECKPOINT, NOT_FOUND, NOT_FOUND_OR_NOT_YET
from api.schemas import Checkpoint, CheckpointList
from jobs import service
from jobs.genotype import GenotypeDoc
from jobs.spec import MAX_EPOCHS

router = APIRouter(tags=["artifacts"])


@router.get(
    "/searches/{search_id}/genotype", response_model=GenotypeDoc, responses=NOT_FOUND_OR_NOT_YET
)
def get_genotype(
    search_id: str,
    session: SessionDep,
    settings: SettingsDep,
    tenant: TenantDep,
    epoch: Annotated[
        int | None, Query(ge=1, le=MAX_EPOCHS, description="the genotype decoded at epoch N")
    ] = None,
) -> dict[str, Any]:
    """The final genotype once the search succeeded; 409 with the state until then."""
    return service.get_genotype(session, settings.artifact_root, search_id, epoch, tenant=tenant)


@router.get("/searches/{search_id}/checkpoints", response_model=CheckpointList, responses=NOT_FOUND)
def list_checkpoints(search_id: str, session: SessionDep, tenant: TenantDep) -> CheckpointList:
    checkpoints = service.list_checkpoints(session, search_id, tenant=tenant)
    return CheckpointList(items=[Checkpoint.model_validate(c) for c in checkpoints])


@router.get(
    "/searches/{search_id}/checkpoints/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 304: {}, **NO_CHECKPOINT},
)
def download_checkpoint(
    search_id: str,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    tenant: TenantDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Streams the file; ETag is its quoted sha256. The name is looked up in the artifacts
    table, never joined into a path."""
    checkpoint = service.get_checkpoint(
        session, settings.artifact_root, search_id, name, tenant=tenant
    )
    etag = f'"{checkpoint.sha256}"'
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return FileResponse(
        settings.artifact_root / checkpoint.path,
        media_type="application/octet-stream",
        filename=checkpoint.name,
        headers={"ETag": etag},
    )
