"""Two image classifiers, written for tconvcalc's examples in the idioms of everyday PyTorch code.

- ``TinyResNet``: a stem, residual stages whose first block downsamples (with a 1x1 shortcut), then
  ``AdaptiveAvgPool2d(1)``, ``torch.flatten`` and a ``Linear`` head: any input of 3x3 or more works.
- ``FixedHead``: the same features, but flattened straight into a ``Linear`` built for 224x224 inputs, the
  classic "mat1 and mat2 shapes cannot be multiplied" trap: only inputs from 195 to 226 work.

tconvcalc reads this file with ast; it never imports or runs it (unless asked to with --import).
"""

import torch
import torch.nn as nn


def conv_bn(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.body = nn.Sequential(conv_bn(c_in, c_out, stride),
                                  nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else \
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class Features(nn.Module):
    def __init__(self, widths=(32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, widths[0], stride=2), nn.MaxPool2d(2))
        stages, c_in = [], widths[0]
        for width in widths:
            stages += [Residual(c_in, width, stride=2), Residual(width, width, stride=1)]
            c_in = width
        self.stages = nn.Sequential(*stages)

    def forward(self, x):
        return self.stages(self.stem(x))


class TinyResNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = Features()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.head(torch.flatten(x, 1))


class FixedHead(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = Features()
        self.head = nn.Linear(128 * 7 * 7, num_classes)  # 224 / 32 = 7

    def forward(self, x):
        x = self.features(x)
        return self.head(x.view(x.size(0), -1))
