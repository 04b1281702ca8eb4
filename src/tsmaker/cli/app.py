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


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise RunInterrupted("stopped by SIGTERM")


def main() -> None:
    """Console entry point: run the app, turn domain errors into one line and an exit code."""
    from tsmaker.cli.render import error

    signal.signal(signal.SIGTERM, _on_sigterm)
    if not settings.debug_enabled():
        _silence_library_chatter()
    try:
        code = app(standalone_mode=False)
    except ParameterError as problem:
        if settings.debug_enabled():
            raise
        error(problem.message("cli"))
        sys.exit(problem.exit_code)
    except TsmakerError as problem:
        if settings.debug_enabled():
            raise
        error(str(problem))
        sys.exit(problem.exit_code)
    except KeyboardInterrupt:
        if settings.debug_enabled():
            raise
        error("interrupted")
        sys.exit(130)
    except typer.Abort:
        error("aborted")
        sys.exit(1)
    except _usage_exceptions() as problem:
        if hasattr(problem, "show"):
            problem.show()
        else:
            error(problem.format_message())
        sys.exit(problem.exit_code)
    except Exception as problem:  # an unexpected failure: one line unless debugging
        if settings.debug_enabled():
            raise
        error(f"{type(problem).__name__}: {problem} (set {settings.ENV_DEBUG}=1 for a traceback)")
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C into a returned exit code
        error("interrupted")
    sys.exit(code if isinstance(code, int) else 0)


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

