"""Dataset names are folders relative to the data root. This is the one place that turns a name
into a path: the API checks it at submission and the worker again when it opens the data, so a
symbolic link swapped in after submission is refused too."""

from pathlib import Path, PurePosixPath

from jobs.errors import DatasetNotFoundError, DatasetOutsideRootError


def resolve_dataset(data_root: Path, name: str) -> Path:
    """The dataset's folder with every link followed; it must lie inside the data root."""
    _refuse_unsafe_name(name)
    root = data_root.resolve()
    folder = (root / name).resolve()
    if not folder.is_relative_to(root):
        raise DatasetOutsideRootError(
            f"dataset {name!r} leads outside the data root (through a symbolic link); "
            "copy or mount the dataset inside the data root instead"
        )
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"dataset folder {name!r} does not exist under the data root; "
            "put the dataset there or use kind 'synthetic'"
        )
    return folder


def _refuse_unsafe_name(name: str) -> None:
    # SearchSpec already refuses these; checked again because the worker reads stored specs.
    unsafe = (
        not name
        or name.startswith("/")
        or any(char in name for char in "\\\x00")
        or ".." in PurePosixPath(name).parts
    )
    if unsafe:
        raise DatasetOutsideRootError(
            f"dataset name {name!r} must be a folder relative to the data root: no leading '/', "
            "no '..', no backslashes"
        )
