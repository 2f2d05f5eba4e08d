"""stacked_conv: runs of convs with their own kernels, fitted to one kernel and run as one
conv, give each conv's own output and each weight its own gradient (float64, tight)."""

import pytest
import torch
import torch.nn.functional as F

from nas_core.fast_conv import grouped_pointwise, stacked_conv

TOLERANCE = {"rtol": 1e-9, "atol": 1e-11}


def _each_conv(x: torch.Tensor, weights: list[torch.Tensor], dilation: int, dense: bool):
    """The reference: every conv alone, "same"-padded with its own kernel."""
    outputs, channels = [], x.shape[1] // (1 if dense else sum(w.shape[0] for w in weights))
    start = 0
    for run in weights:
        for weight in run:
            own = x if dense else x[:, start : start + channels]
            groups = own.shape[1] // weight.shape[1]
            padding = dilation * (weight.shape[-1] // 2)
            outputs.append(F.conv2d(own, weight, None, 1, padding, dilation, groups))
            start += channels
    return torch.cat(outputs, dim=1)


def _gradients(out: torch.Tensor, x: torch.Tensor, weights: list[torch.Tensor]):
    upstream = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    return torch.autograd.grad(out, [x, *weights], upstream)


@pytest.mark.parametrize("size", [2, 5, 9, 26])  # kernels cropped on 2 and 5 px, padded on 9
@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("dilation", [1, 2])
def test_runs_of_kernel_sizes_match_each_conv_alone(size: int, dense: bool, dilation: int):
    torch.manual_seed(size)
    channels, kernels = 3, (3, 5)
    per_conv_in = channels if dense else 1
    weights = [
        torch.randn(2, channels, per_conv_in, k, k, dtype=torch.float64, requires_grad=True)
        for k in kernels
    ]
    x_channels = channels if dense else 2 * len(kernels) * channels
    x = torch.randn(2, x_channels, size, size, dtype=torch.float64, requires_grad=True)
    # the stack needs no more than the input can reach: the largest kernel, cropped
    reach = min(kernels[-1], 2 * ((size - 1) // dilation) + 1)
    groups = 1 if dense else x_channels

    fast = stacked_conv(x, weights, (reach, reach), (dilation, dilation), groups)
    reference = _each_conv(x, weights, dilation, dense)

    torch.testing.assert_close(fast, reference, **TOLERANCE)
    for got, want in zip(
        _gradients(fast, x, weights), _gradients(reference, x, weights), strict=True
    ):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, **TOLERANCE)


def test_frozen_weights_get_no_gradient_and_the_input_still_does():
    weights = [torch.randn(2, 4, 1, 3, 3, dtype=torch.float64)]
    x = torch.randn(1, 8, 6, 6, dtype=torch.float64, requires_grad=True)
    out = stacked_conv(x, weights, (3, 3), (1, 1), 8)
    (grad_x,) = torch.autograd.grad(out.sum(), [x])
    assert grad_x.abs().sum() > 0


@pytest.mark.parametrize("size", [2, 3])  # 6 outputs: columns side by side on 2x2, broadcast on 3x3
def test_grouped_pointwise_matches_a_grouped_conv(size: int):
    torch.manual_seed(size)
    groups, channels, out_channels = 3, 4, 6
    x = torch.randn(2, groups * channels, size, size, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(
        groups * out_channels, channels, 1, 1, dtype=torch.float64, requires_grad=True
    )

    fast = grouped_pointwise(x, weight, groups)
    reference = F.conv2d(x, weight, groups=groups)

    torch.testing.assert_close(fast, reference, **TOLERANCE)
    for got, want in zip(
        _gradients(fast, x, [weight]), _gradients(reference, x, [weight]), strict=True
    ):
        torch.testing.assert_close(got, want, **TOLERANCE)


@pytest.mark.parametrize("size", [2, 9])
def test_copies_are_made_inside_and_their_gradients_summed(size: int):
    """A grouped conv on `copies` copies of x (made inside, not kept for the backward pass)
    gives what each conv gives on its own copy, and x the sum of the copies' gradients."""
    torch.manual_seed(size)
    channels, kernels, per_run = 3, (3, 5), 2
    weights = [
        torch.randn(per_run, channels, 1, k, k, dtype=torch.float64, requires_grad=True)
        for k in kernels
    ]
    copies = per_run * len(kernels)
    x = torch.randn(2, channels, size, size, dtype=torch.float64, requires_grad=True)
    reach = min(kernels[-1], 2 * (size - 1) + 1)

    fast = stacked_conv(x, weights, (reach, reach), (1, 1), copies * channels, copies)
    reference = _each_conv(x.repeat(1, copies, 1, 1), weights, 1, dense=False)

    torch.testing.assert_close(fast, reference, **TOLERANCE)
    for got, want in zip(
        _gradients(fast, x, weights), _gradients(reference, x, weights), strict=True
    ):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, **TOLERANCE)
