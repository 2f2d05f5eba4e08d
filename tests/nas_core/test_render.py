"""The SVG drawing of a genotype: valid XML, the path marked, every chosen op labelled."""

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from nas_core import PAPER_GENOTYPE
from nas_core.cli import main
from nas_core.render import PATH_COLOUR, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_render_command_writes_a_valid_svg_of_the_paper_genotype(tmp_path: Path) -> None:
    genotype_file, svg_file = tmp_path / "paper.json", tmp_path / "paper.svg"
    genotype_file.write_text(json.dumps(PAPER_GENOTYPE.to_dict()))
    assert main(["render", str(genotype_file), "--out", str(svg_file)]) == 0
    root = ET.parse(svg_file).getroot()
    assert root.tag == f"{SVG}svg"
    marked = [c for c in root.iter(f"{SVG}circle") if c.get("fill") == PATH_COLOUR]
    assert len(marked) == PAPER_GENOTYPE.layers + 1  # the stem and one node per layer
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for block in PAPER_GENOTYPE.cell:
        for _, op in block:
            assert op in labels
    assert labels.count("dil_conv_5x5") == 2 and "block 4" in labels


def test_separable_dil_convs_are_named_in_the_cell_title() -> None:
    def titles(genotype) -> list[str]:
        texts = ET.fromstring(render_svg(genotype)).iter(f"{SVG}text")
        return [t.text for t in texts if t.text.startswith("Cell level")]

    separable = dataclasses.replace(PAPER_GENOTYPE, dil_conv="separable")
    assert titles(PAPER_GENOTYPE) == ["Cell level: the operations of each block"]
    assert titles(separable) == [
        "Cell level: the operations of each block (dil convs depthwise-separable)"
    ]


def test_beta_weights_set_the_edge_widths() -> None:
    layers = PAPER_GENOTYPE.layers
    heavy = [[[1.0, 1.0, 1.0] for _ in range(4)] for _ in range(layers)]
    light = [[[0.0, 0.0, 0.0] for _ in range(4)] for _ in range(layers)]
    widths = [
        {line.get("stroke-width") for line in ET.fromstring(render_svg(PAPER_GENOTYPE, betas))
         .iter(f"{SVG}line") if line.get("stroke") == "#c8c8c8"}
        for betas in (heavy, light)
    ]  # fmt: skip
    assert widths == [{"3.50"}, {"0.50"}]
