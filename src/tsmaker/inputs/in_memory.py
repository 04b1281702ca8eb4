"""Redshift catalogs handed over in memory: a pandas DataFrame, an astropy Table, an lsdb.Catalog.

A product must stay reproducible and plottable after the notebook that made it is
closed, so the table is stored once, content-addressed, under
``$TSMAKER_HOME/inputs/``: ``<fingerprint>.parquet`` (a DataFrame or a computed
lsdb.Catalog) or ``<fingerprint>.fits`` (an astropy Table, whose column units FITS
keeps, so an RA in hours is still recognised; an angle in a unit FITS cannot write,
such as ``hourangle``, is stored in degrees), with ``<file name>.json`` beside it saying
what it was. The fingerprint is the SHA-256 of the table's content (column names, types,
units and values, serialised as Arrow IPC without the library versions' metadata), so
the same table handed twice is stored once and a changed table gets a new file. The
run then reads that file like any other, and its product records the file and the
fingerprint (:func:`stored_table_description`).

A DataFrame's index is kept as a column when it is named (``df.set_index("id")``) and
dropped otherwise; an lsdb.Catalog's ``_healpix_29`` index is dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import atomic, settings
from tsmaker.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from astropy.table import Table

INPUTS_FOLDER = "inputs"
"""Sub-folder of ``$TSMAKER_HOME`` holding the stored in-memory tables."""


@dataclass(frozen=True)
class StoredTable:
    """An in-memory table written to the content-addressed store."""

    path: Path
    """The stored file (Parquet or FITS)."""
    description: dict[str, object]
    """What the table was: ``type``, ``content_sha256``, ``rows``, ``columns``."""


def inputs_dir() -> Path:
    """The folder of stored in-memory tables: ``$TSMAKER_HOME/inputs``."""
    return settings.home_dir() / INPUTS_FOLDER


def in_memory_kind(value: object) -> str | None:
    """``pandas.DataFrame``, ``astropy.table.Table`` or ``lsdb.Catalog``, or None.

    Only libraries already imported are asked: a value of a library not imported
    cannot be one of its tables.

    Examples
    --------
    >>> import pandas as pd
    >>> in_memory_kind(pd.DataFrame({"z": [0.1]})), in_memory_kind("specz.parquet")
    ('pandas.DataFrame', None)
    """
    import sys

    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return "pandas.DataFrame"
    table = sys.modules.get("astropy.table")
    if table is not None and isinstance(value, table.Table):
        return "astropy.table.Table"
    lsdb = sys.modules.get("lsdb")
    if lsdb is not None and isinstance(value, lsdb.Catalog):
        return "lsdb.Catalog"
    return None


def store_table(value: Any) -> StoredTable:
    """Store an in-memory redshift catalog under its content fingerprint; reuse a stored one.

    Raises
    ------
    InputError
        Not a DataFrame, Table or lsdb.Catalog, or a table without rows or columns.
    """
    kind = in_memory_kind(value)
    if kind is None:
        raise InputError(
            f"redshift catalog of type {type(value).__name__} cannot be read; give a pandas "
            "DataFrame, an astropy Table, an lsdb.Catalog, or a file path"
        )
    frame, units = _as_frame(value, kind)
    if frame.empty or not len(frame.columns):
        raise InputError(f"the {kind} given as redshift catalog has no rows; give a non-empty "
                         "catalog")
    fingerprint = content_fingerprint(frame, units)
    folder = inputs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".fits" if kind == "astropy.table.Table" else ".parquet"
    path = folder / f"{fingerprint}{suffix}"
    description = {"type": kind, "content_sha256": fingerprint, "rows": len(frame),
                   "columns": [str(name) for name in frame.columns]}
    if not path.exists():
        # The description first: a stored table always has one. The same content handed
        # by another process meanwhile is the same file: either copy is kept.
        atomic.write_text(_description_path(path), json.dumps(description, indent=2) + "\n",
                          replace=True)
        try:
            with atomic.atomic_path(path) as temporary:
                if suffix == ".fits":
                    _fits_ready(value).write(temporary, format="fits")
                else:
                    frame.to_parquet(temporary, index=False)
        except FileExistsError:
            pass
    return StoredTable(path, description)


def _description_path(path: Path) -> Path:
    """The description beside a stored table: ``<fingerprint>.parquet.json``.

    A DataFrame and a Table of the same content share a fingerprint, not a file.
    """
    return path.with_name(path.name + ".json")


def stored_table_description(location: str | Path) -> dict[str, object] | None:
    """What a stored in-memory table was (type, content fingerprint); None for a user's file."""
    path = Path(location)
    if path.parent != inputs_dir():
        return None
    # Tables stored by earlier versions, before a FITS and a Parquet copy could share a
    # fingerprint have their description at ``<fingerprint>.json``.
    sidecar = next((candidate for candidate in (_description_path(path),
                                                path.with_suffix(".json"))
                    if candidate.is_file()), None)
    if sidecar is None:
        return None
    try:
        return dict(json.loads(sidecar.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def content_fingerprint(frame: pd.DataFrame, units: dict[str, str] | None = None) -> str:
    """SHA-256 of a table's content: names, types, units and values.

    The table is serialised as an Arrow IPC stream without schema metadata (which
    holds the pandas version), so the fingerprint depends on the content only.

    Examples
    --------
    >>> import pandas as pd
    >>> one = content_fingerprint(pd.DataFrame({"z": [0.1, 0.2]}))
    >>> one == content_fingerprint(pd.DataFrame({"z": [0.1, 0.2]}))
    True
    >>> one == content_fingerprint(pd.DataFrame({"z": [0.1, 0.3]}))
    False
    """
    import hashlib

    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest = hashlib.sha256(sink.getvalue().to_pybytes())
    digest.update(json.dumps(units or {}, sort_keys=True).encode())
    return digest.hexdigest()


def _fits_ready(table: Table) -> Table:
    """The astropy Table with units FITS can write.

    Angles in a unit FITS cannot write (``hourangle``) are converted to degrees; other
    such units are dropped.
    """
    import astropy.units as u
    from astropy.table import Column

    ready = table.copy(copy_data=False)
    for name in ready.colnames:
        unit = ready[name].unit
        if unit is None:
            continue
        try:
            unit.to_string(format="fits")
            continue
        except (ValueError, u.UnitsError):
            pass
        if unit.physical_type == "angle":
            degrees = (ready[name].data * unit).to_value(u.deg)
            ready.replace_column(name, Column(degrees, name=name, unit="deg"))
        else:
            ready[name].unit = None
    return ready


def _as_frame(value: Any, kind: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table as a DataFrame with a plain index, and its column units."""
    import pandas as pd

    if kind == "astropy.table.Table":
        units = {name: str(value[name].unit) for name in value.colnames if value[name].unit}
        flat = [name for name in value.colnames if len(value[name].shape) <= 1]
        return value[flat].to_pandas(), units
    if kind == "lsdb.Catalog":
        frame = pd.DataFrame(value.compute(progress_bar=False))
        return frame.reset_index(drop=True), {}
    frame = value
    if not isinstance(frame.index, pd.RangeIndex) and any(
        name is not None for name in frame.index.names
    ):
        frame = frame.reset_index()
    return frame.reset_index(drop=True), {}
