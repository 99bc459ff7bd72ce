"""A DDPM-style U-Net (written for tconvcalc's tests): ModuleLists of ModuleLists unpacked in forward(),
a stack of skips (append / pop), conditional expressions choosing layers, an Identity residual."""
import torch
import torch.nn as nn
class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.res = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
    def forward(self, x):
        return self.conv(x) + self.res(x)
class UNet(nn.Module):
    def __init__(self, dim=8, mults=(1, 2, 4)):
        super().__init__()
        dims = [dim * m for m in mults]
        in_out = list(zip(dims[:-1], dims[1:]))
        self.init_conv = nn.Conv2d(3, dim, 7, padding=3)
        self.downs = nn.ModuleList([])
        self.ups = nn.ModuleList([])
        for ind, (din, dout) in enumerate(in_out):
            is_last = ind >= (len(in_out) - 1)
            self.downs.append(nn.ModuleList([Block(din, din), Block(din, din),
                                             nn.Conv2d(din, dout, 4, 2, 1) if not is_last else nn.Conv2d(din, dout, 3, padding=1)]))
        mid = dims[-1]
        self.mid = Block(mid, mid)
        for ind, (din, dout) in enumerate(reversed(in_out)):
            is_last = ind == (len(in_out) - 1)
            self.ups.append(nn.ModuleList([Block(dout + din, dout), Block(dout + din, dout),
                                           nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(dout, din, 3, padding=1)) if not is_last else nn.Conv2d(dout, din, 3, padding=1)]))
        self.final = nn.Conv2d(dim, 3, 1)
    def forward(self, x):
        x = self.init_conv(x)
        h = []
        for block1, block2, downsample in self.downs:
            x = block1(x)
            h.append(x)
            x = block2(x)
            h.append(x)
            x = downsample(x)
        x = self.mid(x)
        for block1, block2, upsample in self.ups:
            x = torch.cat((x, h.pop()), dim=1)
            x = block1(x)
            x = torch.cat((x, h.pop()), dim=1)
            x = block2(x)
            x = upsample(x)
        return self.final(x)
