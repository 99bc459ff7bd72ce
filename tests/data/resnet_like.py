"""Test model for tconvcalc's source reader (tests/test_source.py, tests/frameworks/test_source_real.py): the
body of an 18-layer residual network, written for these tests with the constructs model-zoo code uses: a
block class passed as an argument, a method that builds each stage and moves a width attribute on, forward()
handing over to another method, positional Conv2d arguments, and `out += identity` for the residual."""
import torch.nn as nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in, c_out, stride=1, downsample=None):
        super().__init__()
        # positional Conv2d arguments: in, out, kernel, stride, padding
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        if self.downsample is not None:  # a stage's first block: the shortcut changes shape like the main path
            identity = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block=BasicBlock, depths=(2, 2, 2, 2)):
        super().__init__()
        self.width = 64  # the channels entering the next stage; _stage moves it on
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._stage(block, 64, depths[0], stride=1)
        self.layer2 = self._stage(block, 128, depths[1], stride=2)
        self.layer3 = self._stage(block, 256, depths[2], stride=2)
        self.layer4 = self._stage(block, 512, depths[3], stride=2)

    def _stage(self, block, planes, count, stride):
        c_out = planes * block.expansion
        shortcut = None
        if stride > 1 or self.width != c_out:
            shortcut = nn.Sequential(nn.Conv2d(self.width, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        blocks = [block(self.width, planes, stride, shortcut)]
        self.width = c_out
        for _ in range(count - 1):
            blocks.append(block(c_out, planes))
        return nn.Sequential(*blocks)

    def _trunk(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return x

    def forward(self, x):
        return self._trunk(x)
