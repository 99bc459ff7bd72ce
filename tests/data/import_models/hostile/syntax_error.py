import torch.nn as nn


class Net(nn.Module):
    def __init__(self)
        super().__init__()
