from pathlib import Path

import pytest

from jobs.datasets import resolve_dataset
from jobs.errors import DatasetNotFoundError, DatasetOutsideRootError


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    (tmp_path / "data" / "roads").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return tmp_path / "data"


def test_a_folder_under_the_root_resolves(data_root: Path) -> None:
    assert resolve_dataset(data_root, "roads") == (data_root / "roads").resolve()


def test_a_link_that_stays_inside_is_followed(data_root: Path) -> None:
    (data_root / "latest").symlink_to(data_root / "roads")
    assert resolve_dataset(data_root, "latest") == (data_root / "roads").resolve()


def test_a_link_that_leads_outside_is_refused(data_root: Path) -> None:
    (data_root / "escape").symlink_to(data_root.parent / "outside")
    with pytest.raises(DatasetOutsideRootError, match="outside the data root"):
        resolve_dataset(data_root, "escape")


@pytest.mark.parametrize("name", ["../outside", "/etc", "a/../../outside", "roads\\x", "", "a\0"])
def test_names_that_are_not_plain_relative_paths_are_refused(data_root: Path, name: str) -> None:
    with pytest.raises(DatasetOutsideRootError, match="relative to the data root"):
        resolve_dataset(data_root, name)


def test_a_missing_folder_is_named(data_root: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="'lakes' does not exist"):
        resolve_dataset(data_root, "lakes")
