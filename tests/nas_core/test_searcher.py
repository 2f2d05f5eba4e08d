"""The search loop: callbacks, the arch start epoch, checkpoints, stop and exact resume."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _search_helpers import NET, final_state, tiny_searcher

from nas_core import SearchCallbacks
from nas_core.checkpoint import list_checkpoints, load_latest, load_state, save_atomic

HELPER = Path(__file__).with_name("_search_helpers.py")


def test_a_run_reports_steps_epochs_and_checkpoints(tmp_path: Path) -> None:
    steps, epochs, saved = [], [], []
    callbacks = SearchCallbacks(
        on_step=steps.append, on_epoch=epochs.append, on_checkpoint=saved.append
    )
    result = tiny_searcher(tmp_path, callbacks).run()
    assert [s.global_step for s in steps] == [1, 2, 3, 4]
    assert [s.phase for s in steps] == ["weights"] * 2 + ["weights+arch"] * 2
    assert steps[0].arch_loss is None and steps[-1].arch_loss is not None
    assert [e.epoch for e in epochs] == [0, 1]
    assert all(0.0 <= e.miou <= 1.0 and e.genotype.layers == 2 for e in epochs)
    assert len(epochs[0].alphas) == 20 and len(epochs[0].betas) == 2
    assert [c.epoch for c in saved] == [1, 2] and all(c.path.exists() for c in saved)
    assert result.epochs_completed == 2 and not result.stopped
    assert result.genotype.validate() == epochs[-1].genotype
    assert len(result.history) == 2


def test_the_genotype_names_the_supernets_dil_convs(tmp_path: Path) -> None:
    net = dataclasses.replace(NET, dil_conv="separable")
    result = tiny_searcher(tmp_path, net=net, epochs=1, arch_start_epoch=0).run()
    assert result.genotype.dil_conv == "separable"
    assert result.genotype.to_dict()["dil_conv"] == "separable"


def test_a_checkpoint_from_before_dil_conv_resumes_and_another_space_is_refused(tmp_path):
    tiny_searcher(tmp_path / "run", epochs=1, arch_start_epoch=0).run()
    path, state = load_latest(tmp_path / "run")
    del state["supernet_config"]["dil_conv"]  # written before the field existed
    save_atomic(state, path)
    assert tiny_searcher(tmp_path / "run", epochs=1, arch_start_epoch=0).resume(path)
    separable = dataclasses.replace(NET, dil_conv="separable")
    with pytest.raises(ValueError, match="different search space"):
        tiny_searcher(tmp_path / "run", net=separable).load_state_dict(load_state(path))


def test_architecture_steps_start_at_the_start_epoch(tmp_path: Path) -> None:
    alphas = []
    callbacks = SearchCallbacks(on_epoch=lambda info: alphas.append(torch.tensor(info.alphas)))
    searcher = tiny_searcher(tmp_path, callbacks)
    initial = searcher.model.alphas.detach().softmax(-1).clone()
    searcher.run()
    assert torch.equal(alphas[0], initial)  # epoch 0: weights only
    assert not torch.allclose(alphas[1], initial)


def test_retention_keeps_the_latest_and_the_best(tmp_path: Path) -> None:
    saved = []
    callbacks = SearchCallbacks(on_checkpoint=saved.append)
    tiny_searcher(tmp_path, callbacks, epochs=3, keep_checkpoints=1).run()
    best = max(saved, key=lambda c: (c.is_best, c.epoch) if c.is_best else (False, 0))
    kept = {p.name for p in list_checkpoints(tmp_path)}
    assert "epoch-0003.pt" in kept and best.path.name in kept
    assert len(kept) <= 2
    assert all(p.name not in kept for c in saved for p in c.removed)


def test_should_stop_saves_a_mid_epoch_checkpoint(tmp_path: Path) -> None:
    calls = iter(range(100))
    callbacks = SearchCallbacks(should_stop=lambda: next(calls) >= 3)
    result = tiny_searcher(tmp_path, callbacks).run()
    assert result.stopped and result.epochs_completed == 1
    assert [p.name for p in list_checkpoints(tmp_path)][-1] == "epoch-0001-step-000001.pt"


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path: Path) -> None:
    tiny_searcher(tmp_path).run()
    newest = list_checkpoints(tmp_path)[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    path, state = load_latest(tmp_path)
    assert path.name == "epoch-0001.pt" and state["progress"]["epoch"] == 1


def test_resume_in_a_fresh_process_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """3 steps, stop, resume in a new process for the last step == 4 uninterrupted steps."""
    uninterrupted = tiny_searcher(tmp_path / "straight")
    uninterrupted.run()
    calls = iter(range(100))
    stopping = SearchCallbacks(should_stop=lambda: next(calls) >= 3)
    assert tiny_searcher(tmp_path / "split", stopping).run().stopped
    out = tmp_path / "resumed.pt"
    subprocess.run(
        [sys.executable, str(HELPER), str(tmp_path / "split"), str(out)], check=True, timeout=300
    )
    resumed = torch.load(out, weights_only=True)
    expected = final_state(uninterrupted)
    assert resumed.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(resumed[name], tensor), name
    assert torch.equal(resumed["arch.alphas"], expected["arch.alphas"])
    assert torch.equal(resumed["arch.betas"], expected["arch.betas"])
