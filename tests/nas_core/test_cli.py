"""The command line: search writes its outputs, decode and inspect print JSON, errors are clear."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nas_core import PAPER_GENOTYPE, Genotype
from nas_core.cli import main

TINY_RUN = {
    "supernet": {"layers": 2, "filter_multiplier": 2, "num_classes": 3},
    "search": {"epochs": 2, "arch_start_epoch": 1, "crop_size": 16, "val_batches": 1},
    "dataset": {"kind": "synthetic", "num_samples": 8, "image_size": 20},
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    config = folder / "run.json"
    config.write_text(json.dumps(TINY_RUN))
    command = [sys.executable, "-m", "nas_core", "--threads", "1", "search",
               "--config", str(config), "--out", str(folder / "out")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "val mIoU" in done.stderr  # the per-epoch line under the progress bar
    return folder / "out"


def test_search_writes_genotype_checkpoints_and_metrics(searched: Path) -> None:
    genotype = Genotype.from_dict(json.loads((searched / "genotype.json").read_text()))
    assert genotype.layers == 2 and "best_miou" in genotype.metadata
    assert sorted(p.name for p in (searched / "checkpoints").iterdir()) == [
        "epoch-0001.pt",
        "epoch-0002.pt",
    ]
    lines = (searched / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1]


def test_decode_prints_the_checkpoints_genotype(searched: Path, capsys) -> None:
    assert main(["decode", str(searched / "checkpoints" / "epoch-0002.pt")]) == 0
    decoded = Genotype.from_dict(json.loads(capsys.readouterr().out))
    saved = Genotype.from_dict(json.loads((searched / "genotype.json").read_text()))
    assert decoded == saved


def test_search_refuses_to_overwrite_without_resume(searched: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.json"
    config.write_text(json.dumps(TINY_RUN))
    assert main(["search", "--config", str(config), "--out", str(searched)]) == 2


def test_resume_of_a_finished_search_only_rewrites_the_genotype(searched: Path, tmp_path) -> None:
    config = tmp_path / "run.json"
    config.write_text(json.dumps(TINY_RUN))
    before = (searched / "genotype.json").read_text()
    assert main(["search", "--config", str(config), "--out", str(searched), "--resume"]) == 0
    assert (
        json.loads((searched / "genotype.json").read_text())["cell"] == json.loads(before)["cell"]
    )


def test_inspect_reports_parameters_and_macs(tmp_path: Path, capsys) -> None:
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(PAPER_GENOTYPE.to_dict()))
    args = ["inspect", str(path), "--filter-multiplier", "4", "--num-classes", "5",
            "--input-size", "64", "96"]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["params"] > 10_000 and report["macs"] > report["params"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"search": {"epochs": 0}}, "epochs must be at least 1"),
        ({"supernet": {"layerz": 3}}, "unknown keys"),
        ({"model": {}}, "unknown sections"),
        ({"dataset": {"kind": "imagenet"}}, "unknown dataset kind"),
    ],
)
def test_bad_configs_fail_with_a_clear_message(tmp_path: Path, caplog, raw, message) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(raw))
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert message in caplog.text
