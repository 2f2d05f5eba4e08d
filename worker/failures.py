"""Failures sorted into retryable (a database or broker blip: try again, resume from the
checkpoint) and fatal (a message the user can act on)."""

from dataclasses import dataclass

import torch
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from jobs.spec import SearchSpec
from nas_core.data import DatasetError
from nas_core.genotype import GenotypeError

RETRYABLE = (OperationalError, BrokerError, RedisConnectionError)


@dataclass(frozen=True)
class Failure:
    retryable: bool
    message: str


def classify(exc: BaseException, spec: SearchSpec) -> Failure:
    if isinstance(exc, RETRYABLE) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return Failure(True, f"lost the database or broker ({type(exc).__name__}); retrying")
    return Failure(False, fatal_message(exc, spec))


def fatal_message(exc: BaseException, spec: SearchSpec) -> str:
    if _out_of_memory(exc):
        return (
            f"out of GPU memory with crop_size={spec.training.crop_size}, "
            f"batch_size={spec.training.batch_size}, "
            f"filter_multiplier={spec.search_space.filter_multiplier}, "
            f"layers={spec.search_space.layers}: lower one of them and submit again"
        )
    if isinstance(exc, MemoryError):
        return "out of host memory: lower crop_size, batch_size or the dataset's image size"
    if isinstance(exc, DatasetError):
        return f"dataset problem: {exc}"
    if isinstance(exc, GenotypeError):
        return f"the decoded architecture is invalid ({exc}); please report this search"
    if isinstance(exc, ValueError):
        return f"invalid search settings: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}; the worker log has the details"


def _out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
