"""The memory allocator a search process runs with: tcmalloc where it is installed, else
jemalloc, else the C library's own (ADL_ALLOCATOR: auto, system, or a library's path).

A supernet step on the CPU makes and frees tens of thousands of tensors. On tcmalloc it takes
about a fifth less user CPU time than on glibc's malloc, on one thread as on two (128 px, one
thread: 1.82-1.88 s against 2.23-2.25 s; system time and page faults are small either way, and
raising glibc's trim and mmap thresholds did not help). Measured with bench/supernet_step.py
at 128 px, 2 threads, three alternating rounds: weight step 1.21-1.38 s against 1.44-1.62 s,
peak RSS 1.69 GiB against 1.83-1.90 GiB.

An allocator is chosen when a process starts (LD_PRELOAD), never loaded into a running one, so
the launchers of search processes ask `allocator_env` for the environment to start them with.
"""

import logging
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)
PREFERRED = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4", "libjemalloc.so.2")


def find_allocator(choice: str = "auto") -> str | None:
    """The allocator library to preload: None for `system`, the path given, or the first of
    PREFERRED that the dynamic linker knows (None if it knows none)."""
    if choice == "system":
        return None
    if choice != "auto":
        if not Path(choice).is_file():
            raise ValueError(
                f"allocator {choice!r} is not a file: give auto, system or the path of a malloc "
                "library, such as /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
            )
        return choice
    known = _linker_cache()
    return next((known[name] for name in PREFERRED if name in known), None)


def allocator_env(env: Mapping[str, str], choice: str = "auto") -> dict[str, str]:
    """`env` for a new process that preloads the chosen allocator, and no other of PREFERRED,
    in front of the rest of LD_PRELOAD."""
    library = find_allocator(choice)
    others = [lib for lib in env.get("LD_PRELOAD", "").split() if not _is_allocator(lib)]
    preload = " ".join([library, *others] if library else others)
    out = {key: value for key, value in env.items() if key != "LD_PRELOAD"}
    if preload:
        out["LD_PRELOAD"] = preload
    log.info("new search processes run on %s", library or "the C library's malloc")
    return out


def loaded_allocator() -> str:
    """The allocator of this process: tcmalloc, jemalloc or system (read from /proc/self/maps,
    so it is what was loaded, not what was asked for)."""
    try:
        return allocator_name(Path("/proc/self/maps").read_text())
    except OSError:
        return "system"


def allocator_name(library: str | None) -> str:
    """tcmalloc, jemalloc or system: which allocator a library's path (or text naming one) is."""
    names = ("tcmalloc", "jemalloc")
    return next((name for name in names if library and f"lib{name}" in library), "system")


def _is_allocator(library: str) -> bool:
    return Path(library).name in PREFERRED


def _linker_cache() -> dict[str, str]:
    """{library name: path} from `ldconfig -p`; empty where there is no ldconfig (macOS)."""
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"  # /sbin: not on every user's PATH
    try:
        listing = subprocess.run(
            [ldconfig, "-p"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return parse_linker_cache(listing)


def parse_linker_cache(listing: str) -> dict[str, str]:
    """`ldconfig -p` lines, "\tname (libc6,x86-64) => /path", as {name: path}."""
    known: dict[str, str] = {}
    for line in listing.splitlines():
        name, arrow, path = line.strip().partition(" => ")
        if arrow:
            known.setdefault(name.split(" (")[0], path)
    return known
