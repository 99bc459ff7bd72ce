"""Models whose forward() branches on the input's shape: torch.fx cannot trace them."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Checked(nn.Module):
    """Validates its input in forward (fx cannot trace the if), then a plain encoder-decoder."""

    def __init__(self, channels=3):
        super().__init__()
        self.channels = channels
        self.down = nn.Sequential(nn.Conv2d(channels, 8, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected N x {self.channels} x H x W, got {tuple(x.shape)}")
        y = self.up(self.down(x))
        y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        return self.head(y)


class PadToEven(nn.Module):
    """Pads odd inputs by one before a stride-2 conv: the graph differs between odd and even sizes."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, stride=2)
        self.out = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        if x.shape[-1] % 2:
            x = F.pad(x, [0, 1, 0, 1])
        return self.out(self.conv(x))
