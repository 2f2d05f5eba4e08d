"""What every fault case asserts: a consistent event log, a valid genotype, the final α and β."""

from itertools import pairwise
from pathlib import Path
from typing import Any

import torch
from cluster import Cluster

from jobs.states import TERMINAL, TRANSITIONS, State
from nas_core import Genotype

# layers 2, filter multiplier 2, 32 px crops, 16 samples: 4 steps an epoch, so a pause or a kill
# seen in one step lands inside the epoch; α and β learn in the second epoch.
SPEC: dict[str, Any] = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 16, "image_size": 32},
    "search_space": {"layers": 2, "filter_multiplier": 2},
    "training": {
        "epochs": 2,
        "arch_start_epoch": 1,
        "batch_size": 2,
        "crop_size": 32,
        "val_batches": 1,
        "seed": 7,
    },
}
# Half the samples: 2 steps an epoch, for the cases that need no exact moment.
SMALL: dict[str, Any] = {**SPEC, "dataset": {**SPEC["dataset"], "num_samples": 8}}


def assert_consistent(events: list[dict[str, Any]]) -> None:
    """Seqs 1..N with no gap or repeat; statuses that follow the transition table from
    `queued`; exactly one terminal status, and it is the last event of all."""
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    statuses = [State(e["data"]["state"]) for e in events if e["type"] == "status"]
    assert statuses[0] == State.QUEUED
    for before, after in pairwise(statuses):
        assert after in TRANSITIONS[before], f"{before} -> {after} in {statuses}"
    terminal = [
        i
        for i, e in enumerate(events)
        if e["type"] == "status" and State(e["data"]["state"]) in TERMINAL
    ]
    assert terminal == [len(events) - 1], statuses


def states(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["state"] for e in events if e["type"] == "status"]


def assert_succeeded(cluster: Cluster, search_id: str) -> dict[str, Any]:
    """The checks every case ends with; returns the genotype without its search id."""
    events = cluster.events(search_id)
    assert_consistent(events)
    assert states(events)[-1] == "succeeded", cluster.search(search_id)["error"]
    document = cluster.http.get(f"/searches/{search_id}/genotype").json()
    assert Genotype.from_dict(document).validate()
    return {k: v for k, v in document.items() if k != "search_id"}


def final_arch(cluster: Cluster, search_id: str) -> tuple[torch.Tensor, torch.Tensor]:
    """α and β as the last checkpoint holds them (the raw parameters, not the softmax)."""
    epochs = SPEC["training"]["epochs"]
    path = checkpoint_path(cluster, search_id, f"epoch-{epochs:04d}.pt")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state["model"]["arch.alphas"], state["model"]["arch.betas"]


def checkpoint_path(cluster: Cluster, search_id: str, name: str) -> Path:
    return Path(cluster.env["ADL_ARTIFACT_ROOT"]) / search_id / "checkpoints" / name
