from typing import Any

import pytest
from pydantic import ValidationError

from jobs.spec import SearchSpec

TINY = {
    "dataset": {"kind": "synthetic", "num_classes": 3, "num_samples": 16, "image_size": 48},
    "search_space": {"layers": 3, "filter_multiplier": 2},
    "training": {"epochs": 2, "arch_start_epoch": 1, "batch_size": 2, "crop_size": 48},
}


def test_the_tiny_search_of_the_readme_is_valid() -> None:
    spec = SearchSpec.model_validate(TINY)
    assert spec.search_space.blocks == 5
    assert spec.training.weight_lr == 0.025
    assert spec.dataset.name is None


def test_defaults_are_the_papers() -> None:
    spec = SearchSpec()
    assert (spec.dataset.kind, spec.dataset.name, spec.dataset.num_classes) == (
        "cityscapes",
        "cityscapes",
        19,
    )
    assert (spec.search_space.layers, spec.search_space.filter_multiplier) == (12, 8)
    training = spec.training
    assert (training.epochs, training.arch_start_epoch, training.crop_size) == (40, 20, 321)
    assert (training.arch_lr, training.arch_weight_decay, training.weight_decay) == (
        3e-3,
        1e-3,
        3e-4,
    )


@pytest.mark.parametrize(
    ("kind", "classes"), [("cityscapes", 19), ("pascal_voc", 21), ("ade20k", 150), ("synthetic", 5)]
)
def test_class_count_follows_the_dataset(kind: str, classes: int) -> None:
    assert SearchSpec.model_validate({"dataset": {"kind": kind}}).dataset.num_classes == classes


def _error(body: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        SearchSpec.model_validate(body)
    first = caught.value.errors()[0]
    return ".".join(map(str, first["loc"])), first["msg"]


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ({"training": {"batch_size": 1}}, "training.batch_size", "greater than or equal to 2"),
        ({"training": {"lr": 0.1}}, "training.lr", "Extra inputs"),
        ({"dataset": {"kind": "folder", "name": "/etc"}}, "dataset.name", "never an absolute"),
        ({"dataset": {"kind": "folder", "name": "a/../b"}}, "dataset.name", "'..'"),
        ({"dataset": {"kind": "folder", "name": "mine"}}, "dataset", "num_classes"),
        ({"dataset": {"kind": "cityscapes", "num_classes": 7}}, "dataset", "has 19 classes"),
        ({"dataset": {"kind": "synthetic", "name": "x"}}, "dataset", "no name"),
        ({"dataset": {"kind": "ade20k", "num_samples": 8}}, "dataset", "'synthetic' only"),
        ({"training": {"epochs": 5}}, "training", "arch_start_epoch (20)"),
        ({"search_space": {"primitives": ["none"]}}, "search_space.primitives", "other than"),
        ({"search_space": {"primitives": ["conv_9x9"]}}, "search_space.primitives.0", "Input"),
        ({"resources": {"device": "tpu"}}, "resources.device", "Input should be"),
        ({"search_space": {"dil_conv": "grouped"}}, "search_space.dil_conv", "'separable'"),
    ],
)
def test_bad_specs_name_the_field(body: dict[str, Any], where: str, message: str) -> None:
    location, text = _error(body)
    assert location == where
    assert message in text


def _schema_leaves(node: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every property schema of the SearchSpec JSON schema, `Model.field`; the variants of an
    optional field (anyOf) are listed each, so `int | None` is checked as an int."""
    leaves = []
    for model, definition in node["$defs"].items():
        for name, prop in definition.get("properties", {}).items():
            leaves += [(f"{model}.{name}", variant) for variant in prop.get("anyOf", [prop])]
    return leaves


def _lacks(prop: dict[str, Any], *keys: str) -> bool:
    return not any(key in prop for key in keys)


def test_every_number_string_and_list_of_the_spec_is_bounded() -> None:
    leaves = _schema_leaves(SearchSpec.model_json_schema())
    numbers = [(name, p) for name, p in leaves if p.get("type") in ("integer", "number")]
    assert len(numbers) >= 15  # the walk found the fields: an empty walk would check nothing
    unbounded = [
        name
        for name, prop in numbers
        if _lacks(prop, "minimum", "exclusiveMinimum")
        or _lacks(prop, "maximum", "exclusiveMaximum")
    ]
    free_strings = [
        name
        for name, prop in leaves
        if prop.get("type") == "string" and "enum" not in prop and _lacks(prop, "maxLength")
    ]
    endless_lists = [n for n, p in leaves if p.get("type") == "array" and _lacks(p, "maxItems")]
    assert (unbounded, free_strings, endless_lists) == ([], [], [])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"training": {"batch_size": 4096}}, "training.batch_size"),
        ({"training": {"arch_start_epoch": 5000}}, "training.arch_start_epoch"),
        ({"training": {"weight_decay": 2.0}}, "training.weight_decay"),
        ({"training": {"val_batches": 10**9}}, "training.val_batches"),
        ({"training": {"momentum": 1.0}}, "training.momentum"),
        ({"search_space": {"layers": 25}}, "search_space.layers"),
        ({"search_space": {"primitives": []}}, "search_space.primitives"),
        ({"dataset": {"kind": "folder", "name": "x" * 256}}, "dataset.name"),
    ],
)
def test_values_out_of_range_name_their_field(body: dict[str, Any], where: str) -> None:
    assert _error(body)[0] == where


@pytest.mark.parametrize("value", [True, "4", 4.0])
def test_numbers_are_numbers(value: object) -> None:
    assert _error({"training": {"batch_size": value}})[0] == "training.batch_size"


def test_a_whole_number_is_a_fine_rate() -> None:
    assert SearchSpec.model_validate({"training": {"weight_decay": 0}}).training.weight_decay == 0
