"""A U-Net package written for tconvcalc's tests, read by both the static reader and import mode."""
from .model import UNet
