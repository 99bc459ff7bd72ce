"""Two models and a factory in one file (written for tconvcalc's tests): the reader must be told which."""
import math

import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, in_channels=3, width=32, depth=3):
        super().__init__()
        layers = []
        channels = in_channels
        for i in range(depth):
            layers += [nn.Conv2d(channels, width * 2 ** i, 3, stride=2, padding=1), nn.ReLU()]
            channels = width * 2 ** i
        self.body = nn.Sequential(*layers)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels // 4, 1), nn.ReLU(),
                                nn.Conv2d(channels // 4, channels, 1), nn.Sigmoid())

    def forward(self, x):
        x = self.body(x)
        return x * self.se(x)


class Decoder(nn.Module):
    def __init__(self, out_channels=3, width=32, depth=3):
        super().__init__()
        self.blocks = nn.ModuleList()
        channels = width * 2 ** (depth - 1)
        for i in range(depth):
            self.blocks.append(nn.ConvTranspose2d(channels, max(channels // 2, out_channels), 4, 2, 1))
            channels = max(channels // 2, out_channels)
        self.head = nn.Conv2d(channels, out_channels, kernel_size=int(math.sqrt(9)), padding=1)

    def forward(self, x):
        for block in self.blocks:
            x = torch.relu(block(x))
        return self.head(x)


def make_decoder(scale=8):
    return Decoder(depth=int(math.log2(scale)))
