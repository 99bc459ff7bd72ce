"""The error boundary of the command line, in one place: every failure becomes one line on stderr (and the
error object on stdout with --json) and an exit code.

2  input tconvcalc cannot use (and click's usage errors)
1  the framework refuses, or a search finds nothing
3  a bug of ours (reported in one line too)
130, 141  Ctrl-C, a reader that went away (| head)
"""

import errno
import os
import sys

import click

from ..errors import TconvError

JSON_KEY = "tconvcalc.json"  # ctx.meta: --json was given (set by the option's callback)
INTERNAL_ERROR = 3


class Quit(BaseException):
    """An exit code carried past click, which would print 'Aborted!' for Ctrl-C and exit 1 for a closed pipe."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Written(Exception):
    """A failure whose JSON object the command wrote itself, with the error keys and more (solve's nearest
    sizes): the boundary adds only the line on stderr and the exit code."""

    def __init__(self, message, exit_code, hint=None):
        super().__init__(message)
        self.exit_code = exit_code
        self.hint = hint


def fail(message, exit_code, as_json=False, warnings=(), hint=None):
    """Say MESSAGE in one line (and as the JSON error object with --json), then what to do instead where the
    error knows it (a second line 'hint: ...'; JSON "hint"); returns the exit code."""
    from ..render import json_dumps, message_line

    line = message_line(message)
    hint = None if hint is None else message_line(hint)
    if as_json:
        click.echo(json_dumps({"error": line, "exit_code": exit_code, "warnings": [str(w) for w in warnings],
                               "hint": hint}))
    click.echo(f"tconvcalc: {line}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    return exit_code


def guarded_invoke(invoke, ctx):
    """Run a command: our own errors and the signals that reach it become an exit code."""
    try:
        return invoke(ctx)
    except Written as error:
        raise Quit(fail(error, error.exit_code, hint=getattr(error, "hint", None))) from None
    except TconvError as error:
        raise Quit(fail(error, error.exit_code, ctx.meta.get(JSON_KEY, False),
                        getattr(error, "warnings", ()), error.hint)) from None
    except KeyboardInterrupt:
        raise Quit(130) from None
    except BrokenPipeError:
        raise Quit(141) from None


def run(main, args):
    """Call click's ``main`` without its standalone mode and turn whatever escapes into an exit code."""
    _survive_narrow_encodings()
    argv = sys.argv[1:] if args is None else list(args)
    try:
        code = main()
        if sys.stdout is not None:
            sys.stdout.flush()  # a full disk shows here, as one line, not at exit as a traceback
    except Quit as stop:
        if stop.code == 141:
            _detach_output()
        sys.exit(stop.code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.exit(130)
    except click.ClickException as error:
        hint = f" (see: {error.ctx.command_path} --help)" if getattr(error, "ctx", None) else ""
        # the JSON contract holds for usage errors too
        sys.exit(fail(error.format_message() + hint, error.exit_code, "--json" in argv))
    except OSError as error:
        if error.errno == errno.EPIPE:  # the reader went away (| head): nothing to say to anyone
            _detach_output()
            sys.exit(141)
        if error.filename is not None:  # not the output: a file we read, not turned into a line: a bug
            _internal(error)
        _detach_output()
        click.echo(f"tconvcalc: cannot write the output: {error.strerror or error}", err=True)
        sys.exit(2)
    except RecursionError:
        click.echo("tconvcalc: the input is nested too deeply to follow", err=True)
        sys.exit(2)
    except Exception as error:  # a bug of ours: still one line, and an exit code of its own
        _internal(error)
    sys.exit(code or 0)


def _internal(error):
    from ..render import message_line

    click.echo(message_line(f"tconvcalc: internal error ({type(error).__name__}: {error}); please report it"),
               err=True)
    sys.exit(INTERNAL_ERROR)


def _survive_narrow_encodings():
    """stdout in ASCII or Latin-1 (PYTHONIOENCODING=ascii, LC_ALL=POSIX): show ≥ and → as escapes, not exit 3."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if stream is not None and not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _detach_output():
    """Point stdout at /dev/null, so the interpreter's last flush at exit does not fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass
