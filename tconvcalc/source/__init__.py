"""Networks read from PyTorch source, ``print(model)`` text and Keras ``model.to_json()``.

Nothing here imports, executes or evaluates the user's code: Python is read with ``ast`` and a small
interpreter over the syntax tree; Keras JSON is read with ``json``. One module per input kind:

- ``python.py`` -- PyTorch source: finds the model and follows its data flow with the interpreter
  (``interpreter.py``, over the values in ``values.py``).
- ``printed.py`` -- ``print(model)`` text: the printed modules in order, as one chain.
- ``keras_json.py`` -- Keras ``model.to_json()``: Sequential chains and Functional graphs.
- ``torch_layers.py`` -- the torch.nn constructors both torch readers know; ``items.py`` -- the
  ``make_network`` items every reader builds.
"""

__all__ = ["network_from_source", "network_from_keras_json"]


# The readers load when one is used: an inline spec or a TOML file needs none of them.
def network_from_source(text, path, framework=None, backend=None, target=None):
    """A Network from PyTorch source or ``print(model)`` text, read with ast; never executed. ``target``
    (a selection.Target) names the model of the file and its constructor arguments."""
    from .printed import looks_printed, network_from_print
    from .python import network_from_python

    source = str(path)
    if looks_printed(text):
        return network_from_print(text, source, framework, backend)
    return network_from_python(text, source, framework, backend, target)


def network_from_keras_json(data, path, backend=None):
    """A Network from a Keras ``model.to_json()`` document (see keras_json.py)."""
    from .keras_json import network_from_keras_json as read

    return read(data, path, backend)
