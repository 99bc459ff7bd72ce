"""Test model for tconvcalc's static reader: residual classifiers (ResNet-18, ResNet-50, ResNeXt-50 32x4d)
written for these tests in the manner of vision model zoos: typed signatures, an annotated class attribute
that the stage builder reads (expansion), a projection shortcut where a stage changes the shape, stages
attached with setattr and walked with getattr, an adaptive average pool, torch.flatten and a Linear head.
Widths, strides and block counts are the standard ones."""
from typing import Callable, List, Optional, Type, Union

import torch
import torch.nn as nn
from torch import Tensor

Norm = Callable[[int], nn.Module]


def square_conv(c_in: int, c_out: int, size: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    # a norm layer follows every conv and supplies the shift, hence no bias; size // 2 keeps the size at stride 1
    return nn.Conv2d(c_in, c_out, kernel_size=size, stride=stride, padding=size // 2, groups=groups, bias=False)


class BasicBlock(nn.Module):
    expansion: int = 1  # output channels per unit of `planes`

    def __init__(self, c_in: int, planes: int, stride: int = 1, shortcut: Optional[nn.Module] = None,
                 groups: int = 1, group_width: int = 64, norm: Norm = nn.BatchNorm2d) -> None:
        super().__init__()
        if groups != 1 or group_width != 64:
            raise ValueError("the two-conv block has no grouped form")
        self.conv1 = square_conv(c_in, planes, 3, stride)
        self.bn1 = norm(planes)
        self.conv2 = square_conv(planes, planes, 3)
        self.bn2 = norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = shortcut

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion: int = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1, shortcut: Optional[nn.Module] = None,
                 groups: int = 1, group_width: int = 64, norm: Norm = nn.BatchNorm2d) -> None:
        super().__init__()
        inner = planes * group_width // 64 * groups  # ResNeXt widens the middle conv and splits it in groups
        self.conv1 = square_conv(c_in, inner, 1)
        self.bn1 = norm(inner)
        self.conv2 = square_conv(inner, inner, 3, stride, groups)  # the stride sits on the 3x3, not the 1x1
        self.bn2 = norm(inner)
        self.conv3 = square_conv(inner, planes * self.expansion, 1)
        self.bn3 = norm(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = shortcut

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(out + x)


Block = Type[Union[BasicBlock, Bottleneck]]


def make_stage(block: Block, c_in: int, planes: int, count: int, stride: int, groups: int, group_width: int,
               norm: Norm) -> nn.Sequential:
    """`count` blocks; only the first may change the size or the width, so only it may need a shortcut conv."""
    c_out = planes * block.expansion
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = nn.Sequential(square_conv(c_in, c_out, 1, stride), norm(c_out))
    units = [block(c_in, planes, stride, shortcut, groups, group_width, norm)]
    for _ in range(count - 1):
        units.append(block(c_out, planes, groups=groups, group_width=group_width, norm=norm))
    return nn.Sequential(*units)


class ResNet(nn.Module):
    def __init__(self, block: Block, depths: List[int], num_classes: int = 1000, groups: int = 1,
                 group_width: int = 64, norm: Optional[Norm] = None) -> None:
        super().__init__()
        norm = norm or nn.BatchNorm2d
        # the stem divides the size by 4 before the first stage
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        width = 64
        for index, (planes, count) in enumerate(zip((64, 128, 256, 512), depths)):
            stride = 1 if index == 0 else 2  # the max pool already halved the size before stage 1
            setattr(self, f"layer{index + 1}", make_stage(block, width, planes, count, stride, groups, group_width,
                                                          norm))
            width = planes * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)
        for module in self.modules():  # He init for the convs; every norm starts as the identity
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(**options) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **options)


def resnet50(**options) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **options)


def resnext50_32x4d(**options) -> ResNet:
    # 32 groups of 4 channels per unit of planes: the middle conv is twice as wide as ResNet-50's
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, group_width=4, **options)
