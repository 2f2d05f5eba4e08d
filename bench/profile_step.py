"""Where a supernet weight step goes: ATen ops and autograd nodes by kind, kernels by time.

    .venv/bin/python bench/profile_step.py --size 64 --threads 1

Count the kernels before you tune them: on a noisy machine the counts repeat exactly where
times drift by 10-30%. The forward and backward passes are profiled apart, one node at a
time (the profiler sees only the thread that starts it); times are the profiler's, inflated
by it, so read them as shares.
"""

import argparse
import json
import logging
import sys
from collections import Counter

import torch
from supernet_step import (  # this folder: run as a script
    add_config_arguments,
    supernet_config,
    top_level_op,
)
from torch.profiler import ProfilerActivity, profile

from nas_core import SearchConfig, Supernet
from nas_core.stepper import Stepper, segmentation_loss

log = logging.getLogger("bench.profile")
ENGINE = "autograd::engine::evaluate_function: "


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--path", default="fast", choices=("fast", "reference"))
    parser.add_argument("--top", type=int, default=15, help="rows per table")
    return parser.parse_args(argv)


def top_level_ops(prof) -> Counter:
    """ATen ops called from Python or by the autograd engine, not from inside another op."""
    return Counter(event.name for event in prof.events() if top_level_op(event))


def backward_nodes(prof) -> Counter:
    return Counter(e.name[len(ENGINE) :] for e in prof.events() if e.name.startswith(ENGINE))


def kernel_times(*profs) -> Counter:
    """Self CPU milliseconds per op name over the given profiles."""
    times: Counter = Counter()
    for prof in profs:
        for average in prof.key_averages():
            times[average.key] += average.self_cpu_time_total / 1e3
    return times


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = supernet_config(args)
    model = Supernet(config, fast=args.path == "fast", node_workers=1)
    stepper = Stepper(model, SearchConfig(batch_size=args.batch))
    images = torch.randn(args.batch, 3, args.size, args.size)
    labels = torch.randint(0, args.classes, (args.batch, args.size, args.size))
    for _ in range(2):  # warm-up: caches, bound weights and statistics, the allocator
        stepper.weight_step(images, labels)
    model.zero_grad(set_to_none=False)
    with profile(activities=[ProfilerActivity.CPU]) as forward:
        loss = segmentation_loss(model(images), labels)
    with profile(activities=[ProfilerActivity.CPU]) as backward:
        loss.backward()
    return {
        "config": vars(args),
        "forward_ops": top_level_ops(forward),
        "backward_ops": top_level_ops(backward),
        "backward_nodes": backward_nodes(backward),
        "self_ms": kernel_times(forward, backward),
    }


def table(result: dict, rows: int) -> str:
    lines = []
    for name in ("forward_ops", "backward_ops", "backward_nodes", "self_ms"):
        counts: Counter = result[name]
        lines.append(f"{name}: {_number(sum(counts.values()))} in all")
        lines += [f"  {_number(value):>10}  {key}" for key, value in counts.most_common(rows)]
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    arguments = parse_args(sys.argv[1:])
    outcome = run(arguments)
    log.info("%s", json.dumps(outcome))
    log.info("%s", table(outcome, arguments.top))
