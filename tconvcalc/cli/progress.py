"""A spinner on stderr for work that takes more than a moment (a large solve, verify importing TensorFlow):
only when stderr is a terminal, and only once the work has taken DELAY seconds, so quick calls and pipes
show nothing."""

import contextlib
import sys
import threading

DELAY = 0.5  # seconds of work before the spinner shows


@contextlib.contextmanager
def progress(text, delay=DELAY, stream=None):
    stream = sys.stderr if stream is None else stream
    if not _is_terminal(stream):
        yield
        return
    shown = []
    lock = threading.Lock()

    def show():
        with lock:
            if shown is not None:
                from ..console import console

                status = console(stderr=True).status(text, spinner="dots")
                status.start()
                shown.append(status)

    timer = threading.Timer(delay, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            for status in shown:
                status.stop()
            shown = None  # noqa: F841  (a timer that fires late shows nothing)


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
