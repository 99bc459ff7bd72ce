"""Prints terminal escape sequences (a window title, a screen clear, a bidi override) everywhere it can."""
import sys

import torch.nn as nn

BAIT = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\u202eevil"
print(BAIT)
print(BAIT, file=sys.stderr)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        print(BAIT)
        raise RuntimeError(BAIT)
