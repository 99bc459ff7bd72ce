# Test model for tconvcalc's source reader, written for these tests with the layers and module names of the
# U-Net in seed 000 (a ConvTranspose2d tutorial): five levels of two 3x3 convs (64 to 1024 channels), 2x2 max
# pools down, 2x2 stride-2 transposed convs up, each joined to the skip of its level with torch.cat, then a 1x1
# conv and a sigmoid. unet_seed000_print.txt is torch's print() of this model.
import torch
import torch.nn as nn


class TwoConvs(nn.Module):
    """3x3 conv, batch norm, ReLU, twice; padding 1 keeps the size, so only the pools and ups change it."""

    def __init__(self, c_in, c_out):
        super().__init__()
        layers = []
        for width in (c_in, c_out):
            layers += [nn.Conv2d(width, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return self.conv(x)


class Unet(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        widths = [in_ch, 64, 128, 256, 512, 1024]
        # registered in the order they run, as print() lists them
        for level in range(1, 6):
            setattr(self, f"conv{level}", TwoConvs(widths[level - 1], widths[level]))
            if level < 5:
                setattr(self, f"pool{level}", nn.MaxPool2d(2))
        for level in range(6, 10):
            wide = widths[11 - level]  # 1024, 512, 256, 128: each up halves the channels, the skip restores them
            setattr(self, f"up{level}", nn.ConvTranspose2d(wide, wide // 2, 2, stride=2))
            setattr(self, f"conv{level}", TwoConvs(wide, wide // 2))
        self.conv10 = nn.Conv2d(64, out_ch, 1)

    def forward(self, x):
        e1 = self.conv1(x)
        e2 = self.conv2(self.pool1(e1))
        e3 = self.conv3(self.pool2(e2))
        e4 = self.conv4(self.pool3(e3))
        bottom = self.conv5(self.pool4(e4))
        # each merge needs the up's output and the skip at the same size: inputs divisible by 16
        merge6 = torch.cat([self.up6(bottom), e4], dim=1)
        d6 = self.conv6(merge6)
        merge7 = torch.cat([self.up7(d6), e3], dim=1)
        d7 = self.conv7(merge7)
        merge8 = torch.cat([self.up8(d7), e2], dim=1)
        d8 = self.conv8(merge8)
        merge9 = torch.cat([self.up9(d8), e1], dim=1)
        d9 = self.conv9(merge9)
        return nn.Sigmoid()(self.conv10(d9))
