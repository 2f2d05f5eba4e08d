"""Time one supernet weight step and one architecture step; print JSON and a table.

    .venv/bin/python bench/supernet_step.py --size 64 --batch 2 --threads 2 --path fast

Figures, not tests: run it alone on a quiet machine (a second busy process on two cores
slows such runs many times over). Peak RSS is the whole process, so use a fresh process
per configuration. The process runs with the malloc a search worker preloads (--allocator):
it starts itself again with it where it is not loaded yet.
"""

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import time

import torch

from jobs.allocator import allocator_env, loaded_allocator
from nas_core import SearchConfig, Supernet, SupernetConfig
from nas_core.complexity import count_complexity
from nas_core.parallel_nodes import resolve_node_workers
from nas_core.space import DIL_CONV_STYLES
from nas_core.stepper import Stepper, resolve_device

log = logging.getLogger("bench")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The supernet and input options (the default search config), shared with
    bench/profile_step.py."""
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--filter-multiplier", type=int, default=8)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--classes", type=int, default=19)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=64, help="square input side in pixels")
    parser.add_argument(
        "--dil-conv",
        default="dense",
        choices=DIL_CONV_STYLES,
        help="dense: AUTODEEPLAB.md's dil convs; separable: DARTS' and the public PyTorch code's",
    )


def supernet_config(args: argparse.Namespace) -> SupernetConfig:
    return SupernetConfig(
        args.classes, args.layers, args.filter_multiplier, args.blocks, dil_conv=args.dil_conv
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument(
        "--path", default="fast", choices=("fast", "reference"), help="node implementation"
    )
    parser.add_argument(
        "--checkpoint-activations",
        action="store_true",
        help="recompute the activations of the cells on the two finest levels in the backward "
        "pass (fast path; see supernet.CHECKPOINTED_LEVELS)",
    )
    parser.add_argument(
        "--node-workers",
        type=int,
        default=0,
        help="a layer's nodes at once on CPU worker threads (0: as the search does, one per "
        "torch thread; 1: one node at a time)",
    )
    parser.add_argument(
        "--count-ops", action="store_true", help="also count the ATen ops of one weight step"
    )
    parser.add_argument(
        "--allocator",
        default="auto",
        help="the malloc to run with, as search workers do: auto (tcmalloc, else jemalloc, "
        "where installed), system, or a library's path (see jobs/allocator.py)",
    )
    return parser.parse_args(argv)


def preload_allocator(choice: str) -> None:
    """Start this process again with the allocator `choice` preloaded, unless it already is."""
    env = allocator_env(os.environ, choice)
    if env.get("LD_PRELOAD") != os.environ.get("LD_PRELOAD"):
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def time_steps(step, images, labels, warmup: int, steps: int, device: torch.device) -> list[float]:
    times = []
    for i in range(warmup + steps):
        _sync(device)
        started = time.perf_counter()
        step(images, labels)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - started)
    return times


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def calibrate(device: torch.device, repeats: int = 5) -> dict[str, float]:
    """This machine's GFLOP/s on two well-shaped kernels, so step times can be read against it."""
    conv_in = torch.randn(2, 64, 56, 56, device=device, requires_grad=True)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).to(device)
    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    conv_flop = 3 * 2 * 2 * 64 * 56 * 56 * 64 * 9  # forward + backward, about three forwards
    conv_s = min(
        time_steps(lambda x, _: conv(x).sum().backward(), conv_in, None, 1, repeats, device)
    )
    mm_s = min(time_steps(lambda x, y: x @ y, a, b, 1, repeats, device))
    return {
        "conv3x3_fwd_bwd_gflops": conv_flop / conv_s / 1e9,
        "matmul_gflops": 2 * 2048**3 / mm_s / 1e9,
    }


def memory_bandwidth(device: torch.device, repeats: int = 5) -> float:
    """GB/s read plus written by a copy far larger than the caches: most of a CPU step is small
    kernels bound by memory, not arithmetic, so the GFLOP/s figures alone may not tell two
    machines apart (the README's days 4 and 5, on VMs of one class with alike GFLOP/s: the
    public code's step took 1.1-1.5 times as long on day 5, ours 1.5-1.8 times)."""
    source = torch.randn(2**26, device=device)  # 256 MiB
    target = torch.empty_like(source)
    seconds = min(time_steps(lambda s, t: t.copy_(s), source, target, 1, repeats, device))
    return 2 * source.numel() * source.element_size() / seconds / 1e9


