"""Run bench/supernet_step.py in a fresh process per configuration and print one table.

    .venv/bin/python bench/scaling.py --sizes 64 128 256 --batches 2 4 8 --threads 2

Sizes are measured at the first batch, batches at the first size; `--paths fast reference`
adds the reference path (slow: use --sizes 64 128 --batches 2). Each process's peak RSS is its
own, so the memory column compares. Run it alone on a quiet machine.
"""

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("bench.scaling")
STEP = Path(__file__).with_name("supernet_step.py")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--paths", nargs="+", default=["fast"], choices=("fast", "reference"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--checkpoint-activations", action="store_true", help="passed on to supernet_step.py"
    )
    parser.add_argument("--node-workers", type=int, default=0, help="passed on (0: automatic)")
    parser.add_argument("--dil-conv", default="dense", help="passed on: dense or separable")
    parser.add_argument("--allocator", default="auto", help="passed on: auto, system or a path")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    return parser.parse_args(argv)


def configurations(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """(path, size, batch): every size at the first batch, every batch at the first size."""
    pairs = [(size, args.batches[0]) for size in args.sizes]
    pairs += [(args.sizes[0], batch) for batch in args.batches[1:]]
    return [(path, size, batch) for path in args.paths for size, batch in pairs]


def measure(args: argparse.Namespace, path: str, size: int, batch: int) -> dict:
    command = [
        sys.executable, str(STEP), "--path", path, "--size", str(size), "--batch", str(batch),
        "--threads", str(args.threads), "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--node-workers", str(args.node_workers), "--dil-conv", args.dil_conv,
        "--allocator", args.allocator,
    ]  # fmt: skip
    command += ["--checkpoint-activations"] if args.checkpoint_activations else []
    log.info("running %s", " ".join(command[1:]))
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("{")))


def row(result: dict) -> str:
    config = result["config"]
    weight, arch = result["weight_step_s"]["median"], result["arch_step_s"]["median"]
    calibration = result["calibration_gflops"]["conv3x3_fwd_bwd_gflops"]
    path = config["path"] + (" + checkpointing" if config["checkpoint_activations"] else "")
    path += f", {result['node_workers']} node workers" if result["node_workers"] > 1 else ""
    return (
        f"| {path} | {config['size']} | {config['batch']} | {weight:.3f} s "
        f"| {arch:.3f} s | {result['peak_rss_gib']:.2f} GiB | {result['gflop_fwd_bwd']:.1f} "
        f"| {result['achieved_gflops']:.1f} | {calibration:.0f} |"
    )


HEADER = (
    "| path | px | batch | weight step | arch step | peak RSS | GFLOP fwd+bwd | GFLOP/s "
    "| calib. conv GFLOP/s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    arguments = parse_args(sys.argv[1:])
    results = [measure(arguments, *config) for config in configurations(arguments)]
    if arguments.out is not None:
        arguments.out.write_text(json.dumps(results, indent=1))
    log.info("%s\n%s", HEADER, "\n".join(row(result) for result in results))
