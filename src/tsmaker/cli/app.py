"""The Typer app, its command groups, and the one place errors become a line and an exit code.

Heavy libraries (pandas, lsdb, dask) are imported inside the commands that need them,
so ``tsmaker --help`` and ``tsmaker catalogs list`` start quickly.
"""

import signal
import sys
from types import FrameType
from typing import Annotated

import typer

from tsmaker import __version__, settings
from tsmaker.errors import ParameterError, RunInterrupted, TsmakerError
from tsmaker.signals import defer_if_importing

_ENV_HELP = "\n\n".join(
    f"[bold]{name}[/bold]: {text}" for name, text in settings.ENVIRONMENT_VARIABLES.items()
)

app = typer.Typer(
    name="tsmaker",
    help="Training Set Maker: spec-z catalogs crossmatched with LSST Object photometry.\n\n"
    "Environment variables:\n\n" + _ENV_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
catalogs_app = typer.Typer(help="Register, list and inspect object and redshift catalogs.",
                           no_args_is_help=True)
products_app = typer.Typer(help="List, inspect, locate, plot and remove products.",
                           no_args_is_help=True)
dust_app = typer.Typer(help="Dust maps: where they are, and fetching them.", no_args_is_help=True)
app.add_typer(catalogs_app, name="catalogs")
app.add_typer(products_app, name="products")
app.add_typer(dust_app, name="dust")

JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tsmaker {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Training Set Maker."""


class SignalGate:
    """How the command line answers Ctrl-C (SIGINT) and SIGTERM, so the exit code tells the state.

    - ``open`` (at first): a signal stops the command: ``KeyboardInterrupt`` or
      :class:`tsmaker.errors.RunInterrupted`, then one ``Error:`` line and exit code 130;
      a run's product is then marked interrupted and keeps no file.
    - ``holding`` (:meth:`hold`, once a run starts moving its complete files into
      place, a fraction of a second): a signal is ignored; the run ends done (its
      success line, exit code 0) or fails on its own.
    - ``exiting`` (:meth:`exiting`, once the last line is printed): a signal ends the
      process at once with the exit code already decided, instead of waiting for the
      libraries' shutdown (a Dask cluster closing).
    """

    def __init__(self) -> None:
        self.state = "open"
        self.exit_code = 0

    def install(self) -> None:
        """Answer SIGINT and SIGTERM from now on (in the main thread)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)

    def hold(self) -> None:
        """From now on a signal is ignored: the product is being recorded done."""
        self.state = "holding"

    def exiting(self, code: int) -> None:
        """The outcome is printed: a signal now ends the process with ``code``."""
        self.exit_code = code
        self.state = "exiting"

    def at_interpreter_exit(self) -> None:
        """The last exit handler: ignore both signals, and end an interrupted command as 130.

        After its exit handlers the interpreter puts the default action back on
        signals that had a Python handler, and a signal then would kill the process
        with the signal's status instead of the exit code decided (the product done,
        the success line printed, and the shell told 130). An ignored signal stays so.

        A Ctrl-C that lands in an extension module's start-up code (run by CPython as
        top-level code, as when a worker pool imports pandas) leaves the interpreter
        resolved to kill itself with SIGINT once finalized, although the command
        handled the interrupt: a parent would see status -2, not 130. An interrupted
        command has cleaned up by now (its product marked, its files removed, its
        cluster closed, its output flushed), so it ends here with 130.
        """
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        if self.state == "exiting" and self.exit_code == 130:
            import os

            os._exit(130)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.state == "open":
            if defer_if_importing(signum, frame):  # raised there, it would be lost
                return
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise RunInterrupted("stopped by SIGTERM")
        if self.state == "exiting":
            import os

            os._exit(self.exit_code)


SIGNALS = SignalGate()


def main() -> None:
    """Run the app, turning domain errors into one line and an exit code.

    The ``tsmaker`` console script (:func:`tsmaker.__main__.main`) calls it.
    """
    import atexit

    # What the error path needs is imported before the gate opens: until then a signal
    # ends the process at once (tsmaker.signals.answer_early), not half-way in an import.
    import tsmaker.cli.render  # noqa: F401

    atexit.register(SIGNALS.at_interpreter_exit)  # registered first, so it runs last
    if not settings.debug_enabled():
        _silence_library_chatter()
    _exit(_run_app())


def _run_app() -> int:
    """Run the app; its exit code, after the one ``Error:`` line of a failure."""
    from tsmaker.cli.render import error

    try:
        SIGNALS.install()  # inside the try: a signal from now on is answered below
        code = app(standalone_mode=False)
    except ParameterError as problem:
        if settings.debug_enabled():
            raise
        error(problem.message("cli"))
        return problem.exit_code
    except TsmakerError as problem:
        if settings.debug_enabled():
            raise
        error(str(problem))
        return problem.exit_code
    except KeyboardInterrupt:
        if settings.debug_enabled():
            raise
        error("interrupted")
        return 130
    except typer.Abort:
        error("aborted")
        return 1
    except _usage_exceptions() as problem:
        if hasattr(problem, "show"):
            problem.show()
        else:
            error(problem.format_message())
        return problem.exit_code
    except Exception as problem:  # an unexpected failure: one line unless debugging
        if settings.debug_enabled():
            raise
        error(f"{type(problem).__name__}: {problem} (set {settings.ENV_DEBUG}=1 for a traceback)")
        return 1
    if code == 130:  # typer turns Ctrl-C into a returned exit code
        error("interrupted")
    return code if isinstance(code, int) else 0


def _exit(code: int) -> None:
    """Exit with ``code``; what libraries print while the interpreter shuts down stays unseen.

    Our last line is written; Dask, multiprocessing and h5py may still print tracebacks
    from their exit handlers and finalizers (a cluster interrupted while it started, a
    worker racing the scheduler's shutdown). Unless ``TSMAKER_DEBUG`` is set, stderr
    goes to ``/dev/null`` once the interpreter starts its exit handlers (ours runs
    first: the last registered).
    """
    import atexit

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    SIGNALS.exiting(code)
    if not settings.debug_enabled():
        atexit.register(_quiet_stderr)
    sys.exit(code)


def _quiet_stderr() -> None:
    import os

    try:
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _silence_library_chatter() -> None:
    """Keep third-party warnings and Dask's logs off stderr (they are not the user's to act on).

    Replacing the display function works across Dask's threads, where filters set by
    one library can race with another; worker processes get the same through
    PYTHONWARNINGS. Dask's own logging (``distributed.worker - ERROR - Compute
    Failed`` and its traceback before our one-line error, or a heartbeat that races a
    closing scheduler after a successful run) is turned down to critical here and, by
    the environment, in local workers. ``TSMAKER_DEBUG=1`` shows everything.
    """
    import os
    import warnings

    warnings.showwarning = lambda *args, **kwargs: None
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")


def _usage_exceptions() -> tuple[type[BaseException], ...]:
    """Usage errors: typer's own (it vendors click) and click's, exit code 2."""
    from typer.exceptions import TyperException

    try:
        import click
    except ImportError:  # pragma: no cover - typer without click
        return (TyperException,)
    return (TyperException, click.exceptions.ClickException)

