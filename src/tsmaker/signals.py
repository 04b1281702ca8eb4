"""Signals answered safely: never inside the import system, and from a process's first instant.

A Ctrl-C or SIGTERM stops a command by raising an exception from its signal handler
(:class:`tsmaker.cli.app.SignalGate`, the job process of :mod:`tsmaker.run.jobs`). Python
runs a handler between any two bytecodes of the main thread, also inside the import
system's own bookkeeping of its module locks; an exception raised there is swallowed
("Exception ignored in ... _get_module_lock") and leaves a module lock held, so that a
worker thread importing that module later waits forever. A handler that finds itself
interrupting the import system therefore sends the signal again a moment later
(:func:`defer_if_importing`), when the main thread has left it.

:func:`answer_early` covers the first instant: until the command line's own handlers
are installed (its frameworks take a fraction of a second to import), a signal ends the
process at once with the one line and the exit code the command line would give.
"""

import os
import signal
import threading
from types import FrameType

#: How long a deferred signal waits before it is sent again, seconds.
DEFER_SECONDS = 0.02


def in_import_system(frame: FrameType | None) -> bool:
    """True when ``frame`` (a signal handler's) is code of the import system itself."""
    return frame is not None and frame.f_code.co_filename.startswith("<frozen importlib")


def defer_if_importing(signum: int, frame: FrameType | None) -> bool:
    """Send ``signum`` to this process again shortly if ``frame`` is the import system's.

    Returns True when the signal was deferred: the handler returns without raising.
    """
    if not in_import_system(frame):
        return False
    timer = threading.Timer(DEFER_SECONDS, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()
    return True


def answer_early() -> None:
    """Until other handlers replace them, SIGINT and SIGTERM end the process at once.

    With ``Error: interrupted`` (SIGINT) or ``Error: stopped by SIGTERM`` on stderr and
    exit code 130, as the command line says once it runs; nothing has been written yet.
    """

    def end(signum: int, frame: FrameType | None) -> None:
        what = "interrupted" if signum == signal.SIGINT else "stopped by SIGTERM"
        os.write(2, f"Error: {what}\n".encode())
        os._exit(130)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # an ignored signal stays so
            signal.signal(signum, end)
