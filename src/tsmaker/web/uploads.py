"""Uploaded redshift catalogs: stored under names the server chooses, checked, cleaned up.

An upload is written under ``$TSMAKER_HOME/server/uploads`` as ``<32 hex digits><suffix>``
(the suffix of a table format, taken from the name the browser sent, which is used for
nothing else), through a temporary name, so that no path a client sends reaches the
file system. It must be a readable table, or it is deleted with the reason. Uploads
that no registered catalog uses are deleted a day later.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tsmaker import atomic
from tsmaker.errors import InputError, TsmakerError
from tsmaker.formats.tables import SUFFIXES_BY_FORMAT

if TYPE_CHECKING:
    from tsmaker.registry import Registry

UPLOAD_ID = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]+){1,2}")
"""What an upload's id (its stored file name) looks like."""
STALE_UPLOAD_SECONDS = 24 * 3600.0


def table_suffix(client_name: str) -> str:
    """The table suffix of a file name a client sent (``.csv``, ``.fits.gz``, ...).

    Raises
    ------
    InputError
        A name that ends in no known table suffix.

    Examples
    --------
    >>> table_suffix("DESI DR1.FITS"), table_suffix("a/../b.csv.gz")
    ('.fits', '.csv.gz')
    """
    lowered = client_name.lower()
    suffixes = sorted((s for group in SUFFIXES_BY_FORMAT.values() for s in group),
                      key=len, reverse=True)
    for suffix in suffixes:
        if lowered.endswith(suffix):
            return suffix
    raise InputError(
        f"cannot tell the format of {client_name!r} from its name; upload a file ending in "
        f"{', '.join(sorted({group[0] for group in SUFFIXES_BY_FORMAT.values()}))}"
    )


def save_upload(source: IO[bytes], client_name: str, folder: Path) -> Path:
    """Copy an uploaded file into ``folder`` under a new name of the server's choosing.

    Raises
    ------
    InputError
        The name tells no table format (nothing is written).
    """
    suffix = table_suffix(client_name)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{secrets.token_hex(16)}{suffix}"
    with atomic.atomic_path(target) as temporary, temporary.open("wb") as handle:
        shutil.copyfileobj(source, handle, 1 << 20)
    return target


def upload_path(folder: Path, upload_id: str) -> Path:
    """The stored file of an upload id.

    Raises
    ------
    InputError
        Not an upload id, or no such upload (it was registered or cleaned up).
    """
    if not UPLOAD_ID.fullmatch(upload_id) or not (folder / upload_id).is_file():
        raise InputError(f"no upload {upload_id!r} here; upload the file again")
    return folder / upload_id


def inspect_upload(path: Path, client_name: str) -> dict[str, Any]:
    """Read an uploaded table and detect its columns; delete it when it is not a table.

    Messages name the file as the client did, not by its stored name.

    Raises
    ------
    TsmakerError
        The file is not a readable table (it is deleted).
    """
    from tsmaker.manage.catalogs import inspect_redshift_file

    try:
        return inspect_redshift_file(path)
    except TsmakerError as error:
        atomic.remove(path)
        error.args = (str(error).replace(str(path), client_name),)
        raise


def clean_stale_uploads(folder: Path, registry: Registry) -> list[Path]:
    """Delete uploads older than a day that no registered catalog uses; those deleted."""
    if not folder.is_dir():
        return []
    used = {Path(record.location) for record in registry.list_catalogs(kind="redshift")}
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    removed = []
    for path in folder.iterdir():
        if path not in used and path.stat().st_mtime < cutoff:
            atomic.remove(path)
            removed.append(path)
    return removed
