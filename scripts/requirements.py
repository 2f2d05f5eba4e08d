"""Print the project's runtime requirements from pyproject.toml, one per line.

`--api`: without the science stack (torch and what only nas_core uses), for the API image, which
must not carry torch. The Dockerfile installs from this, so pyproject.toml stays the one list.
"""

import argparse
import sys
import tomllib
from pathlib import Path

SCIENCE = ("torch", "numpy", "pillow", "tqdm")


def requirements(pyproject: Path, api_only: bool) -> list[str]:
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    if not api_only:
        return dependencies
    return [d for d in dependencies if not d.lower().startswith(SCIENCE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", action="store_true", help="leave out the science stack")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args()
    sys.stdout.write("\n".join(requirements(args.pyproject, args.api)) + "\n")


if __name__ == "__main__":
    main()
