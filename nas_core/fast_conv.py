"""The fast path's stacked convs on the CPU, with a backward pass that picks faster kernels.

On the fast path's shapes (hundreds of groups, a few pixels each) oneDNN's weight gradient is the
slowest kernel of a step: for a depthwise 5x5 conv on 2x480x8x8 it takes ten times the forward.
That gradient is itself a depthwise correlation of the padded input with the output gradient,
which oneDNN's *forward* depthwise kernel computes four to eight times faster. The input gradient
and dense weight gradients stay with `convolution_backward`, asking for one output at a time, so
an architecture step computes no weight gradient at all. Same sums, another order: the
equivalence tests compare the result with the reference path.
"""

import torch
import torch.nn.functional as F

_CHANNELS_LAST_FROM = 24  # pixels per side; at 16 channels-last dense convs are slower


def stacked_conv(
    x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int], dilation, groups: int
) -> torch.Tensor:
    """A bias-free stride-1 conv2d; on the CPU outside autocast, with the faster backward."""
    if x.device.type != "cpu" or torch.is_autocast_enabled("cpu"):
        return F.conv2d(x, weight, None, 1, padding, dilation, groups)
    return _StackedConv.apply(x, weight, tuple(padding), tuple(dilation), groups)


def _layout(x: torch.Tensor, weight: torch.Tensor, groups: int) -> torch.Tensor:
    """Channels-last for dense (grouped) convs on large levels, where oneDNN's kernels are two
    to three times as fast there; depthwise convs are faster as they are, at every size."""
    depthwise = groups == x.shape[1]
    if not depthwise and min(x.shape[2:]) >= _CHANNELS_LAST_FROM:
        return x.contiguous(memory_format=torch.channels_last)
    return x


class _StackedConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, padding, dilation, groups):
        x = _layout(x, weight, groups)
        ctx.save_for_backward(x, weight)
        ctx.conv = (padding, dilation, groups)
        return F.conv2d(x, weight, None, 1, padding, dilation, groups).contiguous()

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        padding, dilation, groups = ctx.conv
        grad = grad.contiguous(memory_format=_memory_format(x))
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = _conv_backward(grad, x, weight, ctx.conv, (True, False))
        if ctx.needs_input_grad[1]:
            depthwise = groups == x.shape[1] and weight.shape[1] == 1
            if depthwise and _trick_is_faster(weight.shape[2:], x.shape[2:]):
                grad_w = _depthwise_weight_grad(x, grad, padding, dilation)
            else:
                grad_w = _conv_backward(grad, x, weight, ctx.conv, (False, True))
        return grad_x, grad_w, None, None, None


def _trick_is_faster(kernel, size) -> bool:
    """oneDNN's own depthwise weight gradient is only fast for 3x3 kernels that fit in the
    input; 5x5 kernels, and kernels larger than the input, are three to five times slower
    than the trick (measured from 2 to 16 px, batch 2 and 6, 160 and 320 channels)."""
    return max(kernel) > 3 or max(kernel) > min(size)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def _conv_backward(grad, x, weight, conv: tuple, mask: tuple[bool, bool]) -> torch.Tensor:
    padding, dilation, groups = conv
    grads = torch.ops.aten.convolution_backward(
        grad, x, weight, None, [1, 1], list(padding), list(dilation), False, [0, 0], groups,
        [*mask, False],
    )  # fmt: skip
    return grads[0] if mask[0] else grads[1]


def _depthwise_weight_grad(
    x: torch.Tensor, grad: torch.Tensor, padding: tuple[int, int], dilation: tuple[int, int]
) -> torch.Tensor:
    """dW[c, i, j] = sum over n, y, x of grad[n, c, y, x] * x_padded[n, c, y + i*d, x + j*d]: a
    depthwise conv of each (n, c) padded image with its output gradient as the kernel, strided
    by the dilation, summed over the batch."""
    n, c, height, width = x.shape
    padded = F.pad(x.contiguous(), (padding[1], padding[1], padding[0], padding[0]))
    kernel = grad.contiguous().view(n * c, 1, height, width)
    taps = F.conv2d(padded.view(1, n * c, *padded.shape[2:]), kernel, None, dilation, 0, 1, n * c)
    return taps.view(n, c, *taps.shape[2:]).sum(0).unsqueeze(1)
