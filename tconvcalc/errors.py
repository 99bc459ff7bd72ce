"""One exception family; the CLI turns each into one line and an exit code."""


class TconvError(ValueError):
    """Root of every error tconvcalc raises on purpose. ``hint``: what to do instead, where tconvcalc can say
    ("use output_padding=1 or output_size=24"); the CLI shows it after the message, JSON as "hint"."""

    exit_code = 2

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


class InputError(TconvError):
    """What the user wrote cannot be used: a bad number, an unknown name, a wrong axis count."""

    exit_code = 2


class ShapeError(TconvError):
    """The framework would refuse this configuration; the message is the framework's rule."""

    exit_code = 1

    def __init__(self, message, warnings=(), hint=None):
        super().__init__(message, hint)
        self.warnings = tuple(warnings)  # what the framework module noticed before refusing


class NoSolutionError(TconvError):
    """A search found nothing within its bounds."""

    exit_code = 1
