"""What the commands share, in one place: the options that describe a layer, the output options (--json, -q,
--emit), the value types that complete in a shell, and how a command takes sizes that may be negative.
Add an option used by more than one command here.

The value types only name and complete values; checking them stays with the parsers of tconvcalc.layer,
whose messages name the value and the rule (and take aliases: deconv, Conv2DTranspose, pytorch).
"""

import re

import click

from .. import layer as layers
from .boundary import JSON_KEY

# ---- sizes that may be negative ------------------------------------------------------------------------

_NEGATIVE = re.compile(r"-[0-9.]")  # -5, -5x3, -1:2: a value (no option of ours starts with a digit)


class SizeCommand(click.Command):
    """A command whose positional sizes may be negative numbers (`forward -5` says why -5 is no size):
    such a token is moved past a ``--``, so click reads it as an argument, while a misspelt option still
    gets click's "No such option" and its suggestion."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _negatives_as_arguments(args, _value_options(self)))


def _value_options(command):
    return {name for param in command.params if isinstance(param, click.Option) and not param.is_flag
            and not param.count for name in param.opts + param.secondary_opts}


def _negatives_as_arguments(args, value_options):
    options, arguments = [], []
    tokens = list(args)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            arguments += tokens[index + 1:]
            break
        if token in value_options:
            options += tokens[index:index + 2]
            index += 2
            continue
        if _NEGATIVE.match(token):
            arguments.append(token)
        elif token.startswith("-") and len(token) > 1:
            options.append(token)
        else:
            arguments.append(token)
        index += 1
    if not any(_NEGATIVE.match(token) for token in arguments):
        return list(args)
    return options + ["--"] + arguments


def size_command(**settings):
    """@size_command() for a command that takes sizes (every command of tconvcalc)."""
    return click.command(cls=SizeCommand, **settings)


# ---- value types: a metavar that says what, and shell completion -----------------------------------------

class Words(click.ParamType):
    """A name from a list (or a comma list of them), completed in the shell; tconvcalc.layer checks it."""

    name = "word"

    def __init__(self, metavar, words, extra=()):
        self._metavar, self._words, self._extra = metavar, words, tuple(extra)

    def get_metavar(self, param, ctx=None):
        return self._metavar

    def convert(self, value, param, ctx):
        return value

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        done, _, last = incomplete.rpartition(",")  # -f torch,ke<TAB>
        prefix = f"{done}," if done else ""
        return [CompletionItem(prefix + word) for word in (*self._words(), *self._extra)
                if word.lower().startswith(last.lower())]


class Text(click.ParamType):
    """A value checked by tconvcalc.layer (sizes, kernels, paddings), with a metavar saying what it is."""

    name = "text"

    def __init__(self, metavar, completes_files=False):
        self._metavar, self._files = metavar, completes_files

    def get_metavar(self, param, ctx=None):
        return self._metavar

    def convert(self, value, param, ctx):
        return value

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")] if self._files else []


def _kinds():
    return layers.KINDS


def _frameworks():
    return layers.FRAMEWORKS


FRAMEWORK = Words("FRAMEWORK", _frameworks)
FRAMEWORKS = Words("FRAMEWORKS", _frameworks, extra=("all",))  # a comma list, or all
KIND = Words("LAYER", _kinds)
KINDS = Words("LAYERS", _kinds, extra=("any",))
BACKEND = Words("BACKEND", lambda: layers.KERAS_BACKENDS)
PADDING_MODE = Words("MODE", lambda: layers.PAD_MODES)
PADDING = Words("P", lambda: layers.PADDING_WORDS)  # or integers: 1, 1x2, 1:2
SIZE = Text("SIZE")
SPEC = Text("SPEC", completes_files=True)
PATH = Text("FILE", completes_files=True)


def backend_option(help="Keras backend: tensorflow (default), jax or torch."):
    return click.option("--backend", type=BACKEND, help=help)


API = Words("API", lambda: layers.KERAS_APIS)


def api_option(help="Keras API: layers (default: keras.layers.Conv2D) or ops (keras.ops.conv, called on a "
                    "tensor; the backend's own rules: jax and torch run strides > 1 with dilation > 1)."):
    return click.option("--api", type=API, help=help)


# ---- output: --json, -q, --emit -------------------------------------------------------------------------

def _remember_json(ctx, param, value):
    ctx.meta[JSON_KEY] = value  # the boundary answers an error with the JSON error object
    return value


def reports(command):
    """Adds --json (one JSON object on stdout; errors too: {"error": ..., "exit_code": ...})."""
    return click.option("--json", "as_json", is_flag=True, callback=_remember_json, is_eager=True,
                        help="Print one JSON object (see README: JSON output).")(command)


def quiet_option(what):
    return click.option("-q", "--quiet", is_flag=True, help=f"Print only {what}.")


def emit_option(what):
    return click.option("--emit", is_flag=True, help=f"Print only {what}.")


def one_output(**chosen):
    """-q, --emit and --json each choose the whole output: two of them is a usage error (exit 2)."""
    given = [name for name, on in chosen.items() if on]
    if len(given) > 1:
        flags = {"quiet": "-q", "emit": "--emit", "as_json": "--json"}
        names = [flags.get(name, name) for name in given]
        raise click.UsageError(f"{' and '.join(names)} each choose the whole output; give one of them")


def plain_warnings(warnings):
    """Warnings on stderr without rich (-q, --emit): one line each."""
    if warnings:
        from ..render import message_line

        for warning in warnings:
            click.echo(f"warning: {message_line(warning)}", err=True)


# ---- one layer ---------------------------------------------------------------------------------------------

def layer_options(command=None, hidden=()):
    """The options that describe one layer, shared by every command that takes a layer: @layer_options, or
    @layer_options(hidden=NAMES) for options a command takes but does not list (inputs: its OUTPUT is the
    output size)."""
    if command is None:
        return lambda command: layer_options(command, hidden)
    options = [
        click.option("-l", "--layer", "kind", default="convT", show_default=True, type=KIND,
                     help=f"{', '.join(layers.KINDS)}; aliases (deconv, globalavgpool) and a framework's own "
                          "names (Conv2DTranspose) too. Adaptive pools take --output-size."),
        click.option("-f", "--framework", default="torch", show_default=True, type=FRAMEWORK,
                     help="torch, keras, tf, jax or onnx."),
        click.option("-k", "--kernel", type=Text("K"), help="Kernel size: 4, or per axis 4x3."),
        click.option("-s", "--stride", type=Text("S"), help="Stride (default 1; pools and unpool: the kernel)."),
        click.option("-p", "--padding", type=PADDING,
                     help="Integers (per axis 1x2, asymmetric BEFORE:AFTER), or valid, same, "
                          "same_upper, same_lower, causal."),
        click.option("-d", "--dilation", type=Text("D"),
                     help="Dilation (default 1; avgpool: onnx AveragePool dilations, jax window_dilation)."),
        click.option("--input-dilation", type=Text("D"),
                     help="jax: lhs_dilation (conv) / base_dilation (pools): d-1 zeros between input values."),
        click.option("--consistent-padding", is_flag=True, default=None,
                     help="jax convT: use_consistent_padding=True (the pads are the forward conv's, as torch's)."),
        click.option("--output-padding", type=Text("OP"),
                     help="Transposed conv output_padding (default: the framework's)."),
        click.option("--output-size", type=SIZE,
                     help="The output the caller asks for (torch output_size=, tf/onnx output_shape); "
                          "adaptive pools' output_size (None on an axis keeps it); upsample size=."),
        click.option("--ceil-mode", is_flag=True, default=None, help="Pools: round the output up (torch, onnx)."),
        click.option("--scale", type=Text("SCALE"),
                     help="Upsample scale factor (2, or per axis 2x1.5); pixelshuffle upscale factor."),
        backend_option(),
        api_option(),
        click.option("--groups", type=Text("G"),
                     help="conv/convT: groups dividing both channel counts (depthwise: = in channels)."),
        click.option("--padding-mode", type=PADDING_MODE,
                     help="What the pads hold: zeros (default), reflect, replicate, circular (torch conv); "
                          "pad layers also symmetric."),
    ]
    for option in reversed(options):
        command = option(command)
    for param in command.__click_params__:
        if param.name in hidden:
            param.hidden = True
    return command


def make_layer(rank, kind, framework, **options):
    return layers.build_layer(kind, framework, rank, **options)
