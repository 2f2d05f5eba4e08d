"""The architecture a search decoded at the end of each epoch, read from its `genotype` events:
one snapshot (genotype, α, β) and the history of decoded architectures the dashboard's slider
walks over. Torch-free: plain JSON from the event log."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jobs import repository, service
from jobs.errors import GenotypeNotReadyError, NotFoundError


@dataclass(frozen=True)
class Snapshot:
    epoch: int
    genotype: dict[str, Any]
    alphas: list[list[float]]
    betas: list[list[list[float]]]


def snapshots(session: Session, search_id: str) -> list[Snapshot]:
    """One snapshot per epoch, oldest first; a resumed search's re-run epoch keeps its last.
    Tenant-blind: call it with the id of a search already read for its tenant."""
    events = repository.events_of_type(session, search_id, "genotype")
    by_epoch = {data["epoch"]: _snapshot(data) for data in events}
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def _snapshot(data: dict[str, Any]) -> Snapshot:
    return Snapshot(data["epoch"], data["genotype"], data.get("alphas", []), data.get("betas", []))


def architecture(
    session: Session, search_id: str, epoch: int | None, *, tenant: str
) -> dict[str, Any]:
    """The snapshot of `epoch` (default: the latest) with the history of every epoch's decoded
    architecture and the epoch since which it has not changed."""
    search = service.get_search(session, search_id, tenant=tenant)  # 404: unknown or foreign
    history = snapshots(session, search_id)
    if not history:
        raise GenotypeNotReadyError(
            f"search {search_id} ({search.state}) has not finished an epoch yet", state=search.state
        )
    chosen = _choose(history, epoch, search_id)
    return {
        "epoch": chosen.epoch,
        "epochs": search.spec["training"]["epochs"],
        "state": search.state,
        "genotype": chosen.genotype,
        "alphas": chosen.alphas,
        "betas": chosen.betas,
        "history": _history(history),
        "unchanged_since": unchanged_since(history),
    }


def _choose(history: list[Snapshot], epoch: int | None, search_id: str) -> Snapshot:
    if epoch is None:
        return history[-1]
    for snapshot in history:
        if snapshot.epoch == epoch:
            return snapshot
    decoded = ", ".join(str(s.epoch) for s in history)
    raise NotFoundError(f"search {search_id} has no genotype for epoch {epoch} (has: {decoded})")


def decoded(genotype: dict[str, Any]) -> tuple[Any, Any]:
    """What identifies a decoded architecture: its path and its cell."""
    return genotype["network_path"], genotype["cell"]


def _history(history: list[Snapshot]) -> list[dict[str, Any]]:
    entries, previous = [], None
    for snapshot in history:
        current = decoded(snapshot.genotype)
        entries.append(
            {
                "epoch": snapshot.epoch,
                "network_path": snapshot.genotype["network_path"],
                "changed": current != previous,
            }
        )
        previous = current
    return entries


def unchanged_since(history: list[Snapshot]) -> int:
    """The first epoch of the final run of epochs that decoded the latest architecture."""
    latest, since = decoded(history[-1].genotype), history[-1].epoch
    for snapshot in reversed(history):
        if decoded(snapshot.genotype) != latest:
            break
        since = snapshot.epoch
    return since
