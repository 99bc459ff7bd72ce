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


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tconvcalc", message="%(version)s")
def cli():
    """Exact output sizes of convolution, transposed convolution, pooling and upsampling
    in PyTorch, Keras, TensorFlow, JAX and ONNX -- and the layers that give a size."""


def main():
    cli.main()
