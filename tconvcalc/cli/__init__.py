"""The command line: parse -> core -> render, nothing else. One module per command group:

- ``layer.py``    forward, inputs (one layer)
- ``solve.py``    solve (the layers that give a size)
- ``network.py``  chain, mirror (networks from specs, source, print(model), ONNX, Keras)
- ``design.py``   design (stacks of layers)
- ``numeric.py``  verify, matrix, convert (numpy, imported only when they run)

``options.py`` holds the options and choices the commands share; ``boundary.py`` turns every failure into
one line and an exit code; ``group.py`` loads a command's module only when it runs.
"""

import click

from .group import LazyGroup

COMMANDS = {  # the order help lists them in
    "forward": "layer",
    "solve": "solve",
    "inputs": "layer",
    "chain": "network",
    "mirror": "network",
    "design": "design",
    "verify": "numeric",
    "matrix": "numeric",
    "convert": "numeric",
}


def _version_message():
    import platform

    return f"%(prog)s %(version)s (Python {platform.python_version()}, {platform.system()} {platform.machine()})"


@click.group(name="tconvcalc", cls=LazyGroup, lazy_commands=COMMANDS, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tconvcalc", prog_name="tconvcalc", message=_version_message())
@click.pass_context
def cli(ctx):
    """Exact output sizes of convolution, transposed convolution, pooling and upsampling
    in PyTorch, Keras, TensorFlow, JAX and ONNX -- and the layers that give a size.

    \b
    tconvcalc forward 126 -l convT -k 4 -s 2 -p 1     # the output size: 252
    tconvcalc solve 126 255 -f tf                     # the layers that give 255
    tconvcalc chain H examples/unet.toml              # sizes through a network

    Each command's --help has its options and examples. Exit codes: 0 done, 1 the framework refuses or
    nothing is found, 2 unusable input, 3 a bug of tconvcalc's.
    """
    if ctx.invoked_subcommand is None:  # bare `tconvcalc`: the help, as click tools print it
        click.echo(ctx.get_help())


def main():
    cli.main()
