"""The op table: one factory per primitive with the signature (channels, stride, affine).

An op keeps its channel count. Stride 2 is only used by the derived network, for ops that
read a cell input when the path goes one level coarser (AUTODEEPLAB.md §6).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.space import DIL_CONV_STYLES, PRIMITIVES

OpFactory = Callable[[int, int, bool], nn.Module]
DIL_CONV_KERNELS = {"dil_conv_3x3": 3, "dil_conv_5x5": 5}


class Zero(nn.Module):
    """The `none` primitive: a true zero of the output's shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Identity at half resolution: two offset 1x1 stride-2 convs, concatenated."""

    def __init__(self, channels: int, affine: bool) -> None:
        super().__init__()
        half = channels // 2
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(channels, half, 1, stride=2, bias=False)
        self.conv_b = nn.Conv2d(channels, channels - half, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(channels, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


def sep_unit(channels: int, kernel: int, stride: int, affine: bool) -> nn.Sequential:
    """ReLU -> depthwise kxk -> pointwise 1x1 -> BN."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(channels, channels, kernel, stride, kernel // 2, groups=channels, bias=False),
        nn.Conv2d(channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels, affine=affine),
    )


def sep_conv(kernel: int) -> OpFactory:
    """Two stacked separable units; a stride strides the first depthwise conv."""

    def build(channels: int, stride: int, affine: bool) -> nn.Module:
        return nn.Sequential(
            sep_unit(channels, kernel, stride, affine), sep_unit(channels, kernel, 1, affine)
        )

    return build


class Downsample(nn.Module):
    """Bilinear resize to half size (ceil), used before a strided atrous conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = ((x.shape[2] + 1) // 2, (x.shape[3] + 1) // 2)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def atrous_conv(kernel: int, separable: bool = False) -> OpFactory:
    """ReLU -> kxk conv at rate 2 -> BN; strided: downsample bilinearly, then rate 1.

    The dil_conv primitives. Dense by default (AUTODEEPLAB.md); separable, the kxk conv is
    depthwise and a pointwise 1x1 follows it (DARTS' DilConv): the same receptive field with
    a fraction of the weights (at 64 channels, 5x5: 5.7 k instead of 102 k).
    """

    def build(channels: int, stride: int, affine: bool) -> nn.Module:
        rate = 2 if stride == 1 else 1
        groups = channels if separable else 1
        layers: list[nn.Module] = [Downsample()] if stride > 1 else []
        padding = rate * (kernel // 2)
        layers += [
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, 1, padding, rate, groups=groups, bias=False),
        ]
        layers += [nn.Conv2d(channels, channels, 1, bias=False)] if separable else []
        layers += [nn.BatchNorm2d(channels, affine=affine)]
        return nn.Sequential(*layers)

    return build


def pool(kind: type[nn.Module]) -> OpFactory:
    def build(channels: int, stride: int, affine: bool) -> nn.Module:
        if kind is nn.AvgPool2d:
            return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        return nn.MaxPool2d(3, stride, 1)

    return build


def skip_connect(channels: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, affine)


def dil_convs(style: str) -> dict[str, OpFactory]:
    """The dil_conv primitives in one of DIL_CONV_STYLES."""
    return {name: atrous_conv(k, style == "separable") for name, k in DIL_CONV_KERNELS.items()}


OPS: dict[str, OpFactory] = {
    "none": lambda channels, stride, affine: Zero(stride),
    "max_pool_3x3": pool(nn.MaxPool2d),
    "avg_pool_3x3": pool(nn.AvgPool2d),
    "skip_connect": skip_connect,
    "sep_conv_3x3": sep_conv(3),
    "sep_conv_5x5": sep_conv(5),
    **dil_convs("dense"),
}
assert tuple(OPS) == PRIMITIVES, "the op table must list the primitives in their order"
OPS_BY_DIL_CONV: dict[str, dict[str, OpFactory]] = {
    style: {**OPS, **dil_convs(style)} for style in DIL_CONV_STYLES
}


def build_op(
    name: str, channels: int, stride: int = 1, affine: bool = True, dil_conv: str = "dense"
) -> nn.Module:
    """An op from the table, its dil convs `dil_conv` (a DIL_CONV_STYLES); pools get a BN in
    search (affine=False), as in DARTS."""
    op = OPS_BY_DIL_CONV[dil_conv][name](channels, stride, affine)
    if "pool" in name and not affine:
        op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
    return op


class ReLUConvBN(nn.Sequential):
    """ReLU -> kxk conv -> BN: the preprocessing of cell inputs."""

    def __init__(
        self, in_chs: int, out_chs: int, kernel: int = 1, stride: int = 1, affine: bool = True
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_chs, out_chs, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(out_chs, affine=affine),
        )
