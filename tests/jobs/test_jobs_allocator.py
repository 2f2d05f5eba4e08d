"""Which malloc search processes start with, and that a process started so really runs on it."""

import os
import subprocess
import sys

import pytest

from jobs.allocator import allocator_env, allocator_name, find_allocator, parse_linker_cache

LISTING = """3 libs found in cache `/etc/ld.so.cache'
\tlibtcmalloc_minimal.so.4 (libc6,x86-64) => /lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2
\tlibjemalloc.so.2 (libc6) => /lib/i386-linux-gnu/libjemalloc.so.2
"""
TCMALLOC = "/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def test_the_linker_cache_is_read_by_library_name_first_entry_first() -> None:
    assert parse_linker_cache(LISTING) == {
        "libtcmalloc_minimal.so.4": TCMALLOC,
        "libjemalloc.so.2": "/lib/x86_64-linux-gnu/libjemalloc.so.2",
    }


def test_system_preloads_nothing_and_a_path_must_exist(tmp_path) -> None:
    assert find_allocator("system") is None
    library = tmp_path / "libmymalloc.so"
    library.write_bytes(b"")
    assert find_allocator(str(library)) == str(library)
    with pytest.raises(ValueError, match="auto, system or the path"):
        find_allocator(str(tmp_path / "missing.so"))


def test_the_chosen_allocator_replaces_any_other_and_keeps_the_rest(tmp_path) -> None:
    library = tmp_path / "libtcmalloc_minimal.so.4"
    library.write_bytes(b"")
    env = {"LD_PRELOAD": "/opt/libjemalloc.so.2 /opt/libtrace.so", "KEEP": "1"}
    assert allocator_env(env, str(library)) == {
        "LD_PRELOAD": f"{library} /opt/libtrace.so",
        "KEEP": "1",
    }
    assert allocator_env(env, "system") == {"LD_PRELOAD": "/opt/libtrace.so", "KEEP": "1"}
    assert allocator_env({"LD_PRELOAD": TCMALLOC}, "system") == {}


@pytest.mark.parametrize("choice", ["auto", "system"])
def test_a_process_started_with_the_environment_runs_on_that_allocator(choice: str) -> None:
    expected = allocator_name(find_allocator(choice))
    child = subprocess.run(
        [sys.executable, "-c", "from jobs.allocator import loaded_allocator as a; print(a())"],
        env=allocator_env(os.environ, choice),
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == expected
