"""The genotype: JSON v1 round-trip, the paper's architecture, and clear rejections."""

import ast
import json
from pathlib import Path

import pytest

import nas_core
from nas_core import PAPER_GENOTYPE, Genotype, GenotypeError

PAPER_JSON = {
    "format": "autodeeplab.genotype/v1",
    "primitives": ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                   "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"],
    "network_path": [0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1],
    "cell": [[[0, "dil_conv_5x5"], [1, "sep_conv_3x3"]],
             [[0, "sep_conv_3x3"], [1, "dil_conv_3x3"]],
             [[0, "sep_conv_3x3"], [3, "sep_conv_3x3"]],
             [[2, "sep_conv_5x5"], [4, "sep_conv_5x5"]],
             [[3, "sep_conv_5x5"], [5, "dil_conv_5x5"]]],
    "blocks": 5,
}  # fmt: skip


def test_the_paper_genotype_is_the_documented_json() -> None:
    assert PAPER_GENOTYPE.validate().to_dict() == PAPER_JSON
    assert Genotype.from_dict(PAPER_JSON) == PAPER_GENOTYPE


def test_json_round_trip_keeps_extra_keys_as_metadata() -> None:
    data = {**PAPER_JSON, "epoch": 7, "miou": 0.5}
    genotype = Genotype.from_dict(json.loads(json.dumps(data)))
    assert genotype.metadata == {"epoch": 7, "miou": 0.5}
    assert genotype.to_dict() == data


def test_separable_dil_convs_round_trip_and_dense_is_the_default() -> None:
    data = {**PAPER_JSON, "dil_conv": "separable"}
    genotype = Genotype.from_dict(json.loads(json.dumps(data)))
    assert (genotype.dil_conv, genotype.metadata) == ("separable", {})
    assert genotype.to_dict() == data
    assert Genotype.from_dict(PAPER_JSON).dil_conv == "dense"


def broken(**changes: object) -> dict:
    return {**PAPER_JSON, **changes}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (broken(network_path=[0, 0, 4]), "outside 0..3"),
        (broken(network_path=[0, 2, 2]), "jumps from level 0"),
        (broken(network_path=[2]), "jumps"),
        (broken(network_path=[]), "empty"),
        (broken(cell=[[[0, "sep_conv_3x3"], [2, "skip_connect"]]], blocks=1), "earlier state"),
        (broken(cell=[[[0, "conv_9x9"], [1, "skip_connect"]]], blocks=1), "unknown op"),
        (broken(cell=[[[0, "none"], [1, "skip_connect"]]], blocks=1), "'none'"),
        (broken(cell=[[[1, "skip_connect"], [0, "sep_conv_3x3"]]], blocks=1), "sorted"),
        (broken(cell=[[[1, "skip_connect"], [1, "sep_conv_3x3"]]], blocks=1), "distinct"),
        (broken(cell=[[[0, "skip_connect"]]], blocks=1), "exactly two"),
        (broken(blocks=4), "'blocks' is 4"),
        (broken(format="other/v9"), "unknown format"),
        (broken(dil_conv="grouped"), "dil_conv is 'grouped'"),
        ({"cell": PAPER_JSON["cell"]}, "missing key 'network_path'"),
        ([1, 2], "JSON object"),
    ],
)
def test_invalid_genotypes_are_rejected_with_a_reason(data: object, reason: str) -> None:
    with pytest.raises(GenotypeError, match=reason):
        Genotype.from_dict(data)  # type: ignore[arg-type]


@pytest.mark.parametrize("module", ["genotype.py", "space.py"])
def test_the_genotype_modules_import_no_torch(module: str) -> None:
    """The service's torch-free side reasons about genotypes; keep these files plain."""
    tree = ast.parse((Path(nas_core.__file__).parent / module).read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] == "torch"]
