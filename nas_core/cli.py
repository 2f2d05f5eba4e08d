"""Command line: `python -m nas_core search|decode|inspect|render` (see README)."""

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from nas_core.callbacks import EpochInfo, SearchCallbacks, StepInfo
from nas_core.checkpoint import load_state
from nas_core.complexity import count_complexity, format_complexity
from nas_core.data import DatasetError
from nas_core.decode import decode_genotype
from nas_core.derived import build_network
from nas_core.genotype import Genotype, GenotypeError
from nas_core.render import render_svg
from nas_core.run_config import load_run_config
from nas_core.searcher import Searcher, saved_supernet_config

log = logging.getLogger("nas_core")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return args.command(args)
    except (ValueError, DatasetError, GenotypeError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nas_core", description=__doc__)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    commands = parser.add_subparsers(required=True)
    search = commands.add_parser("search", help="run an architecture search")
    search.add_argument("--config", type=Path, required=True, help="run config JSON")
    search.add_argument("--out", type=Path, required=True, help="output folder")
    search.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    search.set_defaults(command=run_search)
    decode = commands.add_parser("decode", help="print the genotype stored in a checkpoint")
    decode.add_argument("checkpoint", type=Path)
    decode.set_defaults(command=run_decode)
    inspect = commands.add_parser("inspect", help="parameters and MACs of a derived network")
    inspect.add_argument("genotype", type=Path)
    inspect.add_argument("--filter-multiplier", type=int, default=20)
    inspect.add_argument("--num-classes", type=int, default=19)
    inspect.add_argument("--input-size", type=int, nargs=2, default=(1024, 2048))
    inspect.set_defaults(command=run_inspect)
    render = commands.add_parser("render", help="draw a genotype's path and cell as SVG")
    render.add_argument("genotype", type=Path)
    render.add_argument("--out", type=Path, required=True, help="the SVG file to write")
    render.set_defaults(command=run_render)
    return parser


def run_search(args: argparse.Namespace) -> int:
    config = load_run_config(args.config)
    train, val = config.sources()
    out: Path = args.out
    if (
        not args.resume
        and (out / "checkpoints").exists()
        and any(out.joinpath("checkpoints").iterdir())
    ):
        raise ValueError(f"{out} already holds checkpoints: pass --resume or choose another --out")
    progress = ProgressReporter(out / "metrics.jsonl")
    searcher = Searcher(
        config.supernet,
        config.search,
        train,
        val,
        out / "checkpoints",
        SearchCallbacks(on_step=progress.on_step, on_epoch=progress.on_epoch),
    )
    if args.resume and not searcher.resume():
        log.warning("no checkpoint in %s; starting from scratch", out / "checkpoints")
    with progress:
        result = searcher.run()
    metadata = {"best_miou": result.best_miou, "epochs": result.epochs_completed}
    genotype = dataclasses.replace(result.genotype, metadata=metadata)
    (out / "genotype.json").write_text(json.dumps(genotype.to_dict(), indent=2) + "\n")
    log.info("genotype written to %s (best mIoU %.4f)", out / "genotype.json", result.best_miou)
    return 0


class ProgressReporter:
    """A tqdm bar over all steps of the search, and one JSON line of metrics per epoch."""

    def __init__(self, metrics_path: Path) -> None:
        self.metrics_path = metrics_path
        self.bar: tqdm | None = None

    def __enter__(self) -> "ProgressReporter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def on_step(self, info: StepInfo) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=info.total_steps,
                initial=info.global_step - 1,
                unit="step",
                dynamic_ncols=True,
                file=sys.stderr,
            )
        self.bar.set_description(f"epoch {info.epoch + 1}/{info.epochs} {info.phase}")
        arch = "-" if info.arch_loss is None else f"{info.arch_loss:.3f}"
        self.bar.set_postfix_str(f"loss {info.weight_loss:.3f} arch {arch} lr {info.lr:.4f}")
        self.bar.update(1)

    def on_epoch(self, info: EpochInfo) -> None:
        record = {
            "epoch": info.epoch,
            "miou": info.miou,
            "pixel_accuracy": info.pixel_accuracy,
            "val_loss": info.val_loss,
            "seconds": info.seconds,
            "network_path": list(info.genotype.network_path),
        }
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        message = (
            f"epoch {info.epoch + 1}/{info.epochs}: val mIoU {info.miou:.4f}, "
            f"pixel acc {info.pixel_accuracy:.4f}, path {list(info.genotype.network_path)}"
        )
        if self.bar is None:
            log.info("%s", message)
        else:
            self.bar.write(message, file=sys.stderr)  # above the bar, not through it


def run_decode(args: argparse.Namespace) -> int:
    state = load_state(args.checkpoint)
    model = state.get("model", {})
    if "arch.alphas" not in model:
        raise ValueError(f"{args.checkpoint} is not a search checkpoint (no alphas)")
    config = saved_supernet_config(state)
    primitives, dil_conv = tuple(config["primitives"]), config["dil_conv"]
    genotype = decode_genotype(model["arch.alphas"], model["arch.betas"], primitives, dil_conv)
    sys.stdout.write(json.dumps(genotype.to_dict(), indent=2) + "\n")
    return 0


def run_render(args: argparse.Namespace) -> int:
    genotype = Genotype.from_dict(json.loads(args.genotype.read_text()))
    args.out.write_text(render_svg(genotype))
    log.info("drawing written to %s", args.out)
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    genotype = Genotype.from_dict(json.loads(args.genotype.read_text()))
    network = build_network(genotype, args.filter_multiplier, args.num_classes)
    complexity = count_complexity(network, tuple(args.input_size))
    report = {
        "params": complexity.params,
        "macs": complexity.macs,
        "gflops": complexity.gflops,
        "input_size": list(args.input_size),
        "summary": format_complexity(complexity),
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0
