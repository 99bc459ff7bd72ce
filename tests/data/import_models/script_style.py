"""Test model for tconvcalc's import mode, written for these tests as a training script's model file is
often written: command-line options parsed when the file is imported, the model built at module level.
The generator turns a 1x1 latent into a 32x32 image (4x4 transposed convs: 1 -> 4, then doubling)."""
import argparse

import torch.nn as nn

options = argparse.ArgumentParser(description="train a small image generator")
options.add_argument("--latent", type=int, default=16, help="length of the noise vector")
options.add_argument("--width", type=int, default=8, help="channels of the last hidden layer")
args = options.parse_args()


def up(c_in, c_out, first=False):
    # the first step grows 1x1 to 4x4 (no padding, stride 1); the others double the size
    stride, padding = (1, 0) if first else (2, 1)
    return [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]


class Generator(nn.Module):
    def __init__(self, latent, width):
        super().__init__()
        layers = up(latent, width * 4, first=True) + up(width * 4, width * 2) + up(width * 2, width)
        layers += [nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


netG = Generator(args.latent, args.width)
