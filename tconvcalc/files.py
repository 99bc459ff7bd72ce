"""Reading a network from a file: the spec formats (TOML, JSON, YAML) here, every other kind handed to its
reader by suffix (Python source and print(model) text, ONNX, Keras). The readers sit above the network's
data model (network.py), which imports none of them."""

import os
import re

from .layer import MAX_INT
from .network import SpecError, make_network, parse_inline


MAX_SPEC_CHARS = 16_000_000  # a spec, a model's source or print(model) text: more is /dev/zero or a mistake


def _regular_file(path):
    """PATH, if it is a regular file: a FIFO would wait for a writer forever, /dev/zero never ends."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise SpecError(f"{path}: cannot read: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise SpecError(f"{path}: cannot read: {kind}, not a file")
    return path


def _yaml_loader(yaml, path):
    """PyYAML's safe loader without anchors and aliases: nine nested aliases make a billion values."""

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise SpecError(f"{path}: line {mark.line + 1}: YAML aliases (*name) are not read in specs; "
                                "write the values out")
            return super().compose_node(parent, index)

    return Loader


def load_spec(path, framework=None, backend=None, target=None):
    """A Network from a TOML, JSON or YAML file (see README: spec files), Python source (read with ast, never
    imported or run; ``target`` names the model and its arguments), an ONNX graph or a ``.keras`` archive."""
    suffix = str(path).rsplit(".", 1)[-1].lower()
    _regular_file(path)
    if suffix == "onnx":
        from .source.onnx_graph import network_from_onnx

        return network_from_onnx(path, framework, backend)
    if suffix == "keras":
        from .source.keras_json import network_from_keras_file

        return network_from_keras_file(path, backend)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_SPEC_CHARS + 1)
        if len(text) > MAX_SPEC_CHARS:
            raise SpecError(f"{path}: more than {MAX_SPEC_CHARS:,} characters; a model file is far smaller")
    except OSError as error:
        raise SpecError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:  # a binary file
        raise SpecError(f"{path}: cannot read: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return load_text(text, path, suffix, framework, backend, target)


def read_stdin(stream, name="stdin"):
    """The text piped in (SPEC -), at most MAX_SPEC_CHARS; never waits on a terminal."""
    if stream is None or _is_terminal(stream):
        raise SpecError(f"{name}: a terminal, not a pipe: pipe a spec in (tconvcalc chain 64 - < unet.toml)")
    data = getattr(stream, "buffer", stream).read(MAX_SPEC_CHARS + 1)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SpecError(f"{name}: cannot read: not UTF-8 text ({error.reason} at byte {error.start}); "
                            "ONNX and .keras files are read from a path") from None
    if len(data) > MAX_SPEC_CHARS:
        raise SpecError(f"{name}: more than {MAX_SPEC_CHARS:,} characters; a model file is far smaller")
    return data


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def sniff(text, name="stdin"):
    """The kind of a text without a file name: 'json' (a spec or Keras to_json), 'toml', 'yaml', 'py'
    (Python source and print(model) text, which the source reader tells apart) or 'inline' (one line)."""
    from .source.printed import looks_printed

    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("{"):
        return "json"
    if looks_printed(text) or re.search(r"^\s*(import |from \S+ import |class |def )|nn\.\w+\(", text, re.M):
        return "py"
    if body.startswith("[") or re.search(r"^\s*[\w.\"-]+\s*=", text, re.M):
        return "toml"
    if re.search(r"^\s*layers\s*:", text, re.M):
        return "yaml"
    if body.strip() and "\n" not in body.strip():  # one line: the inline mini-language (conv k3 | maxpool k2)
        return "inline"
    raise SpecError(f"{name}: not a spec (TOML, JSON, YAML), Keras to_json, print(model) text or Python source")


def load_text(text, path, suffix=None, framework=None, backend=None, target=None):
    """A Network from TEXT read from PATH (a name for messages); SUFFIX is its kind, sniffed when None (stdin)."""
    suffix = sniff(text, path) if suffix is None else suffix
    if suffix == "inline":
        return parse_inline(text.strip(), framework or "torch", backend)
    if suffix == "py" or suffix == "txt":
        from .source import network_from_source

        return network_from_source(text, path, framework, backend, target)
    data = _parse_document(text, path, suffix)
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        if isinstance(data, dict) and "class_name" in data:  # a Keras model.to_json()
            from .source import network_from_keras_json

            return network_from_keras_json(data, path, backend)
        raise SpecError(f"{path}: expected a table with a 'layers' list")
    unknown = set(data) - {"framework", "backend", "layers", "input_channels", "description"}
    if unknown:
        raise SpecError(f"{path}: unknown top-level field {sorted(unknown)[0]!r}")
    lines = _layer_lines(text, suffix)
    items = []
    for index, entry in enumerate(data["layers"]):
        line = f" (line {lines[index]})" if index < len(lines) else ""
        if not isinstance(entry, dict):
            raise SpecError(f"{path}: layers[{index}]{line}: expected a table of fields")
        items.append({**entry, "where": f"{path}: layers[{index}]{line}"})
    for field in ("framework", "backend"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise SpecError(f"{path}: field {field!r} must be a name, got {data[field]!r}")
    channels = data.get("input_channels")
    if channels is not None and (not isinstance(channels, int) or isinstance(channels, bool)
                                 or not 1 <= channels <= MAX_INT):
        raise SpecError(f"{path}: field 'input_channels' must be an integer in 1..{MAX_INT}, got {channels!r}")
    return make_network(items, framework or data.get("framework", "torch"), backend or data.get("backend"),
                        source=str(path), in_channels=channels)


def _parse_document(text, path, suffix):
    try:
        if suffix == "toml":
            import tomllib

            return tomllib.loads(text)
        if suffix in ("yaml", "yml"):
            try:
                import yaml
            except ImportError:
                raise SpecError(f"{path}: YAML specs need PyYAML (pip install pyyaml), or write TOML/JSON") from None
            return yaml.load(text, Loader=_yaml_loader(yaml, path))
        import json

        return json.loads(text)
    except SpecError:
        raise
    except Exception as error:  # each parser's own syntax error, with its line
        detail = " ".join(str(error).split())
        if "integer string conversion" in detail:  # Python's own limit, worded for the user
            detail = "a number with more than 4300 digits"
        raise SpecError(f"{path}: syntax error: {detail}") from None


def _layer_lines(text, suffix):
    """Line numbers of each layer entry, for messages: '[[layers]]' headers in TOML, '- ' items in YAML."""
    pattern = {"toml": r"\s*\[\[\s*layers\s*\]\]", "yaml": r"\s*-\s", "yml": r"\s*-\s"}.get(suffix)
    if pattern is None:
        return []
    return [number for number, line in enumerate(text.splitlines(), 1) if re.match(pattern, line)]
