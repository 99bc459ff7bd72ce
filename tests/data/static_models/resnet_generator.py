"""Test model for tconvcalc's static reader, written for these tests in the manner of image-to-image GAN
repositories: a factory that picks the variant from a string, a norm layer picked from a string and
pre-configured with functools.partial, layers gathered in a list and wrapped in one nn.Sequential.
The layers are those of the usual 9-block / 6-block residual generator: 7x7 in, two stride-2 convs,
residual blocks at 4x the base width, two transposed convs back, 7x7 out."""
import functools

import torch.nn as nn


class PassThrough(nn.Module):
    """What "no normalisation" builds: the width argument is accepted and ignored."""

    def __init__(self, *unused):
        super().__init__()

    def forward(self, x):
        return x


def norm_by_name(name):
    # partial keeps the flags in one place; callers pass only the channel count
    if name == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if name == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if name == "none":
        return PassThrough
    raise ValueError(f"no norm layer called {name!r}")


def edge_padding(mode, amount):
    """The explicit padding layer for a padding mode, and the zero padding the conv itself must then add."""
    if mode == "reflect":
        return [nn.ReflectionPad2d(amount)], 0
    if mode == "replicate":
        return [nn.ReplicationPad2d(amount)], 0
    if mode == "zero":
        return [], amount
    raise ValueError(f"no padding mode called {mode!r}")


class ResidualUnit(nn.Module):
    """Two size-keeping 3x3 convs; the input is added back to their output."""

    def __init__(self, width, norm, pad_mode="reflect", dropout=False, bias=True):
        super().__init__()
        steps = []
        for second in (False, True):
            pad, zeros = edge_padding(pad_mode, 1)
            steps += pad
            steps += [nn.Conv2d(width, width, kernel_size=3, padding=zeros, bias=bias), norm(width)]
            if not second:
                steps += [nn.ReLU(True)]
                if dropout:
                    steps += [nn.Dropout(0.5)]
        self.conv_block = nn.Sequential(*steps)

    def forward(self, x):
        return x + self.conv_block(x)


class ResidualGenerator(nn.Module):
    def __init__(self, in_colours, out_colours, base=64, norm=nn.BatchNorm2d, dropout=False, blocks=6,
                 pad_mode="reflect"):
        super().__init__()
        # instance norm has no learned shift, so only then do the convs need their own bias
        if isinstance(norm, functools.partial):
            bias = norm.func is nn.InstanceNorm2d
        else:
            bias = norm is nn.InstanceNorm2d
        halvings = 2

        model = [nn.ReflectionPad2d(3), nn.Conv2d(in_colours, base, kernel_size=7, bias=bias), norm(base),
                 nn.ReLU(True)]
        width = base
        for _ in range(halvings):  # each step halves H and W and doubles the channels
            model += [nn.Conv2d(width, 2 * width, kernel_size=3, stride=2, padding=1, bias=bias), norm(2 * width),
                      nn.ReLU(True)]
            width *= 2
        for _ in range(blocks):
            model += [ResidualUnit(width, norm, pad_mode=pad_mode, dropout=dropout, bias=bias)]
        for _ in range(halvings):  # output_padding=1 makes each step exactly double, undoing the halvings
            model += [nn.ConvTranspose2d(width, width // 2, kernel_size=3, stride=2, padding=1, output_padding=1,
                                         bias=bias),
                      norm(width // 2), nn.ReLU(True)]
            width //= 2
        model += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_colours, kernel_size=7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, image):
        return self.model(image)


def build_generator(in_colours, out_colours, base, variant, norm="batch", dropout=False):
    blocks = {"resnet_9blocks": 9, "resnet_6blocks": 6}
    if variant not in blocks:
        raise ValueError(f"no generator called {variant!r}")
    return ResidualGenerator(in_colours, out_colours, base, norm=norm_by_name(norm), dropout=dropout,
                             blocks=blocks[variant])
