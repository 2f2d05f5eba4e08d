"""Data order as a pure function of (seed, epoch, stream): reproducible and resumable.

Every sample is drawn as a key (index, sample_seed); the dataset derives its augmentation
from the sample seed, so a resumed run sees exactly the batches an uninterrupted one would.
"""

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

Key = tuple[int, int]
TRAIN_A, TRAIN_B = 0, 1  # streams: the weight half and the architecture half


def split_halves(size: int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of the training set into two disjoint halves."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(size, generator=generator).tolist()
    return sorted(order[: size // 2]), sorted(order[size // 2 :])


def _derived_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def epoch_keys(indices: Sequence[int], seed: int, epoch: int, stream: int, count: int) -> list[Key]:
    """`count` sample keys for one epoch: shuffled `indices`, reshuffled when they run out."""
    keys: list[Key] = []
    round_ = 0
    while len(keys) < count:
        generator = torch.Generator().manual_seed(_derived_seed(seed, epoch, stream, round_))
        for position in torch.randperm(len(indices), generator=generator).tolist():
            keys.append((indices[position], _derived_seed(seed, epoch, stream, len(keys))))
        round_ += 1
    return keys[:count]


def batched(keys: Sequence[Key], batch_size: int) -> list[list[Key]]:
    return [list(keys[i : i + batch_size]) for i in range(0, len(keys), batch_size)]


def make_loader(dataset: Dataset, batches: list[list[Key]], num_workers: int) -> DataLoader:
    return DataLoader(dataset, batch_sampler=batches, num_workers=num_workers)


def no_batches() -> Iterator[None]:
    """Stands in for the architecture loader before the architecture start epoch."""
    while True:
        yield None
