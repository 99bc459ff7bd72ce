"""A HiFi-GAN-like vocoder generator written for tconvcalc's tests, in the idiom of such repositories:
weight-normalised 1-D convolutions, ConvTranspose1d upsamplers appended to an nn.ModuleList in a loop, residual
blocks of dilated convolutions averaged per stage, and a config object whose fields are read as attributes."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm

SLOPE = 0.1  # leaky ReLU slope between the convolutions
MELS = 80  # input channels: one per mel band


class Config(dict):
    """A dict whose keys are also attributes (cfg.up_rates), as JSON configs are often loaded."""

    def __getattr__(self, key):
        return self[key]


def same(kernel, dilation=1):
    """The padding that keeps the length for an odd kernel at stride 1."""
    return dilation * (kernel - 1) // 2


def wn_conv(channels, kernel, dilation=1):
    return weight_norm(nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=same(kernel, dilation)))


class DilatedBlock(nn.Module):
    """Pairs (dilated conv, plain conv) with a residual around each pair."""

    def __init__(self, channels, kernel=3, dilations=(1, 3, 5)):
        super().__init__()
        self.dilated = nn.ModuleList([wn_conv(channels, kernel, d) for d in dilations])
        self.plain = nn.ModuleList([wn_conv(channels, kernel) for _ in dilations])

    def forward(self, x):
        for wide, narrow in zip(self.dilated, self.plain):
            x = x + narrow(F.leaky_relu(wide(F.leaky_relu(x, SLOPE)), SLOPE))
        return x


class Generator(nn.Module):
    """Mel frames to a waveform: each upsampler multiplies the length by its rate and halves the channels."""

    def __init__(self, cfg):
        super().__init__()
        self.stages, self.per_stage = len(cfg.up_rates), len(cfg.block_kernels)
        self.pre = weight_norm(nn.Conv1d(MELS, cfg.width, 7, padding=3))
        self.upsamplers = nn.ModuleList()
        self.blocks = nn.ModuleList()
        channels = cfg.width
        for rate, kernel in zip(cfg.up_rates, cfg.up_kernels):
            self.upsamplers.append(weight_norm(nn.ConvTranspose1d(channels, channels // 2, kernel, rate,
                                                                  padding=(kernel - rate) // 2)))
            channels //= 2
            for k, dilations in zip(cfg.block_kernels, cfg.block_dilations):
                self.blocks.append(DilatedBlock(channels, k, dilations))
        self.post = weight_norm(nn.Conv1d(channels, 1, 7, padding=3))

    def forward(self, mel):
        x = self.pre(mel)
        for stage in range(self.stages):
            x = self.upsamplers[stage](F.leaky_relu(x, SLOPE))
            first = stage * self.per_stage
            total = self.blocks[first](x)
            for j in range(1, self.per_stage):
                total = total + self.blocks[first + j](x)
            x = total / self.per_stage
        return torch.tanh(self.post(F.leaky_relu(x)))
