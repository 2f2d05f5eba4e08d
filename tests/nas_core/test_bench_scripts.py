"""The step benchmark runs end to end on a tiny supernet and reports every figure it promises.

Figures, not timings, are checked: which keys the JSON has and that each is a sensible number,
never how fast the step was.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.allocator import allocator_name, find_allocator

BENCH = Path(__file__).resolve().parents[2] / "bench" / "supernet_step.py"
TINY = ["--layers", "2", "--filter-multiplier", "2", "--blocks", "2", "--classes", "3"]


def run_bench(*extra: str) -> tuple[dict, str]:
    """The JSON line and the table that bench/supernet_step.py prints."""
    command = [sys.executable, str(BENCH), *TINY, "--size", "32", "--steps", "2"]
    done = subprocess.run(
        [*command, "--warmup", "0", "--threads", "1", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stdout.splitlines()
    (result,) = [json.loads(line) for line in lines if line.startswith("{")]
    return result, done.stdout


@pytest.mark.slow
def test_the_step_benchmark_reports_its_figures() -> None:
    result, table = run_bench("--dil-conv", "separable")
    assert result["config"]["dil_conv"] == "separable"
    assert result["params"] > 0 and result["gflop_fwd_bwd"] > 0
    for step in ("weight_step_s", "arch_step_s"):
        times = result[step]
        assert 0 < times["min"] <= times["median"] <= times["max"]
    # the step's peak, read before calibrating: the copy calibration alone holds 0.5 GiB, the
    # tiny supernet's process about 0.45
    assert 0 < result["peak_rss_gib"] < 0.75
    calibration = result["calibration_gflops"]
    assert calibration["conv3x3_fwd_bwd_gflops"] > 0 and calibration["matmul_gflops"] > 0
    assert result["calibration_copy_gbps"] > 0
    # it started itself again with the malloc a search worker preloads
    assert result["allocator"] == allocator_name(find_allocator("auto"))
    for row in ("weight step", "arch step", "peak RSS", "allocator", "calibration", "memory"):
        assert row in table
