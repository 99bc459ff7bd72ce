"""What the commands share, in one place: --json, the options that describe a layer, and how a command
takes sizes that may be negative. Add an option used by more than one command here."""

import click

from ..layer import build_layer
from .boundary import JSON_KEY

# Sizes and pads may be negative numbers, which click would take for options.
SIZE_COMMAND = {"ignore_unknown_options": True}


def _remember_json(ctx, param, value):
    ctx.meta[JSON_KEY] = value  # the boundary answers an error with the JSON error object
    return value


def reports(command):
    """Adds --json (one JSON object on stdout; errors too: {"error": ..., "exit_code": ...})."""
    return click.option("--json", "as_json", is_flag=True, callback=_remember_json, is_eager=True,
                        help="Print one JSON object (see README: JSON output).")(command)


def layer_options(command):
    """The options that describe one layer, shared by every command that takes a layer."""
    options = [
        click.option("-l", "--layer", "kind", default="convT", show_default=True,
                     help="conv, convT (conv-transpose, deconv), maxpool, avgpool, upsample, pixelshuffle, unpool, "
                          "pad, adaptiveavgpool, adaptivemaxpool (--output-size; globalavgpool, globalmaxpool: 1)."),
        click.option("-f", "--framework", default="torch", show_default=True,
                     help="torch, keras, tf, jax or onnx."),
        click.option("-k", "--kernel", help="Kernel size: 4, or per axis 4x3."),
        click.option("-s", "--stride", help="Stride (default 1; pools and unpool: the kernel)."),
        click.option("-p", "--padding",
                     help="Integers (per axis 1x2, asymmetric BEFORE:AFTER), or valid, same, "
                          "same_upper, same_lower, causal."),
        click.option("-d", "--dilation", help="Dilation (default 1)."),
        click.option("--output-padding", help="Transposed conv output_padding (default: the framework's)."),
        click.option("--output-size", help="The output the caller asks for (torch output_size=, tf/onnx output_shape); "
                                           "adaptive pools' output_size (None on an axis keeps it); upsample size=."),
        click.option("--ceil-mode", is_flag=True, default=None, help="Pools: round the output up (torch, onnx)."),
        click.option("--scale", help="Upsample scale factor (2, or per axis 2x1.5); pixelshuffle upscale factor."),
        click.option("--backend", help="Keras backend: tensorflow (default), jax or torch."),
        click.option("--groups", help="conv/convT: groups dividing both channel counts (depthwise: = in channels)."),
        click.option("--padding-mode", help="What the pads hold: zeros (default), reflect, replicate, circular "
                                            "(torch conv); pad layers also symmetric."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_layer(rank, kind, framework, **options):
    return build_layer(kind, framework, rank, **options)
