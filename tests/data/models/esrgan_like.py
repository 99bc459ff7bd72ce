"""An ESRGAN-like super-resolution network written for tconvcalc's tests, in the idiom of such repositories:
dense blocks whose convolutions read the concatenation of everything before them, residuals scaled down
before they are added, a stack built by a helper from a functools.partial of a block class, and two nearest
F.interpolate(scale_factor=2) steps at the end. Read by the static reader and by import mode."""
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

BETA = 0.2  # residuals are scaled down before the add, which keeps a deep stack stable


def repeat(factory, count):
    """An nn.Sequential of `count` fresh modules from `factory()`."""
    return nn.Sequential(*[factory() for _ in range(count)])


def conv3(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


class DenseBlock(nn.Module):
    """Five 3x3 convolutions; each reads the block's input and the output of every one before it."""

    def __init__(self, width, growth):
        super().__init__()
        self.c1 = conv3(width, growth)
        self.c2 = conv3(width + growth, growth)
        self.c3 = conv3(width + 2 * growth, growth)
        self.c4 = conv3(width + 3 * growth, growth)
        self.c5 = conv3(width + 4 * growth, width)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x):
        a = self.act(self.c1(x))
        b = self.act(self.c2(torch.cat([x, a], dim=1)))
        c = self.act(self.c3(torch.cat([x, a, b], dim=1)))
        d = self.act(self.c4(torch.cat([x, a, b, c], dim=1)))
        e = self.c5(torch.cat([x, a, b, c, d], dim=1))
        return x + BETA * e


class DenseGroup(nn.Module):
    """Three dense blocks in a row, with one more scaled residual around them."""

    def __init__(self, width, growth):
        super().__init__()
        self.first = DenseBlock(width, growth)
        self.second = DenseBlock(width, growth)
        self.third = DenseBlock(width, growth)

    def forward(self, x):
        y = self.third(self.second(self.first(x)))
        return x + BETA * y


class DenseUpscaler(nn.Module):
    """x4 upscaling: a trunk of DenseGroups with a long skip, then two nearest x2 steps, each with a conv."""

    def __init__(self, in_channels=3, out_channels=3, width=16, groups=2, growth=8):
        super().__init__()
        self.stem = conv3(in_channels, width)
        self.trunk = repeat(functools.partial(DenseGroup, width=width, growth=growth), groups)
        self.trunk_out = conv3(width, width)
        self.up1 = conv3(width, width)
        self.up2 = conv3(width, width)
        self.refine = conv3(width, width)
        self.to_image = conv3(width, out_channels)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x):
        features = self.stem(x)
        features = features + self.trunk_out(self.trunk(features))
        for conv in (self.up1, self.up2):
            features = self.act(conv(F.interpolate(features, scale_factor=2, mode="nearest")))
        return self.to_image(self.act(self.refine(features)))
