"""What a framework requires, warns about and notes while it computes a shape.

A framework module states its rules as conditions. With numbers a failed rule
raises ShapeError at once; with symbolic sizes the same rule becomes part of the
condition under which the layer is valid, so each rule is written once.
"""

from .arithmetic import Traced, settle
from .errors import ShapeError


class Checks:
    """``strict=False`` records broken rules instead of raising: the solver reads a framework's
    raw formula that way, then solves it in closed form and re-checks the answer strictly."""

    def __init__(self, strict=True):
        self.strict = strict
        self.broken = []  # messages of rules that failed, when not strict
        self.conditions = []  # (symbolic condition, the framework's message)
        self.warnings = []
        self.notes = []  # the derivation, for --explain

    def require(self, condition, message):
        """The framework refuses unless ``condition`` holds. ``message`` may be a callable, so the
        solver's inner loop does not format messages nobody reads."""
        holds = _truth(condition)
        if holds is True:
            return
        message = message() if callable(message) else message
        if holds is None:  # symbolic: it holds for some sizes only
            self.conditions.append((condition, message))
        elif self.strict:
            raise ShapeError(message, tuple(self.warnings))
        else:
            self.broken.append(message)

    def refuse(self, message):
        raise ShapeError(message, tuple(self.warnings))

    def warn(self, condition, message):
        holds = _truth(condition)
        if holds is None:
            self.warnings.append(f"when {condition}: {message}")
        elif holds:
            self.warnings.append(message)

    def note(self, message):
        self.notes.append(message)

    def step(self, name, value):
        """Record ``name = formula = value`` for --explain, and go on with the bare number."""
        if isinstance(value, Traced) and value.text != str(int(value)):
            self.notes.append(f"{name} = {value.text} = {int(value)}")
        else:
            self.notes.append(f"{name} = {value}")
        return settle(value)


def _truth(condition):
    """True or False, or None when the condition depends on a symbolic size.

    Not bool(): sympy's And/Or answer bool() without deciding anything."""
    if isinstance(condition, bool):
        return condition
    if not type(condition).__module__.startswith("sympy"):
        return bool(condition)
    import sympy

    if condition == sympy.true or condition == sympy.false:
        return condition == sympy.true
    return None
