"""The U-Net of this package (written for tconvcalc's tests): four encoder stages, four decoder stages fed by
the skips, widths doubling from `base`; with bilinear upsampling the bottom stage keeps half the width."""
from .parts import *


class UNet(nn.Module):
    def __init__(self, in_channels, num_classes, bilinear=False, base=64):
        super().__init__()
        shrink = 2 if bilinear else 1
        self.stem = ConvPair(in_channels, base)
        self.enc1 = Encode(base, base * 2)
        self.enc2 = Encode(base * 2, base * 4)
        self.enc3 = Encode(base * 4, base * 8)
        self.enc4 = Encode(base * 8, base * 16 // shrink)
        self.dec1 = Decode(base * 16, base * 8 // shrink, bilinear)
        self.dec2 = Decode(base * 8, base * 4 // shrink, bilinear)
        self.dec3 = Decode(base * 4, base * 2 // shrink, bilinear)
        self.dec4 = Decode(base * 2, base, bilinear)
        self.head = Head(base, num_classes)

    def forward(self, image):
        s0 = self.stem(image)
        s1 = self.enc1(s0)
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        y = self.enc4(s3)
        for stage, skip in ((self.dec1, s3), (self.dec2, s2), (self.dec3, s1), (self.dec4, s0)):
            y = stage(y, skip)
        return self.head(y)
