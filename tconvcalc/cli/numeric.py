"""The numeric commands: verify, matrix, convert. numpy and the executor are imported only inside each command."""

import click

from ..errors import InputError
from ..layer import parse_int, parse_size
from .options import (FRAMEWORK, KIND, PADDING, PATH, SIZE, Text, api_option, backend_option, emit_option,
                      layer_options, make_layer, one_output, reports, size_command)
from .boundary import Written
from .progress import progress


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


@size_command(short_help="Run the layer on numbers and compare with the framework (numpy).")
@click.argument("size", type=SIZE)
@layer_options
@click.option("--channels", default="2:3", show_default=True, type=Text("CIN:COUT"),
              help="Input and output channels, CIN:COUT.")
@click.option("--batch", default="1", show_default=True, type=Text("N"), help="Batch size.")
@click.option("--seed", default="0", show_default=True, type=Text("SEED"), help="Seed of the random data.")
@click.option("--mode", default="nearest", show_default=True, type=click.Choice(["nearest", "bilinear"],
                                                                                case_sensitive=False),
              help="Upsample: nearest, or bilinear (torch align_corners=False, keras UpSampling2D, onnx linear).")
@reports
def verify(size, as_json, channels, batch, seed, mode, **options):
    """Run the layer on random float64 data: the shape equals forward's, the transposed conv is the
    adjoint of the conv (conv/convT only), and (where installed) the framework gives the same values.
    Pools, unpool (of the executor's own maxpool), upsample, pixelshuffle and pad: shape and values.

    \b
    tconvcalc verify 126 -l convT -k 4 -s 2 -p 1
    tconvcalc verify 9x8 -l convT -f tf -k 3 -s 2 -p same --output-size 18x16
    tconvcalc verify 5x4 -l upsample --scale 1.5 --mode bilinear
    """
    _need_numpy("verify")
    from ..numeric import render
    from ..numeric.verify import verify as run_verify
    from ..render import consoles, to_json

    sizes = _numeric_size(size, "verify")
    layer = make_layer(len(sizes), **options)
    with progress(f"running the layer in numpy and {layer.framework}"):
        result = run_verify(layer, sizes, _channels(channels), parse_int(batch, "--batch"),
                            parse_int(seed, "--seed", minimum=0), layer.groups,
                            mode=str(mode).strip().lower())
    if as_json:
        click.echo(to_json(result))
    else:
        render.print_verify(result, consoles()[0])
    if not result.ok:
        raise Written("verify failed: " + "; ".join(result.failures), 1)


@size_command(short_help="The conv as a matrix C, the convT as Cᵀ, their overlap (numpy).")
@click.argument("size", type=SIZE)
@layer_options
@click.option("--no-matrix", is_flag=True, help="Only the overlap and index maps (no size limit).")
@click.option("--png", "png", type=PATH,
              help="Also draw the overlap map (and C, Cᵀ) into FILE (needs matplotlib).")
@reports
def matrix(size, as_json, no_matrix, png, **options):
    """The conv as a matrix C and the transposed conv as Cᵀ (small sizes), the overlap of the transposed
    conv's taps (checkerboard risk) and which inputs feed each output.

    \b
    tconvcalc matrix 4x4 -l conv -k 3          # C is 4×16
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
    """The layer options of convert: -f/--from and --to name the two frameworks."""
    options = [
        click.option("-l", "--layer", "kind", default="convT", show_default=True, type=KIND, help="conv or convT."),
        click.option("-f", "--from", "source", required=True, type=FRAMEWORK,
                     help="The framework of the layer: torch, keras, tf, jax, onnx."),
        click.option("--to", "target", required=True, type=FRAMEWORK, help="The framework to write it in."),
        click.option("--size", "old_size", type=SIZE, hidden=True),  # the old form: convert LAYER --size SIZE
        click.option("-k", "--kernel", type=Text("K"), help="Kernel size: 4, or per axis 4x3."),
        click.option("-s", "--stride", type=Text("S"), help="Stride (default 1)."),
        click.option("-p", "--padding", type=PADDING,
                     help="Integers (per axis 1x2, asymmetric BEFORE:AFTER), or a padding word."),
        click.option("-d", "--dilation", type=Text("D"), help="Dilation (default 1)."),
        click.option("--output-padding", type=Text("OP"), help="Transposed conv output_padding."),
        click.option("--output-size", type=SIZE,
                     help="The output the caller asks for (torch output_size=, tf/onnx output_shape)."),
        backend_option("Keras backend (either side): tensorflow (default), jax or torch."),
        api_option("Keras API of the -f/--from layer: layers (default) or ops (keras.ops.conv / conv_transpose)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@size_command(short_help="The same conv/convT in another framework, proved (numpy).")
@click.argument("size", type=SIZE)
@_convert_options
@emit_option("the code in the target framework (and its extra pad or crop)")
@reports
def convert(size, kind, as_json, emit, source, target, old_size, backend, api, **options):
    """The same conv / convT in another framework for input SIZE, proved on numbers by the executor:
    exact, needs an extra pad/crop (emitted as code), or impossible (why).

    \b
    tconvcalc convert 64 -l convT -f torch --to keras -k 3 -s 2 -p 1 --output-padding 1
    tconvcalc convert 64x64 -l conv -f tf --to torch -k 3 -s 2 -p same
    tconvcalc convert 64x64 -l conv -f tf --to torch -k 3 -s 2 -p same --emit
    """
    one_output(emit=emit, as_json=as_json)
    if old_size is not None:  # convert convT --from torch --to keras ... --size 64 still works
        size, kind = old_size, size
    _need_numpy("convert")
    from ..numeric import render
    from ..numeric.convert import convert as run_convert
    from ..layer import build_layer, parse_framework
    from ..render import consoles, json_dumps

    sizes = _numeric_size(size, "convert")
    source, target = parse_framework(source), parse_framework(target)
    layer = build_layer(kind, source, len(sizes), backend=backend if source == "keras" else None, api=api,
                        **options)
    with progress(f"running the layer in {source} and {target}"):
        result = run_convert(layer, sizes, target, backend=backend or "tensorflow")
    if as_json:
        click.echo(json_dumps(result.as_json()))
    elif emit and result.verdict != "impossible":
        click.echo(result.code)
        if result.extra:
            click.echo(result.extra)
    elif not emit:
        render.print_convert(result, consoles()[0])
    if result.verdict == "impossible":
        raise Written(f"{source} -> {target}: impossible: {result.reason}", 1)
