"""The ``tsmaker`` command line: a Typer app, one module per command group, and rendering.

Commands parse their options, call one library function and render the result; no
logic lives here. :func:`main` runs the command line; the ``tsmaker`` console script
(:func:`tsmaker.__main__.main`) calls it once signals are answered.
"""

from tsmaker.cli import (  # noqa: F401  (each adds its commands)
    catalogs,
    dust,
    products,
    run,
    serve,
)
from tsmaker.cli.app import app, main

__all__ = ["app", "main"]
