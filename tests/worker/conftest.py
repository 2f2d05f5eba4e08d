from collections.abc import Iterator

import pytest

from jobs.settings import Settings, get_settings


@pytest.fixture
def worker_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The task reads get_settings() as a real worker does: hand it the test's through ADL_*."""
    for name, value in settings.model_dump(exclude_none=True).items():
        monkeypatch.setenv(f"ADL_{name.upper()}", str(value))
    monkeypatch.setenv("ADL_TORCH_THREADS", "1")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
