"""Blocks of a U-Net, written for tconvcalc's tests in the idiom of the PyTorch U-Net repositories: a package
whose model module pulls these in with a star import, two-input decoder stages that pad the upsampled map to
the skip's size before concatenating it, and a choice between bilinear upsampling and a transposed conv."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvPair(nn.Module):
    """Two 3x3 same-size convolutions, each followed by batch norm and ReLU."""

    def __init__(self, cin, cout, hidden=None):
        super().__init__()
        hidden = hidden or cout
        self.body = nn.Sequential(
            nn.Conv2d(cin, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.body(x)


class Encode(nn.Module):
    """Halve the size (floor: an odd size loses a row), then a ConvPair."""

    def __init__(self, cin, cout):
        super().__init__()
        self.steps = nn.Sequential(nn.MaxPool2d(2), ConvPair(cin, cout))

    def forward(self, x):
        return self.steps(x)


class Decode(nn.Module):
    """Double the size, pad it to the skip's size, concatenate the skip in front and apply a ConvPair."""

    def __init__(self, cin, cout, bilinear=True):
        super().__init__()
        if bilinear:  # the skip brings the other half of the channels
            self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.fuse = ConvPair(cin, cout, cin // 2)
        else:
            self.upsample = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
            self.fuse = ConvPair(cin, cout)

    def forward(self, low, skip):
        low = self.upsample(low)
        # after an odd size on the way down, the skip is one larger: split the difference on both sides
        dh = skip.size(2) - low.size(2)
        dw = skip.size(3) - low.size(3)
        low = F.pad(low, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        merged = torch.cat([skip, low], dim=1)
        return self.fuse(merged)


class Head(nn.Module):
    """A 1x1 convolution to one map per class."""

    def __init__(self, cin, classes):
        super().__init__()
        self.proj = nn.Conv2d(cin, classes, kernel_size=1)

    def forward(self, x):
        return self.proj(x)
