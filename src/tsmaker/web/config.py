"""How a server is set up: where it listens, how many runs at once, its token, its folders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tsmaker import settings

DEFAULT_MAX_UPLOAD_MB = 512
"""Largest upload (a redshift catalog) the server accepts by default, MiB."""


@dataclass(frozen=True)
class ServerConfig:
    """The settings of one ``tsmaker serve``.

    Examples
    --------
    >>> config = ServerConfig(home=Path("/data/ts"), jobs=2)
    >>> config.registry_path, config.uploads_dir
    (PosixPath('/data/ts/registry.sqlite'), PosixPath('/data/ts/server/uploads'))
    """

    host: str = "127.0.0.1"
    """Address listened on."""
    port: int = 8000
    """Port listened on (0: any free port)."""
    jobs: int = 1
    """Runs executed at once; the others wait, queued."""
    token: str | None = None
    """What every page and API call must carry; None only on a loopback address."""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 2**20
    """Largest request body (an uploaded catalog)."""
    home: Path = field(default_factory=settings.home_dir)
    """The tsmaker home: the registry, products, and the server's own folder."""

    @property
    def registry_path(self) -> Path:
        """The SQLite registry shared with the command line."""
        return self.home / "registry.sqlite"

    @property
    def server_dir(self) -> Path:
        """What the server keeps: uploads, job logs, cached plots."""
        return self.home / settings.SERVER_DIRNAME

    @property
    def uploads_dir(self) -> Path:
        """Uploaded catalogs, under names the server chooses."""
        return self.server_dir / "uploads"

    @property
    def logs_dir(self) -> Path:
        """The output of each run's process (kept when the run did not finish)."""
        return self.server_dir / "logs"

    @property
    def plots_dir(self) -> Path:
        """Summary plots drawn for product pages, one per product id."""
        return self.server_dir / "plots"
