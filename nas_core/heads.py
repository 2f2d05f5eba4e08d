"""The DeepLabv3+ head of the derived network: ASPP and decoder, dense 3x3 convs (§6).

Kept apart from the cells because it is plain DeepLab, independent of the searched genotype.
"""

import torch
import torch.nn.functional as F
from torch import nn

ASPP_CHANNELS = 256
LOW_LEVEL_CHANNELS = 48
BASE_RATES = (6, 12, 18)  # DeepLab's atrous rates at output stride 16
BASE_OUTPUT_STRIDE = 16

Size = tuple[int, int]


def resize(x: torch.Tensor, size: Size | torch.Size) -> torch.Tensor:
    """Bilinear resize, align_corners=False like the rest of nas_core (sizes need not be 32k+1)."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def aspp_rates(output_stride: int) -> tuple[int, ...]:
    """Rates keep the same field of view in input pixels: 6/12/18 at 1/16, 3/6/9 at 1/32."""
    return tuple(max(1, round(rate * BASE_OUTPUT_STRIDE / output_stride)) for rate in BASE_RATES)


def conv_bn_relu(
    in_chs: int, out_chs: int, kernel: int, rate: int = 1, stride: int = 1
) -> nn.Sequential:
    """kxk conv (no bias, BN follows) -> BN -> ReLU, padded so stride 1 keeps the size."""
    padding = rate * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(in_chs, out_chs, kernel, stride, padding, dilation=rate, bias=False),
        nn.BatchNorm2d(out_chs),
        nn.ReLU(inplace=True),
    )


class ImagePooling(nn.Module):
    """Global context: average pool -> 1x1 -> BN -> ReLU, broadcast back to the feature size.

    Its BN sees a single value per channel and image, so in train mode it needs batch >= 2
    (PyTorch raises for batch 1); eval mode works for any batch.
    """

    def __init__(self, in_chs: int, out_chs: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.project = conv_bn_relu(in_chs, out_chs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return resize(self.project(self.pool(x)), x.shape[2:])


class ASPP(nn.Module):
    """1x1, three atrous 3x3 and image pooling, 256 channels each, fused by a 1x1 to 256."""

    def __init__(self, in_chs: int, output_stride: int) -> None:
        super().__init__()
        self.rates = aspp_rates(output_stride)
        branches = [conv_bn_relu(in_chs, ASPP_CHANNELS, 1)]
        branches += [conv_bn_relu(in_chs, ASPP_CHANNELS, 3, rate) for rate in self.rates]
        branches.append(ImagePooling(in_chs, ASPP_CHANNELS))
        self.branches = nn.ModuleList(branches)
        self.project = conv_bn_relu(len(branches) * ASPP_CHANNELS, ASPP_CHANNELS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([branch(x) for branch in self.branches], dim=1))


class Decoder(nn.Module):
    """Refines the coarse ASPP output with a stride-4 feature, then classifies at 1/4."""

    def __init__(self, low_level_chs: int, num_classes: int) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(low_level_chs, LOW_LEVEL_CHANNELS, 1)
        self.fuse = nn.Sequential(
            conv_bn_relu(ASPP_CHANNELS + LOW_LEVEL_CHANNELS, ASPP_CHANNELS, 3),
            conv_bn_relu(ASPP_CHANNELS, ASPP_CHANNELS, 3),
        )
        self.classifier = nn.Conv2d(ASPP_CHANNELS, num_classes, 1)

    def forward(self, context: torch.Tensor, low_level: torch.Tensor) -> torch.Tensor:
        low_level = self.reduce(low_level)
        context = resize(context, low_level.shape[2:])
        return self.classifier(self.fuse(torch.cat([context, low_level], dim=1)))


class DeepLabV3PlusHead(nn.Module):
    """ASPP on the last cell, decoder on the last stride-4 feature; logits at 1/4."""

    def __init__(
        self, in_chs: int, output_stride: int, low_level_chs: int, num_classes: int
    ) -> None:
        super().__init__()
        self.aspp = ASPP(in_chs, output_stride)
        self.decoder = Decoder(low_level_chs, num_classes)

    def forward(self, features: torch.Tensor, low_level: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.aspp(features), low_level)
