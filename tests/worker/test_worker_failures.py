import pytest
import torch
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError

from jobs.spec import SearchSpec
from nas_core.data import DatasetError
from worker.failures import classify

SPEC = SearchSpec()


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        torch.cuda.OutOfMemoryError("CUDA out of memory"),
    ],
)
def test_out_of_memory_says_what_to_lower(exc: Exception) -> None:
    failure = classify(exc, SPEC)
    assert not failure.retryable
    assert "crop_size=321" in failure.message
    assert "batch_size=2" in failure.message
    assert "filter_multiplier=8" in failure.message
    assert "lower one of them" in failure.message


@pytest.mark.parametrize(
    ("exc", "start"),
    [
        (DatasetError("roads/masks/3.png: mask has class ids [7]"), "dataset problem: roads"),
        (ValueError("device 'cuda' was asked for"), "invalid search settings: device"),
        (KeyError("boom"), "unexpected KeyError"),
    ],
)
def test_fatal_failures_carry_a_message(exc: Exception, start: str) -> None:
    failure = classify(exc, SPEC)
    assert not failure.retryable
    assert failure.message.startswith(start)


@pytest.mark.parametrize(
    "exc", [OperationalError("SELECT 1", {}, Exception("gone")), BrokerError("no broker")]
)
def test_database_and_broker_blips_are_retried(exc: Exception) -> None:
    assert classify(exc, SPEC).retryable
