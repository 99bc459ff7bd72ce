"""What every command shares: --json and one-line errors, and the options that describe a layer."""

import functools
import json
import sys

import click

from .errors import TconvError
from .layer import build_layer

# Sizes and pads may be negative numbers, which click would take for options.
SIZE_COMMAND = {"ignore_unknown_options": True}


def reports(command):
    """Adds --json, and turns TconvError into one line (and {"error": ...} with --json)."""

    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README: JSON output).")
    @functools.wraps(command)
    def wrapper(as_json, **options):
        try:
            return command(as_json=as_json, **options)
        except TconvError as error:
            from .render import message_line

            message = message_line(error)
            if as_json:
                click.echo(json.dumps({"error": message, "exit_code": error.exit_code,
                                       "warnings": list(getattr(error, "warnings", ()))}))
            click.echo(f"tconvcalc: {message}", err=True)
            sys.exit(error.exit_code)

    return wrapper


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


