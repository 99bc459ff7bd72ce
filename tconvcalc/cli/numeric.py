"""The numeric commands: verify, matrix, convert. numpy and the executor are imported only inside each command."""

import sys

import click

from ..errors import InputError
from ..layer import parse_int, parse_size
from .options import SIZE_COMMAND, layer_options, make_layer, reports


def _need_numpy(command):
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise InputError(f"{command} needs numpy: pip install 'tconvcalc[numpy]'") from None


def _numeric_size(text, command):
    sizes = parse_size(text)
    if any(isinstance(v, str) for v in sizes):
        raise InputError(f"{command} runs the layer on numbers: give a numeric size")
    return sizes


def _channels(text):
    parts = str(text).split(":")
    if len(parts) != 2:
        raise InputError(f"--channels takes CIN:COUT, like 2:3; got {text!r}")
    return tuple(parse_int(p, "channels") for p in parts)


def _fail(message, as_json):
    click.echo(f"tconvcalc: {message}", err=True)
    sys.exit(1)


@click.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@layer_options
@click.option("--channels", default="2:3", show_default=True, help="Input and output channels, CIN:COUT.")
@click.option("--batch", default="1", show_default=True, help="Batch size.")
@click.option("--seed", default="0", show_default=True, help="Seed of the random data.")
@click.option("--mode", default="nearest", show_default=True,
              help="Upsample: nearest, or bilinear (torch align_corners=False, keras UpSampling2D, onnx linear).")
@reports
def verify(size, as_json, channels, batch, seed, mode, **options):
    """Run the layer on random float64 data: the shape equals forward's, the transposed conv is the
    adjoint of the conv (conv/convT only), and (where installed) the framework gives the same values.
    Pools, unpool (of the executor's own maxpool), upsample, pixelshuffle and pad: shape and values.

    \b
    tconvcalc verify 126 -l convT -k 4 -s 2 -p 1
    tconvcalc verify 9x8 -l convT -f tf -k 3 -s 2 -p same --output-size 18x16 --json
    tconvcalc verify 9x9 -l avgpool -k 3 -s 2 -p 1 --ceil-mode
    tconvcalc verify 5x4 -l upsample --scale 1.5 --mode bilinear
    tconvcalc verify 8x8 -l pad -p 2:1x0:3 --padding-mode reflect
    """
    _need_numpy("verify")
    from ..numeric import render
    from ..numeric.verify import verify as run_verify
    from ..render import consoles, to_json

    sizes = _numeric_size(size, "verify")
    layer = make_layer(len(sizes), **options)
    result = run_verify(layer, sizes, _channels(channels), parse_int(batch, "--batch"),
                        parse_int(seed, "--seed", minimum=0), layer.groups,
                        mode=str(mode).strip().lower())
    if as_json:
        click.echo(to_json(result))
    else:
        render.print_verify(result, consoles()[0])
    if not result.ok:
        _fail("verify failed: " + "; ".join(result.failures), as_json)


@click.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@layer_options
@click.option("--no-matrix", is_flag=True, help="Only the overlap and index maps (no size limit).")
@click.option("--png", "png", metavar="FILE", help="Also draw the overlap map (and C, Cᵀ) into FILE (needs matplotlib).")
@reports
def matrix(size, as_json, no_matrix, png, **options):
    """The conv as a matrix C and the transposed conv as Cᵀ (small sizes), the overlap of the transposed
    conv's taps (checkerboard risk) and which inputs feed each output.

    \b
    tconvcalc matrix 4x4 -l conv -k 3          # seed 002: C is 4×16
    tconvcalc matrix 8 -l convT -k 3 -s 2 -p 1 # uneven overlap: checkerboard
    tconvcalc matrix 8x8 -l convT -k 3 -s 2 --no-matrix --png overlap.png
    """
    _need_numpy("matrix")
    if png:
        from ..numeric.picture import need_matplotlib

        need_matplotlib()
    from ..numeric import render
    from ..numeric.matrix import matrix as run_matrix
    from ..render import consoles, to_json

    sizes = _numeric_size(size, "matrix")
    result = run_matrix(make_layer(len(sizes), **options), sizes, show_matrix=not no_matrix)
    if png:
        from ..numeric.picture import write_png

        try:
            write_png(result, png)
        except OSError as error:
            raise InputError(f"--png cannot write {png}: {error.strerror or error}") from None
    if as_json:
        click.echo(to_json(result))
    else:
        render.print_matrix(result, consoles()[0])
        if png:
            consoles()[0].print(f"\nwrote {png}", soft_wrap=True, markup=False, highlight=False)


def _convert_options(command):
    """The layer options of convert: LAYER, --from and --to replace -l and -f."""
    options = [
        click.option("--from", "source", required=True, help="The framework of the layer: torch, keras, tf, jax, onnx."),
        click.option("--to", "target", required=True, help="The framework to write it in."),
        click.option("--size", "size", required=True, help="The input size the equivalence is proved on: 126, 64x64."),
        click.option("-k", "--kernel", help="Kernel size: 4, or per axis 4x3."),
        click.option("-s", "--stride", help="Stride (default 1)."),
        click.option("-p", "--padding", help="Integers (per axis 1x2, asymmetric BEFORE:AFTER), or a padding word."),
        click.option("-d", "--dilation", help="Dilation (default 1)."),
        click.option("--output-padding", help="Transposed conv output_padding."),
        click.option("--output-size", help="The output the caller asks for (torch output_size=, tf/onnx output_shape)."),
        click.option("--backend", help="Keras backend (either side): tensorflow (default), jax or torch."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command(context_settings=SIZE_COMMAND)
@click.argument("kind", metavar="LAYER")
@_convert_options
@reports
def convert(kind, as_json, source, target, size, backend, **options):
    """The same conv / convT in another framework, proved on numbers by the executor: exact, needs an
    extra pad/crop (emitted as code), or impossible (why).

    
    tconvcalc convert convT --from torch --to keras -k 3 -s 2 -p 1 --output-padding 1 --size 64
    tconvcalc convert conv --from tf --to torch -k 3 -s 2 -p same --size 64x64 --json
    """
    _need_numpy("convert")
    import json

    from ..numeric import render
    from ..numeric.convert import convert as run_convert
    from ..layer import build_layer, parse_framework
    from ..render import consoles

    sizes = _numeric_size(size, "convert")
    source, target = parse_framework(source), parse_framework(target)
    layer = build_layer(kind, source, len(sizes), backend=backend if source == "keras" else None, **options)
    result = run_convert(layer, sizes, target, backend=backend or "tensorflow")
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        render.print_convert(result, consoles()[0])
    if result.verdict == "impossible":
        sys.exit(1)

