"""An encoder, a decoder and a factory that stacks them: three ways to name a model."""
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.ConvTranspose2d(width * 2, width, 4, 2, 1), nn.ReLU(),
                                 nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def forward(self, x):
        return self.net(x)


def autoencoder(width=16):
    return nn.Sequential(Encoder(width), Decoder(width))
