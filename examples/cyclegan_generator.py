"""An image-to-image generator of the CycleGAN kind, written for tconvcalc's examples: a reflection-padded 7x7
conv in, two stride-2 convs down, residual blocks whose 3x3 convs pad by reflection, two transposed convs up,
and a reflection-padded 7x7 conv out. tconvcalc reads this file with ast; it never imports or runs it."""

import torch.nn as nn


def reflected_conv(c_in, c_out, kernel):
    """A conv that keeps the size: reflection pads first, then no zero padding."""
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel_size=kernel)]


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.branch = nn.Sequential(*reflected_conv(width, width, 3), nn.InstanceNorm2d(width), nn.ReLU(True),
                                    *reflected_conv(width, width, 3), nn.InstanceNorm2d(width))

    def forward(self, x):
        return x + self.branch(x)


class ResnetGenerator(nn.Module):
    def __init__(self, colours=3, width=64, blocks=6):
        super().__init__()
        layers = [*reflected_conv(colours, width, 7), nn.InstanceNorm2d(width), nn.ReLU(True)]
        for scale in (1, 2):  # halve the size, double the width
            layers += [nn.Conv2d(width * scale, width * scale * 2, kernel_size=3, stride=2, padding=1),
                       nn.InstanceNorm2d(width * scale * 2), nn.ReLU(True)]
        layers += [Residual(width * 4) for _ in range(blocks)]
        for scale in (4, 2):  # double the size, halve the width
            layers += [nn.ConvTranspose2d(width * scale, width * scale // 2, kernel_size=3, stride=2, padding=1,
                                          output_padding=1),
                       nn.InstanceNorm2d(width * scale // 2), nn.ReLU(True)]
        layers += [*reflected_conv(width, colours, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
