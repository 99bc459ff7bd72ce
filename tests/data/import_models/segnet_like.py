"""A SegNet-style encoder-decoder: max pools that return their indices, max unpools that use them."""
import torch.nn as nn


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SegNet(nn.Module):
    def __init__(self, in_channels=3, num_classes=4):
        super().__init__()
        self.enc1, self.enc2 = block(in_channels, 8), block(8, 16)
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.dec2, self.dec1 = block(16, 8), nn.Conv2d(8, num_classes, 3, padding=1)

    def forward(self, x):
        x, i1 = self.pool(self.enc1(x))
        x, i2 = self.pool(self.enc2(x))
        x = self.dec2(self.unpool(x, i2))
        return self.dec1(self.unpool(x, i1))
