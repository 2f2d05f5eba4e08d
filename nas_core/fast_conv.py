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
    x: torch.Tensor,
    weights: list[torch.Tensor],
    kernel: tuple[int, int],
    dilation,
    groups: int,
    copies: int = 1,
) -> torch.Tensor:
    """A bias-free stride-1 "same" conv2d whose weight is `weights` (runs of convs, each
    (convs, out, in/groups, *its kernel)) fitted to `kernel` and stacked (see `assemble`), on
    `copies` copies of x side by side in the channel axis.

    On the CPU outside autocast one autograd node does it all: the stacked weight is built
    for the forward pass and, unless it is a small depthwise one kept from there, again for the
    backward pass, and the gradient goes back to each run cut to its own kernel. The copies
    are made in the forward pass and again in the backward pass, not kept in between: for
    the sep convs' first depthwise conv (ten copies of a state) that is 22 MB less memory at
    64 px, 88 MB at 128 px.
    """
    padding = same_padding(dilation, kernel)
    if x.device.type != "cpu" or torch.is_autocast_enabled("cpu"):
        weight = assemble(weights, kernel)
        return F.conv2d(replicate(x, copies), weight, None, 1, padding, dilation, groups)
    if tuple(kernel) == (1, 1) and groups == x.shape[1] * copies:
        # a depthwise 1x1 conv (a dil conv cropped on a 2x2 level) scales each channel: one
        # multiply, where oneDNN takes 0.1-0.2 ms a call for it, and three calls with backward
        return replicate(x, copies) * assemble(weights, kernel).view(1, -1, 1, 1)
    conv = (tuple(kernel), padding, tuple(dilation), groups, copies)
    return _StackedConv.apply(x, conv, *weights)


def replicate(x: torch.Tensor, copies: int) -> torch.Tensor:
    """`copies` copies of x side by side in the channel axis."""
    return x.repeat(1, copies, 1, 1) if copies > 1 else x


def grouped_pointwise(y: torch.Tensor, weight: torch.Tensor, groups: int) -> torch.Tensor:
    """A grouped 1x1 conv (weight (groups*out, in, 1, 1)) as one batched matrix product; CPU
    convs loop over such groups one by one.

    The batch needs a place in the product: either the weight is broadcast over the images
    (matmul copies it once per image and keeps the copies for the backward pass), or the
    images' columns are laid side by side (a copy of the input and one of the output). The
    first is as fast or faster while a group has no more output channels than pixels (the
    search's fine levels); on the coarse ones (64 channels of 2x2 pixels) the second is three
    times as fast and keeps a fifth as much for the backward pass.
    """
    n, channels, height, width = y.shape
    per_group, pixels = channels // groups, height * width
    weight = weight.view(groups, -1, per_group)
    images = y.reshape(n, groups, per_group, pixels)
    if weight.shape[1] <= pixels:
        return torch.matmul(weight, images).view(n, -1, height, width)
    columns = images.permute(1, 2, 0, 3).reshape(groups, per_group, n * pixels)
    out = torch.bmm(weight, columns).view(groups, -1, n, pixels)
    return out.permute(2, 0, 1, 3).contiguous().view(n, -1, height, width)


