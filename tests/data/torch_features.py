"""A PyTorch model using the features tconvcalc's source reader follows (tests/test_source.py and
tests/frameworks/test_source_real.py): ModuleList loops, a list of skips, add/cat, functional pools and
interpolate, MaxUnpool with indices, OrderedDict Sequentials, keyword/positional arguments, constructor
arguments substituted, a sub-module without forward(), and module-level constants."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH = 8
KERNEL = 3


class Down(nn.Module):
    def __init__(self, c_in, c_out, k=KERNEL):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=k, padding=k // 2)
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)

    def forward(self, x):
        x = self.act(self.conv(x))
        return self.pool(x), x


class Stem(nn.Module):  # no forward(): its modules in order
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(1, WIDTH, 5, 1, 2)),
            ("norm", nn.BatchNorm2d(WIDTH)),
            ("pool", nn.MaxPool2d(3, 1, 1)),
        ]))

    def __call__(self, x):  # pragma: no cover - only so the real model runs; tconvcalc reads __init__
        return self.body(x)


class Net(nn.Module):
    def __init__(self, depth=3):
        super().__init__()
        self.stem = Stem()
        channels = [WIDTH * 2 ** i for i in range(depth + 1)]
        self.downs = nn.ModuleList([Down(channels[i], channels[i + 1]) for i in range(depth)])
        ups = []
        for i in reversed(range(depth)):
            ups.append(nn.ConvTranspose2d(channels[min(i + 2, depth)], channels[i + 1], 3, 2, 1, 1))
        self.ups = nn.ModuleList(ups)
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.mix = nn.Conv2d(4 * WIDTH, WIDTH, 1)
        self.head = nn.Conv2d(in_channels=WIDTH, out_channels=1, kernel_size=(3, 1), padding=(1, 0))

    def forward(self, x):
        x = self.stem(x)
        skips = []
        for down in self.downs:
            x, skip = down(x)
            skips.append(skip)
        x = F.max_pool2d(x, kernel_size=2, stride=1, padding=1)
        x = F.avg_pool2d(x, 2, 1)
        for up, skip in zip(self.ups, reversed(skips)):
            x = up(x)
            x = x + skip
        x = F.relu(x)
        y, indices = self.pool(x)
        y = self.unpool(y, indices)
        x = torch.cat((x, y), dim=1)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.mix(x)
        return torch.sigmoid(self.head(x))
