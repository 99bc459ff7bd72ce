"""Ctrl-C while the command line is still importing (about 0.1 s) ends quietly with exit 130 instead of a
traceback from inside some import. Only when tconvcalc is the program being run: a library import is left
alone. The command line's own handling takes over in cli.main (``started``)."""

import os
import signal
import sys


def _quit(signum, frame):
    os._exit(130)


def _guard():
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if program not in ("tconvcalc", "-m") or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    try:
        return signal.signal(signal.SIGINT, _quit)
    except ValueError:  # not the main thread
        return None


_previous = _guard()


def started():
    """Back to KeyboardInterrupt, which the command line turns into a quiet exit 130."""
    global _previous
    if _previous is not None:
        signal.signal(signal.SIGINT, _previous)
        _previous = None
