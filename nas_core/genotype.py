"""The decoded architecture as plain data with a JSON round-trip (AUTODEEPLAB.md §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nas_core.space import DIL_CONV_STYLES, NUM_LEVELS, PRIMITIVES

FORMAT = "autodeeplab.genotype/v1"

Edge = tuple[int, str]
Block = tuple[Edge, Edge]


class GenotypeError(ValueError):
    """A genotype that breaks a rule of the search space; the message says which."""


@dataclass(frozen=True)
class Genotype:
    network_path: tuple[int, ...]
    cell: tuple[Block, ...]
    primitives: tuple[str, ...] = PRIMITIVES
    dil_conv: str = "dense"  # how its dil_conv ops convolve (DIL_CONV_STYLES); JSON: if not dense
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def blocks(self) -> int:
        return len(self.cell)

    @property
    def layers(self) -> int:
        return len(self.network_path)

    def validate(self) -> Genotype:
        """Raise GenotypeError naming the first broken rule; return self when valid."""
        _validate_path(self.network_path)
        _validate_cell(self.cell, self.primitives)
        if self.dil_conv not in DIL_CONV_STYLES:
            raise GenotypeError(f"dil_conv is {self.dil_conv!r}; known: {list(DIL_CONV_STYLES)}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "primitives": list(self.primitives),
            "network_path": list(self.network_path),
            "cell": [[[src, op] for src, op in block] for block in self.cell],
            "blocks": self.blocks,
            **({"dil_conv": self.dil_conv} if self.dil_conv != "dense" else {}),
            **self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genotype:
        """Parse and validate the v1 JSON form; extra keys are kept as metadata."""
        if not isinstance(data, dict):
            raise GenotypeError("a genotype must be a JSON object")
        if data.get("format", FORMAT) != FORMAT:
            raise GenotypeError(f"unknown format {data.get('format')!r}, expected {FORMAT!r}")
        try:
            cell = tuple(_parse_block(block) for block in data["cell"])
            genotype = cls(
                network_path=tuple(int(level) for level in data["network_path"]),
                cell=cell,
                primitives=tuple(data.get("primitives", PRIMITIVES)),
                dil_conv=str(data.get("dil_conv", "dense")),
                metadata={k: v for k, v in data.items() if k not in _KEYS},
            )
        except KeyError as exc:
            raise GenotypeError(f"missing key {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise GenotypeError(f"malformed genotype: {exc}") from exc
        if "blocks" in data and data["blocks"] != len(cell):
            raise GenotypeError(f"'blocks' is {data['blocks']} but the cell has {len(cell)}")
        return genotype.validate()


_KEYS = {"format", "primitives", "network_path", "cell", "blocks", "dil_conv"}


def _parse_block(block: Any) -> Block:
    if len(block) != 2:
        raise ValueError(f"a block has exactly two [input, op] pairs, got {block!r}")
    (src_a, op_a), (src_b, op_b) = block
    return ((int(src_a), str(op_a)), (int(src_b), str(op_b)))


def _validate_path(path: tuple[int, ...]) -> None:
    if not path:
        raise GenotypeError("network_path is empty")
    previous = 0  # the stem sits at level 0 (1/4)
    for layer, level in enumerate(path):
        if not 0 <= level < NUM_LEVELS:
            raise GenotypeError(f"network_path[{layer}] = {level} is outside 0..{NUM_LEVELS - 1}")
        if abs(level - previous) > 1:
            raise GenotypeError(
                f"network_path[{layer}] = {level} jumps from level {previous}; "
                "a layer moves at most one level"
            )
        previous = level


def _validate_cell(cell: tuple[Block, ...], primitives: tuple[str, ...]) -> None:
    if not cell:
        raise GenotypeError("the cell has no blocks")
    for i, block in enumerate(cell):
        sources = [src for src, _ in block]
        if sources != sorted(sources) or len(set(sources)) != 2:
            raise GenotypeError(f"block {i}: inputs {sources} must be two distinct, sorted states")
        for src, op in block:
            if not 0 <= src < 2 + i:
                raise GenotypeError(f"block {i}: input {src} is not an earlier state (0..{i + 1})")
            if op not in primitives:
                raise GenotypeError(f"block {i}: unknown op {op!r}")
            if op == "none":
                raise GenotypeError(f"block {i}: 'none' cannot be a chosen op")


# The architecture the paper reports (the TF `hnasnet` release), AUTODEEPLAB.md §5.
PAPER_GENOTYPE = Genotype(
    network_path=(0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1),
    cell=(
        ((0, "dil_conv_5x5"), (1, "sep_conv_3x3")),
        ((0, "sep_conv_3x3"), (1, "dil_conv_3x3")),
        ((0, "sep_conv_3x3"), (3, "sep_conv_3x3")),
        ((2, "sep_conv_5x5"), (4, "sep_conv_5x5")),
        ((3, "sep_conv_5x5"), (5, "dil_conv_5x5")),
    ),
)
