"""Test models for tconvcalc's import mode, written for these tests: a small residual classifier (strided
stem, max pool, residual blocks whose first one per stage projects its shortcut, global average pool,
flatten, Linear), a classifier whose Linear fixes the input size, and depthwise blocks with channel gates."""
import torch
import torch.nn as nn


def conv3(c_in, c_out, stride=1):
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False)


class Residual(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.main = nn.Sequential(conv3(c_in, c_out, stride), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                                  conv3(c_out, c_out), nn.BatchNorm2d(c_out))
        self.project = None  # a 1x1 conv on the shortcut only where the main path changes the shape
        if stride != 1 or c_in != c_out:
            self.project = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        return self.act(self.main(x) + skip)


class ResNet(nn.Module):
    def __init__(self, layers=(1, 1, 1, 1), num_classes=10, width=16, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        stages, c_in = [], width
        for index, count in enumerate(layers):
            c_out = width * 2 ** index
            blocks = [Residual(c_in, c_out, stride=1 if index == 0 else 2)]
            blocks += [Residual(c_out, c_out) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        x = self.pool(self.stages(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


def resnet_tiny(num_classes=10):
    return ResNet((2, 2, 2, 2), num_classes=num_classes, width=8)


class VGGish(nn.Module):
    """A fixed-input classifier: flatten straight into Linear, as VGG/AlexNet without the adaptive pool."""

    def __init__(self, size=32):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(16 * (size // 4) * (size // 4), 10)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


class ChannelGate(nn.Module):
    """Squeeze and excitation: one weight in (0, 1) per channel, from the channel means, multiplied back in."""

    def __init__(self, channels, shrink=4):
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excite = nn.Sequential(nn.Linear(channels, channels // shrink, bias=False), nn.ReLU(inplace=True),
                                    nn.Linear(channels // shrink, channels, bias=False), nn.Sigmoid())

    def forward(self, x):
        n, c = x.shape[:2]
        weights = self.excite(self.squeeze(x).flatten(1)).view(n, c, 1, 1)
        return x * weights.expand_as(x)


class MobileSE(nn.Module):
    """Depthwise-separable blocks with squeeze-excitation, as in MobileNet/EfficientNet-style classifiers."""

    def __init__(self, num_classes=5, width=8):
        super().__init__()
        blocks, channels = [nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False)], width
        for out in (width * 2, width * 4):
            blocks += [nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels, bias=False),
                       nn.BatchNorm2d(channels), nn.ReLU6(inplace=True), ChannelGate(channels),
                       nn.Conv2d(channels, out, 1, bias=False), nn.BatchNorm2d(out)]
            channels = out
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(channels, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = x.mean([2, 3])
        return self.classifier(x)
