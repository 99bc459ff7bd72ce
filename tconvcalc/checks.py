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
        """The framework refuses unless ``condition`` holds."""
        try:
            holds = bool(condition)
        except TypeError:  # a sympy relational: it holds for some sizes only
            self.conditions.append((condition, message))
            return
        if not holds:
            if self.strict:
                raise ShapeError(message)
            self.broken.append(message)

    def refuse(self, message):
        raise ShapeError(message)

    def warn(self, condition, message):
        try:
            if bool(condition):
                self.warnings.append(message)
        except TypeError:
            self.warnings.append(f"when {condition}: {message}")

    def note(self, message):
        self.notes.append(message)

    def step(self, name, value):
        """Record ``name = formula = value`` for --explain, and go on with the bare number."""
        if isinstance(value, Traced) and value.text != str(int(value)):
            self.notes.append(f"{name} = {value.text} = {int(value)}")
        else:
            self.notes.append(f"{name} = {value}")
        return settle(value)
