"""A DCGAN pair written for tconvcalc's tests, in the idiom of the classic PyTorch DCGAN scripts: widths from
module-level constants, one nn.Sequential per model and a forward that spreads over GPUs only when asked
(`if input.is_cuda and self.ngpu > 1`, which a reader cannot decide: both branches apply the same stack)."""
import torch.nn as nn

COLOURS = 3  # image channels
LATENT = 100  # length of the noise vector, fed in as a 1x1 map
WIDTH = 64  # channels next to the 64x64 image; each step toward 4x4 doubles them


def _spread(stack, input, ngpu):
    return nn.parallel.data_parallel(stack, input, range(ngpu))


class Generator(nn.Module):
    """1x1 noise to a 64x64 image: a 4x4 kernel to 4x4, then four stride-2 steps that double the size."""

    def __init__(self, ngpu):
        super().__init__()
        self.ngpu = ngpu
        widths = [WIDTH * 8, WIDTH * 4, WIDTH * 2, WIDTH]
        layers = [nn.ConvTranspose2d(LATENT, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for cin, cout in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(WIDTH, COLOURS, 4, 2, 1, bias=False), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            images = _spread(self.layers, input, self.ngpu)
        else:
            images = self.layers(input)
        return images


class Discriminator(nn.Module):
    """A 64x64 image to one score: four stride-2 steps down to 4x4, then a 4x4 kernel to 1x1."""

    def __init__(self, ngpu):
        super().__init__()
        self.ngpu = ngpu
        layers = [nn.Conv2d(COLOURS, WIDTH, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for scale in (1, 2, 4):
            layers += [nn.Conv2d(WIDTH * scale, WIDTH * scale * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(WIDTH * scale * 2), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(WIDTH * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.layers = nn.Sequential(*layers)

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            scores = _spread(self.layers, input, self.ngpu)
        else:
            scores = self.layers(input)
        return scores.view(-1, 1).squeeze(1)