def same_padding(dilation: tuple[int, ...], kernel) -> tuple[int, ...]:
    """The padding that keeps a stride-1 conv's output the size of its input."""
    return tuple(rate * (side // 2) for rate, side in zip(dilation, kernel, strict=True))


def assemble(weights: list[torch.Tensor], kernel: tuple[int, int]) -> torch.Tensor:
    """The runs' weights, each fitted to `kernel`, as one conv weight (convs*out, in, *kernel)."""
    parts = [fit_kernel(weight, kernel) for weight in weights]
    return (parts[0] if len(parts) == 1 else torch.cat(parts)).flatten(0, 1)


def fit_kernel(weight: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """`weight`'s taps centred in `kernel`: cropped where larger, zero-padded where smaller.

    Also the way back for a gradient: fitting the gradient of a fitted weight to the weight's
    own kernel crops the padding taps off, or gives the cropped taps a zero gradient.
    """
    if weight.shape[-2:] == tuple(kernel):  # the common case, ~2,000 calls a step
        return weight
    (pad_h, pad_w) = ((k - o) // 2 for o, k in zip(weight.shape[-2:], kernel, strict=True))
    if pad_h < 0 or pad_w < 0:
        crop_h, crop_w = max(0, -pad_h), max(0, -pad_w)
        height, width = weight.shape[-2:]
        weight = weight[..., crop_h : height - crop_h, crop_w : width - crop_w]
    if pad_h > 0 or pad_w > 0:
        pad_h, pad_w = max(0, pad_h), max(0, pad_w)
        weight = F.pad(weight, (pad_w, pad_w, pad_h, pad_h))
    return weight


def _layout(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Channels-last for dense (grouped) convs on large levels, where oneDNN's kernels are two
    to three times as fast there; depthwise convs are faster as they are, at every size."""
    depthwise = groups == x.shape[1]
    if not depthwise and min(x.shape[2:]) >= _CHANNELS_LAST_FROM:
        return x.contiguous(memory_format=torch.channels_last)
    return x


class _StackedConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, conv, *weights):
        kernel, padding, dilation, groups, copies = conv
        full = _layout(replicate(x, copies), groups)
        weight = assemble(weights, kernel)
        # a depthwise stack's weight is small (1/C of a dense one's): kept, it spares the
        # backward pass a pad and a concatenation
        kept = weight if groups == full.shape[1] else None
        ctx.save_for_backward(x if copies > 1 else full, kept, *weights)
        ctx.conv = conv
        return F.conv2d(full, weight, None, 1, padding, dilation, groups).contiguous()

    @staticmethod
    def backward(ctx, grad):
        saved, kept, *weights = ctx.saved_tensors
        kernel, padding, dilation, groups, copies = ctx.conv
        x = _layout(replicate(saved, copies), groups) if copies > 1 else saved
        grad = grad.contiguous(memory_format=_memory_format(x))
        grad_x, weight = None, assemble(weights, kernel) if kept is None else kept
        depthwise = groups == x.shape[1] and weights[0].shape[2] == 1
        if ctx.needs_input_grad[0]:
            grad_x = _input_grad(grad, x, weight, ctx.conv, depthwise)
            if copies > 1:  # each copy's gradient goes back to the one input
                grad_x = grad_x.view(grad_x.shape[0], copies, *saved.shape[1:]).sum(1)
        if not any(ctx.needs_input_grad[2:]):
            return grad_x, None, *(None for _ in weights)
        if depthwise and _trick_is_faster(kernel, dilation, x.shape[2:]):
            grad_w = _depthwise_weight_grad(x, grad, padding, dilation)
        else:
            grad_w = _conv_backward(grad, x, weight, ctx.conv, (False, True))
        return grad_x, None, *_run_grads(grad_w, weights, kernel, ctx.needs_input_grad[2:])


def _run_grads(grad_w: torch.Tensor, weights, kernel, needed) -> list[torch.Tensor | None]:
    """The stacked weight's gradient, split into the runs' and fitted to their own kernels."""
    counts = [weight.shape[0] for weight in weights]
    parts = grad_w.view(sum(counts), -1, *grad_w.shape[1:]).split(counts)
    return [
        fit_kernel(part, weight.shape[-2:]) if need else None
        for part, weight, need in zip(parts, weights, needed, strict=True)
    ]


def _trick_is_faster(kernel, dilation, size) -> bool:
    """oneDNN's own depthwise weight gradient is only fast for undilated 3x3 kernels that fit
    in the input; 5x5 kernels, and kernels larger than the input, are three to five times
    slower than the trick (measured from 2 to 16 px, batch 2 and 6, 160 and 320 channels), and
    dilated ones (the separable dil convs) 5 to 15 times (4 to 32 px)."""
    return max(kernel) > 3 or max(kernel) > min(size) or max(dilation) > 1


def _input_grad(grad, x, weight, conv: tuple, depthwise: bool) -> torch.Tensor:
    """The input gradient of the stacked conv. For a dilated depthwise one oneDNN's backward
    kernel is 10 to 20 times slower than its forward one (4 to 32 px, 64 to 1280 channels),
    and the gradient of a stride-1 "same" conv with an odd kernel is the forward conv of the
    output gradient with the kernel flipped: same taps, another order."""
    _, padding, dilation, groups, _ = conv
    if depthwise and max(dilation) > 1:
        return F.conv2d(grad, weight.flip((-2, -1)), None, 1, padding, dilation, groups)
    return _conv_backward(grad, x, weight, conv, (True, False))


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def _conv_backward(grad, x, weight, conv: tuple, mask: tuple[bool, bool]) -> torch.Tensor:
    _, padding, dilation, groups, _ = conv
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
    kernel = grad.contiguous().view(n * c, 1, height, width)
    # the conv pads the input itself: as exact as an F.pad first, and 1.2 to 2 times faster
    images = x.contiguous().view(1, n * c, height, width)
    taps = F.conv2d(images, kernel, None, dilation, padding, 1, n * c)
    return taps.view(n, c, *taps.shape[2:]).sum(0).unsqueeze(1)
