"""Forks at import: the forked process writes its pid where the test says, then lingers."""
import os
import time

import torch.nn as nn

if os.fork() == 0:
    with open(os.environ["TCONVCALC_TEST_PIDFILE"], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(600)
    os._exit(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x):
        return self.conv(x)
