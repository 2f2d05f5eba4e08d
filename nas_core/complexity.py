"""Parameter and multiply-add counts of any module, measured by one forward pass.

Hooks see the shapes a forward really produces, so weight sharing (a supernet cell applied
once per direction) and resolution-dependent structure are counted as they run.
Counted: Conv1d/2d/3d (output elements x in_channels/groups x kernel elements) and Linear
(output elements x in_features). Not counted: biases, BN, activations, pooling and
interpolation: they are cheap next to the convolutions, and papers' "Multi-Adds" omit them.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

COUNTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@dataclass(frozen=True)
class Complexity:
    """Parameters and multiply-adds of one forward pass of `batch` images."""

    params: int
    macs: int

    @property
    def gflops(self) -> float:
        """One multiply-add is two floating-point operations."""
        return 2 * self.macs / 1e9


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
    return output.numel() * per_output


def _dummy_input(model: nn.Module, input_size: tuple[int, int], batch: int, in_chans: int):
    """Zeros on the model's device and dtype, so any placement of the model works."""
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    return torch.zeros(batch, in_chans, *input_size, device=device, dtype=dtype)


def count_complexity(
    model: nn.Module, input_size: tuple[int, int], batch: int = 1, in_chans: int = 3
) -> Complexity:
    """Params and MACs of `model` on a (batch, in_chans, H, W) input.

    Runs in eval mode (so batch 1 passes BN over single values) without autograd, then puts
    back every submodule's own training flag.
    """
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += _macs(module, output)

    counted = [m for m in model.modules() if isinstance(m, COUNTED)]
    handles = [m.register_forward_hook(hook) for m in counted]
    flags = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(_dummy_input(model, input_size, batch, in_chans))
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in flags.items():
            module.training = flag
    params = sum(p.numel() for p in model.parameters())
    return Complexity(params=params, macs=total)


def format_complexity(complexity: Complexity) -> str:
    """A one-line summary such as '2.31 M params, 12.4 GMACs'."""
    return f"{complexity.params / 1e6:.3g} M params, {complexity.macs / 1e9:.3g} GMACs"