def count_ops(step, images: torch.Tensor, labels: torch.Tensor) -> int:
    """ATen ops dispatched by one step, counting each call once (not the ops it calls in turn):
    a figure that, unlike time, does not depend on what else the machine is doing."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        step(images, labels)
    return sum(1 for event in profile.events() if top_level_op(event))


def top_level_op(event) -> bool:
    """An ATen op called from Python or by the autograd engine, not from inside another op."""
    parent = event.cpu_parent
    return event.name.startswith("aten::") and not (parent and parent.name.startswith("aten::"))


def summary(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def run(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net_config = supernet_config(args)
    search = SearchConfig(batch_size=args.batch, device=args.device, precision=args.precision)
    device = resolve_device(args.device)
    model = Supernet(net_config).to(device)
    # counted on the reference path: its hooks see every module run, and the FLOPs are the same
    complexity = count_complexity(model, (args.size, args.size), batch=args.batch)
    model.fast = args.path == "fast"
    model.checkpoint_activations = args.checkpoint_activations
    model.node_workers = resolve_node_workers(args.node_workers)
    stepper = Stepper(model, search)
    images = torch.randn(args.batch, 3, args.size, args.size, device=device)
    labels = torch.randint(0, args.classes, (args.batch, args.size, args.size), device=device)
    weight = time_steps(stepper.weight_step, images, labels, args.warmup, args.steps, device)
    arch = time_steps(stepper.arch_step, images, labels, args.warmup, args.steps, device)
    flops = 3 * 2 * complexity.macs  # forward + backward is about three forwards
    peak_rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # before calibrating
    peak_gpu_gib = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0
    calibration = calibrate(device)
    result = {
        "config": vars(args),
        "torch_threads": torch.get_num_threads(),
        "node_workers": model.node_workers,
        "allocator": loaded_allocator(),
        "params": complexity.params,
        "gflop_fwd_bwd": flops / 1e9,
        "weight_step_s": summary(weight),
        "arch_step_s": summary(arch),
        "achieved_gflops": flops / 1e9 / statistics.median(weight),
        "peak_rss_gib": peak_rss_gib,
        "calibration_gflops": calibration,
        "calibration_copy_gbps": memory_bandwidth(device),
    }
    if args.count_ops:  # on one thread: the profiler sees only the thread that starts it
        model.node_workers = 1
        result["aten_ops_per_weight_step"] = count_ops(stepper.weight_step, images, labels)
    if device.type == "cuda":
        result["peak_gpu_gib"] = peak_gpu_gib
    return result


def table(result: dict) -> str:
    rows = [
        ("params", f"{result['params'] / 1e6:.2f} M"),
        ("FLOPs fwd+bwd", f"{result['gflop_fwd_bwd']:.2f} GFLOP"),
        ("weight step", _fmt(result["weight_step_s"])),
        ("arch step", _fmt(result["arch_step_s"])),
        ("achieved", f"{result['achieved_gflops']:.2f} GFLOP/s"),
        ("peak RSS", f"{result['peak_rss_gib']:.2f} GiB"),
        ("threads", f"{result['torch_threads']} torch, {result['node_workers']} node workers"),
        ("allocator", result["allocator"]),
        ("calibration", _fmt_calibration(result["calibration_gflops"])),
        ("memory", f"copy {result['calibration_copy_gbps']:.1f} GB/s (read + write)"),
    ]
    if "aten_ops_per_weight_step" in result:
        rows.append(("ATen ops", f"{result['aten_ops_per_weight_step']:,} per weight step"))
    if "peak_gpu_gib" in result:
        rows.append(("peak GPU", f"{result['peak_gpu_gib']:.2f} GiB"))
    return "\n".join(f"{name:>14}  {value}" for name, value in rows)


def _fmt_calibration(calibration: dict[str, float]) -> str:
    conv, matmul = calibration["conv3x3_fwd_bwd_gflops"], calibration["matmul_gflops"]
    return f"conv3x3 fwd+bwd {conv:.1f} GFLOP/s, matmul 2048 {matmul:.1f} GFLOP/s"


def _fmt(times: dict[str, float]) -> str:
    return f"{times['median']:.3f} s (min {times['min']:.3f}, max {times['max']:.3f})"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    arguments = parse_args(sys.argv[1:])
    preload_allocator(arguments.allocator)
    outcome = run(arguments)
    log.info("%s", json.dumps(outcome))
    log.info("%s", table(outcome))
