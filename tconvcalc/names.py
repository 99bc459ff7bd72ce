"""Each framework's own names for the layer kinds, as its documentation spells them.

One table serves two readers: ``-l`` takes a framework's name (``Conv2DTranspose``, ``ConvTranspose``,
``LPPool2d``, ``SpaceToDepth``) as well as tconvcalc's kind, and ``forward --help`` lists them, so a user
finds every layer of their framework's docs under the name they know. A trailing ``1d``/``2d``/``3d`` is the
layer's rank: ``Conv2d`` is ``conv`` on a 2-D size, and a size of another rank is refused.
"""

import functools
import re

# kind -> framework -> the names its docs use (rank suffixes written once as "{r}").
NAMES = {
    "conv": {"torch": ["Conv{r}d"], "keras": ["Conv{r}D"], "tf": ["conv{r}d", "convolution"],
             "jax": ["conv_general_dilated", "conv"], "onnx": ["Conv"]},
    "convT": {"torch": ["ConvTranspose{r}d"], "keras": ["Conv{r}DTranspose"],
              "tf": ["conv{r}d_transpose", "conv_transpose"], "jax": ["conv_transpose"], "onnx": ["ConvTranspose"]},
    "depthwise": {"torch": ["Conv1d/2d/3d(groups=in_channels)"], "keras": ["DepthwiseConv{r}D"],
                  "tf": ["depthwise_conv2d"], "jax": ["conv_general_dilated(feature_group_count=C)"],
                  "onnx": ["Conv(group=C)"]},
    "separable": {"keras": ["SeparableConv{r}D"], "tf": ["separable_conv2d"]},
    "maxpool": {"torch": ["MaxPool{r}d"], "keras": ["MaxPooling{r}D"], "tf": ["max_pool{r}d", "max_pool"],
                "jax": ["reduce_window(max)"], "onnx": ["MaxPool"]},
    "avgpool": {"torch": ["AvgPool{r}d"], "keras": ["AveragePooling{r}D"], "tf": ["avg_pool{r}d", "avg_pool"],
                "jax": ["reduce_window(add)"], "onnx": ["AveragePool"]},
    "lppool": {"torch": ["LPPool{r}d"], "onnx": ["LpPool"]},
    "adaptiveavgpool": {"torch": ["AdaptiveAvgPool{r}d"],
                        "keras": ["AdaptiveAveragePooling{r}D", "GlobalAveragePooling{r}D"],
                        "tf": ["reduce_mean"], "jax": ["jnp.mean(axis=spatial)"], "onnx": ["GlobalAveragePool"]},
    "adaptivemaxpool": {"torch": ["AdaptiveMaxPool{r}d"], "keras": ["AdaptiveMaxPooling{r}D", "GlobalMaxPooling{r}D"],
                        "tf": ["reduce_max"], "jax": ["jnp.max(axis=spatial)"], "onnx": ["GlobalMaxPool"]},
    "upsample": {"torch": ["Upsample", "interpolate"], "keras": ["UpSampling{r}D", "Resizing"],
                 "tf": ["image.resize"], "jax": ["image.resize"], "onnx": ["Resize", "Upsample"]},
    "pixelshuffle": {"torch": ["PixelShuffle"], "tf": ["depth_to_space"], "jax": ["pixel shuffle (reshape)"],
                     "onnx": ["DepthToSpace"]},
    "pixelunshuffle": {"torch": ["PixelUnshuffle"], "tf": ["space_to_depth"], "onnx": ["SpaceToDepth"]},
    "unpool": {"torch": ["MaxUnpool{r}d"], "onnx": ["MaxUnpool"]},
    "pad": {"torch": ["ZeroPad{r}d", "ConstantPad{r}d", "ReflectionPad{r}d", "ReplicationPad{r}d", "CircularPad{r}d",
                      "pad"],
            "keras": ["ZeroPadding{r}D", "Cropping{r}D"], "tf": ["pad"], "jax": ["pad"], "onnx": ["Pad"]},
}

# Names that are not one kind by themselves: a global pool is an adaptive pool to 1 (handled by the caller).
GLOBAL = {"globalaveragepooling": "adaptiveavgpool", "globalmaxpooling": "adaptivemaxpool",
          "globalaveragepool": "adaptiveavgpool", "globalmaxpool": "adaptivemaxpool",
          "reduce_mean": "adaptiveavgpool", "reduce_max": "adaptivemaxpool"}

# The rank in a name: at its end (Conv2d, LPPool1d) or before "transpose" (Conv2DTranspose, conv2d_transpose).
_RANK = re.compile(r"([123])d(?=(_?transpose)?\Z)")
_PREFIXES = ("torch.nn.functional.", "torch.nn.", "nn.functional.", "nn.", "f.", "keras.layers.", "layers.",
             "tf.nn.", "tf.", "jax.lax.", "jax.", "lax.", "jnp.", "onnx.")


def _plain(name):
    """``Conv{r}DTranspose`` -> ``convtranspose``: the name without its rank, the key a typed name is matched on."""
    return split_rank(name.replace("{r}", "1"))[0]


@functools.cache
def _table():
    table = {}
    for kind, frameworks in NAMES.items():
        for names in frameworks.values():
            for name in names:
                if "(" not in name and " " not in name:
                    table.setdefault(_plain(name), kind)
    table.update(GLOBAL)
    return table


def split_rank(text):
    """(the name without its rank and module prefix, the rank it names or None): ``Conv2DTranspose`` ->
    (``convtranspose``, 2); ``nn.LPPool1d`` -> (``lppool``, 1); ``tf.nn.conv2d_transpose`` -> (``conv_transpose``, 2)."""
    name = str(text).strip().lower()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    match = _RANK.search(name)
    if match and match.start() > 0:
        return name[:match.start()] + name[match.end():], int(match.group(1))
    return name, None


def framework_kind(text):
    """(kind, rank or None, global pool) for a framework's layer name, or None where it names none."""
    name, rank = split_rank(text)
    kind = _table().get(name)
    if kind is None:
        return None
    return kind, rank, name in GLOBAL


def help_lines(kinds, width=76, label=16):
    """Per kind a block: the kind in a column of ``label``, then each framework's names, every rank spelled out
    (``torch ConvTranspose1d, ConvTranspose2d, ...; keras Conv1DTranspose, ...``), wrapped at ``width`` between
    names, never inside one, so a search of the help finds each name whole."""
    lines = []
    for kind in kinds:
        tokens = []
        for framework, names in NAMES.get(kind, {}).items():
            shown = [ranked for name in names
                     for ranked in (_ranked(name, framework, kind).split("/") if "{r}" in name else [name])]
            shown = [f"{name}," for name in shown[:-1]] + [f"{shown[-1]};"]
            tokens += [f"{framework} {shown[0]}", *shown[1:]]
        if tokens:
            tokens[-1] = tokens[-1][:-1]
        lines += _wrap(kind.ljust(label - 1), tokens, width, label)
    return lines


def _wrap(head, tokens, width, indent):
    """Greedy wrap of whole tokens after ``head``; continuation lines indented to the names' column."""
    lines, line = [], head
    for token in tokens:
        if len(line) + 1 + len(token) > width and line.strip():
            lines.append(line)
            line = " " * (indent - 1)
        line += " " + token
    lines.append(line)
    return lines


def _ranked(name, framework, kind):
    """Every rank spelled out, so a search of the help for ``Conv2DTranspose`` finds it."""
    if "{r}" not in name:
        return name
    ranks = "12" if (framework, kind) in (("keras", "depthwise"), ("keras", "separable")) else "123"
    return "/".join(name.replace("{r}", r) for r in ranks)
