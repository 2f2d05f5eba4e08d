"""The genotype's wire form (AUTODEEPLAB.md §5): the worker stores nas_core's Genotype.to_dict(),
the API serves it. Extra keys (epoch, metadata, "dil_conv": "separable" where the search space
had separable dil convs) pass through."""

from pydantic import BaseModel, ConfigDict

FORMAT = "autodeeplab.genotype/v1"


class GenotypeDoc(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: str = FORMAT
    primitives: list[str]
    network_path: list[int]
    cell: list[list[tuple[int, str]]]
    blocks: int
