"""Weights as views of one flat parameter: same values, same gradients, same optimiser steps."""

import copy

import torch
from torch import nn

from nas_core.flat import FlatSGD, flat_optimizer_state, flatten_parameters


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1, bias=False))


def _steps(model: nn.Module, optimizer, count: int, zero) -> None:
    torch.manual_seed(1)
    for _ in range(count):
        zero()
        model(torch.randn(2, 3, 6, 6)).square().mean().backward()
        nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], 0.5)
        optimizer.step()


def _sgd(params) -> torch.optim.SGD:
    return torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3, foreach=True)


def test_the_weights_become_views_with_their_values_and_gradients() -> None:
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    flat = flatten_parameters(list(model.parameters())).flat
    assert flat.numel() == sum(t.numel() for t in before)
    for param, value in zip(model.parameters(), before, strict=True):
        assert param.data_ptr() >= flat.data_ptr() and torch.equal(param, value)
    model(torch.randn(2, 3, 6, 6)).sum().backward()
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert grads.abs().sum() > 0 and torch.equal(grads, flat.grad)


def test_flat_sgd_steps_match_per_parameter_steps() -> None:
    per_param, flat_model = _model(), _model()
    optimizer = _sgd(list(per_param.parameters()))
    _steps(per_param, optimizer, 3, lambda: optimizer.zero_grad(set_to_none=True))
    flat = flatten_parameters(list(flat_model.parameters())).flat
    flat_optimizer = _sgd([flat])
    _steps(flat_model, flat_optimizer, 3, flat.grad.zero_)
    for want, got in zip(per_param.parameters(), flat_model.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_a_per_parameter_optimiser_state_resumes_on_the_flat_optimiser() -> None:
    model = _model()
    optimizer = _sgd(list(model.parameters()))
    _steps(model, optimizer, 2, lambda: optimizer.zero_grad(set_to_none=True))
    saved_model, saved_state = copy.deepcopy((model.state_dict(), optimizer.state_dict()))
    _steps(model, optimizer, 1, lambda: optimizer.zero_grad(set_to_none=True))

    resumed = _model()
    resumed.load_state_dict(saved_model)
    params = list(resumed.parameters())
    flat = flatten_parameters(params, [params[-1:]])  # a run first: not the saved order
    flat_optimizer = _sgd([flat.flat])
    flat_optimizer.load_state_dict(flat_optimizer_state(saved_state, params, flat.order))
    _steps(resumed, flat_optimizer, 1, flat.flat.grad.zero_)
    for want, got in zip(model.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_the_flat_sgd_steps_as_torch_sgd_and_stays_fused_on_resume() -> None:
    flats, optimizers = [], []
    for make in (_sgd, lambda params: FlatSGD(params, 0.1, 0.9, weight_decay=1e-3)):
        model = _model()
        flat = flatten_parameters(list(model.parameters())).flat
        optimizer = make([flat])
        _steps(model, optimizer, 3, flat.grad.zero_)
        flats.append(flat)
        optimizers.append(optimizer)
    assert not torch.equal(flats[0], torch.cat([p.reshape(-1) for p in _model().parameters()]))
    torch.testing.assert_close(flats[1], flats[0], rtol=1e-6, atol=1e-7)
    buffers = [
        optimizer.state[flat]["momentum_buffer"]
        for optimizer, flat in zip(optimizers, flats, strict=True)
    ]
    torch.testing.assert_close(buffers[1], buffers[0], rtol=1e-6, atol=1e-7)
    optimizers[1].load_state_dict(optimizers[0].state_dict())  # checkpoints move between them
    assert torch.equal(optimizers[1].state[flats[1]]["momentum_buffer"], buffers[0])
    group = optimizers[1].param_groups[0]
    assert group["fused"] is True and not group["foreach"]  # not the saved plain settings
