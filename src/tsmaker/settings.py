"""Where tsmaker keeps its files, and every environment variable it reads.

Each environment variable is named once here; the CLI shows this table in ``--help``.
"""

import os
from pathlib import Path

ENV_HOME = "TSMAKER_HOME"
ENV_DUSTMAPS_DIR = "TSMAKER_DUSTMAPS_DIR"
ENV_SCHEDULER = "TSMAKER_SCHEDULER"
ENV_DEBUG = "TSMAKER_DEBUG"
ENV_TOKEN = "TSMAKER_TOKEN"

ENVIRONMENT_VARIABLES: dict[str, str] = {
    ENV_HOME: "folder for the registry, default outputs, the demo data and dust maps "
    "(default: the platform's user data folder)",
    ENV_DUSTMAPS_DIR: "folder holding dust-map files (looked in after --dust-dir)",
    ENV_SCHEDULER: "address of an existing Dask scheduler to run on (like --scheduler)",
    ENV_DEBUG: "set to 1 to show full tracebacks on errors",
    ENV_TOKEN: "the token `tsmaker serve` asks every page and API call for (like --token)",
}

SERVER_DIRNAME = "server"
"""Folder in the home of what `tsmaker serve` keeps: uploaded catalogs, job logs, plots."""


def home_dir() -> Path:
    """The tsmaker home folder: ``$TSMAKER_HOME`` or the platform's user data folder."""
    configured = os.environ.get(ENV_HOME)
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("tsmaker", appauthor=False))


def registry_path() -> Path:
    """The SQLite registry file."""
    return home_dir() / "registry.sqlite"


#: Name of the default product folder, beside the registry file in the home folder.
PRODUCTS_FOLDER_NAME = "products"


def products_dir() -> Path:
    """Default folder for product files."""
    return home_dir() / PRODUCTS_FOLDER_NAME


def demo_dir() -> Path:
    """Folder holding the generated demo catalogs."""
    return home_dir() / "demo"


def default_dustmaps_dir() -> Path:
    """Folder where ``tsmaker dust fetch`` puts maps by default."""
    return home_dir() / "dustmaps"


def debug_enabled() -> bool:
    """True when ``TSMAKER_DEBUG`` asks for tracebacks."""
    return os.environ.get(ENV_DEBUG, "").strip().lower() in {"1", "true", "yes", "on"}


def scheduler_address() -> str | None:
    """The Dask scheduler address from ``TSMAKER_SCHEDULER``, if set."""
    return os.environ.get(ENV_SCHEDULER) or None
