from pathlib import Path

import pytest
from worker_support import TINIEST_SPEC

from jobs import spec as wire
from jobs.spec import SearchSpec
from nas_core import SearchConfig, SupernetConfig
from nas_core.data import DatasetError
from nas_core.space import DIL_CONV_STYLES, PRIMITIVES
from worker.mapping import open_sources, search_config, supernet_config


def test_the_wire_names_the_same_primitives_in_the_same_order() -> None:
    assert wire.PRIMITIVES == PRIMITIVES
    assert wire.DIL_CONV_STYLES == DIL_CONV_STYLES


def test_spec_defaults_are_nas_core_defaults() -> None:
    spec = SearchSpec()
    assert supernet_config(spec) == SupernetConfig()
    assert search_config(spec) == SearchConfig()


def test_every_field_reaches_the_configs() -> None:
    spec = SearchSpec.model_validate(
        {
            "search_space": {
                "layers": 4,
                "filter_multiplier": 3,
                "blocks": 2,
                "dil_conv": "separable",
            },
            "training": {"epochs": 7, "arch_start_epoch": 3, "val_batches": 2, "seed": 9},
            "resources": {"device": "cpu", "precision": "bf16", "checkpoint_activations": True},
        }
    )
    net, search = supernet_config(spec), search_config(spec)
    assert (net.layers, net.filter_multiplier, net.blocks, net.dil_conv) == (4, 3, 2, "separable")
    assert (search.epochs, search.arch_start_epoch, search.val_batches) == (7, 3, 2)
    assert (search.seed, search.device, search.precision) == (9, "cpu", "bf16")
    assert search.checkpoint_activations is True


def test_synthetic_sources_follow_the_spec(tmp_path: Path) -> None:
    train, val = open_sources(SearchSpec.model_validate(TINIEST_SPEC), tmp_path)
    assert (len(train), train.num_classes) == (8, 3)
    assert len(val) > 0


def test_a_dataset_is_opened_under_the_data_root(tmp_path: Path) -> None:
    spec = SearchSpec.model_validate(
        {"dataset": {"kind": "folder", "name": "roads", "num_classes": 4}}
    )
    (tmp_path / "roads").mkdir()  # empty: nas_core names the folder it looked in
    with pytest.raises(DatasetError, match=str(tmp_path.resolve() / "roads")):
        open_sources(spec, tmp_path)


def test_a_link_swapped_in_after_submission_is_refused(tmp_path: Path) -> None:
    data_root, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    (data_root / "roads").mkdir(parents=True)
    elsewhere.mkdir()
    spec = SearchSpec.model_validate(
        {"dataset": {"kind": "folder", "name": "roads", "num_classes": 4}}
    )
    (data_root / "roads").rmdir()  # accepted at submission; a link to elsewhere replaces it
    (data_root / "roads").symlink_to(elsewhere)
    with pytest.raises(DatasetError, match="outside the data root"):
        open_sources(spec, data_root)
