"""One exception family; the CLI turns each into one line and an exit code."""


class TconvError(ValueError):
    """Root of every error tconvcalc raises on purpose."""

    exit_code = 2


class InputError(TconvError):
    """What the user wrote cannot be used: a bad number, an unknown name, a wrong axis count."""

    exit_code = 2


class ShapeError(TconvError):
    """The framework would refuse this configuration; the message is the framework's rule."""

    exit_code = 1

    def __init__(self, message, warnings=()):
        super().__init__(message)
        self.warnings = tuple(warnings)  # what the framework module noticed before refusing


class NoSolutionError(TconvError):
    """A search found nothing within its bounds."""

    exit_code = 1
