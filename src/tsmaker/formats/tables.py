"""Reading tables into pandas: spec-z files as users bring them, products as tsmaker writes them.

One reader per format, chosen from the file name (:func:`table_format`): Parquet, CSV
(or TSV), FITS (the first table extension; column units kept in ``frame.attrs["units"]``),
HDF5 (either of tsmaker's layouts, a ``tables_io``/RAIL group of columns, the first
table in the file, or a pandas/PyTables table: :mod:`tsmaker.formats.hdf5_read`) and
HATS folders (with LSDB). Each reader is imported only when its format is read. The
same readers serve both kinds of table; only the messages differ
(:data:`REDSHIFT_TABLE`, :data:`PRODUCT_TABLE`).

Every column keeps its type: integers and booleans with missing values are nullable
``Int64``/``boolean`` columns (not float64 with NaN, or ``object``), arrays (Parquet
lists, FITS vector and variable-length columns, HDF5 sub-arrays and sequences) are
pyarrow list columns (``pd.ArrowDtype``), as the writers of
:mod:`tsmaker.formats` take them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypedDict

from tsmaker.errors import InputError, ProductError, TsmakerError, first_line

if TYPE_CHECKING:
    import pandas as pd
    from astropy.io import fits

SUFFIXES_BY_FORMAT: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet", ".parq", ".pq"),
    "csv": (".csv", ".csv.gz", ".txt", ".tsv"),
    "fits": (".fits", ".fit", ".fits.gz", ".fz"),
    "hdf5": (".hdf5", ".h5", ".hdf"),
}


@dataclass(frozen=True)
class TableKind:
    """What a table is to the user, for the messages about it."""

    label: str
    """What it is called where it is missing: ``"redshift file"``, ``"product file"``."""
    noun: str
    """What it is called where it is unreadable: ``"file"``, ``"product file"``."""
    error: type[TsmakerError]
    """The error raised about it."""
    folder_hint: str
    """What to give instead of a folder that is not HATS."""
    suffix_hint: str
    """The file names that are understood."""
    read_hint: str
    """What to do about a file that cannot be read."""


REDSHIFT_TABLE = TableKind(
    "redshift file", "file", InputError,
    "give a Parquet, CSV, FITS or HDF5 file or a HATS folder",
    "use a file ending in .parquet, .csv, .fits or .hdf5",
    "check that the file is complete and in that format",
)
PRODUCT_TABLE = TableKind(
    "product file", "product file", ProductError,
    "point at the product's data file",
    "expected .parquet, .csv, .fits, .hdf5 or a .hats folder",
    "check that the file is complete (rerun the product if it was cut short)",
)


def format_from_suffix(path: Path) -> str | None:
    """The table format a file name ends in (``SUFFIXES_BY_FORMAT``), or None.

    Examples
    --------
    >>> format_from_suffix(Path("specz.FITS.gz")), format_from_suffix(Path("notes.doc"))
    ('fits', None)
    """
    name = path.name.lower()
    for format_name, suffixes in SUFFIXES_BY_FORMAT.items():
        if name.endswith(suffixes):
            return format_name
    return None


def table_format(path: Path, kind: TableKind = REDSHIFT_TABLE) -> str:
    """The format of a table: ``parquet``, ``csv``, ``fits``, ``hdf5`` or ``hats``.

    Raises
    ------
    TsmakerError
        Of ``kind``: the path does not exist, is a folder but not HATS, or its name
        tells no format.
    """
    if not path.exists():
        raise kind.error(f"{kind.label} {str(path)!r} does not exist; check the path")
    if path.is_dir():
        if (path / "hats.properties").exists() or (path / "collection.properties").exists():
            return "hats"
        raise kind.error(
            f"{str(path)!r} is a folder but not a HATS catalog (no hats.properties); "
            f"{kind.folder_hint}"
        )
    format_name = format_from_suffix(path)
    if format_name is not None:
        return format_name
    what = "" if kind.noun == "file" else f"{kind.noun} "
    raise kind.error(
        f"cannot tell the format of {what}{str(path)!r} from its name; {kind.suffix_hint}"
    )


def read_table(
    path: Path, columns: list[str] | None = None, *, kind: TableKind = REDSHIFT_TABLE
) -> pd.DataFrame:
    """Read a table file into a pandas DataFrame with a fresh 0-based index.

    Parameters
    ----------
    path : pathlib.Path
        A Parquet, CSV, FITS or HDF5 file, or a HATS folder.
    columns : list of str, optional
        Read only these columns, in this order; default all of them.
    kind : TableKind
        What the table is, for the messages.

    Raises
    ------
    TsmakerError
        Of ``kind``: a missing file, an unknown format, a requested column that does
        not exist, or a file that cannot be read.
    """
    path = Path(path)
    format_name = table_format(path, kind)
    if columns is not None:
        available = table_columns(path, kind)
        missing = [name for name in columns if name not in available]
        if missing:
            raise kind.error(
                f"{kind.label} {str(path)!r} has no column {', '.join(map(repr, missing))}; "
                f"its columns are: {', '.join(available)}"
            )
    try:
        frame = _READERS[format_name](path, columns, kind)
    except TsmakerError:
        raise
    except UnicodeDecodeError as error:
        raise kind.error(
            f"{kind.label} {str(path)!r} is not UTF-8 text (byte {error.object[error.start]:#04x} "
            f"cannot be decoded); save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 "
            f"{path.name} > utf8_{path.name}`"
        ) from error
    except Exception as error:
        raise kind.error(
            f"cannot read {format_name} {kind.noun} {str(path)!r}: {first_line(error)}; "
            f"{kind.read_hint}"
        ) from error
    index_columns = [name for name in frame.columns if str(name).startswith("__index_level_")]
    if index_columns:
        frame = frame.drop(columns=index_columns)
    if columns is not None:
        frame = frame[list(columns)]
    return frame.reset_index(drop=True)


def table_columns(path: Path, kind: TableKind = PRODUCT_TABLE) -> list[str]:
    """The column names of a table file, read from its header or schema only."""
    path = Path(path)
    format_name = table_format(path, kind)
    try:
        return _column_names(path, format_name, kind)
    except TsmakerError:
        raise
    except Exception as error:
        raise kind.error(
            f"cannot read the columns of {format_name} {kind.noun} {str(path)!r}: "
            f"{first_line(error)}; check that the file is complete"
        ) from error


def _column_names(path: Path, format_name: str, kind: TableKind) -> list[str]:
    if format_name == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        return [name for name in schema.names if not name.startswith("__index_level_")]
    if format_name == "csv":
        import pandas as pd

        return [str(name) for name in pd.read_csv(path, nrows=0, **_csv_options(path)).columns]
    if format_name == "fits":
        from astropy.io import fits

        with fits.open(path, memmap=True) as hdus:
            return list(hdus[_fits_table_index(path, hdus, kind)].columns.names)
    if format_name == "hdf5":
        from tsmaker.formats.hdf5_read import hdf5_column_names

        names = hdf5_column_names(path, tsmaker_only=kind is PRODUCT_TABLE)
        if names is None:
            _refuse_pandas_product(path, kind)
            import pandas as pd

            return [str(name) for name in pd.read_hdf(path, stop=0).columns]
        return names
    import lsdb

    return [str(name) for name in lsdb.open_catalog(path).all_columns]


def _read_parquet(path: Path, columns: list[str] | None, kind: TableKind) -> pd.DataFrame:
    return read_parquet_frame(path, columns)


def read_parquet_frame(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as pandas with every column's type kept.

    What ``pandas.read_parquet`` does (the index pandas recorded comes back), but
    nullable integers and booleans stay nullable and lists stay pyarrow lists
    (:func:`tsmaker.formats.dtypes.arrow_to_pandas`); it also reads files holding
    pyarrow list dtypes, which ``pandas.read_parquet`` cannot.
    """
    import pyarrow.parquet as pq

    from tsmaker.formats.dtypes import arrow_to_pandas

    return arrow_to_pandas(pq.read_table(path, columns=columns, use_pandas_metadata=True))


class _CsvOptions(TypedDict):
    """The ``pandas.read_csv`` keywords that depend on the file."""

    sep: str
    skiprows: int


def _csv_options(path: Path) -> _CsvOptions:
    """Separator by file name, and the comment lines (``#``) that head the file skipped."""
    import gzip

    opener: Callable[..., IO[str]] = gzip.open if path.name.lower().endswith(".gz") else open
    comment_lines = 0
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            comment_lines += 1
    separator = "\t" if path.name.lower().endswith(".tsv") else ","
    return {"sep": separator, "skiprows": comment_lines}


def _read_csv(path: Path, columns: list[str] | None, kind: TableKind) -> pd.DataFrame:
    import pandas as pd

    from tsmaker.formats.dtypes import normalize_object_columns

    _refuse_binary_text(path, kind)
    # True/False columns with empty fields come as object: make them nullable booleans.
    return normalize_object_columns(pd.read_csv(path, usecols=columns, **_csv_options(path)))


def _refuse_binary_text(path: Path, kind: TableKind) -> None:
    """Refuse a "CSV" file that holds binary data before pandas turns it into odd columns.

    Without this, garbage bytes parse as one column with an unprintable name, and the
    user is told that no RA column was found instead of that the file is not text.
    """
    import gzip

    compressed = path.name.lower().endswith(".gz")
    with (gzip.open(path, "rb") if compressed else open(path, "rb")) as handle:
        sample = handle.read(1 << 16)
    control = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r")
    if b"\x00" in sample or control > max(8, len(sample) // 100):
        raise kind.error(
            f"{str(path)!r} is not a text CSV file (it holds binary bytes such as NUL or "
            "control characters); give a comma-separated text file, or a Parquet, FITS "
            "or HDF5 file with the matching extension"
        )


def _read_fits(path: Path, columns: list[str] | None, kind: TableKind) -> pd.DataFrame:
    import numpy as np
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=True) as hdus:
        index = _fits_table_index(path, hdus, kind)
    table = Table.read(path, hdu=index, memmap=True, character_as_bytes=False)
    if columns is not None:
        table = table[columns]
    units = {name: str(table[name].unit) for name in table.colnames if table[name].unit}
    # Vector and variable-length array columns become pyarrow list columns, which
    # astropy's to_pandas cannot make.
    order = list(table.colnames)
    arrays = {}
    for name in order:
        column = table[name]
        if len(column.shape) > 1 or (column.dtype == object and len(column) and hasattr(
            column[0], "shape"
        )):
            from tsmaker.formats.dtypes import array_column

            data = np.asarray(column)
            mask = np.ma.getmaskarray(column) if np.ma.is_masked(column) else None
            if data.dtype.kind == "f":  # NaN is FITS's missing float; all NaN, a missing row
                mask = np.isnan(data) if mask is None else mask | np.isnan(data)
            arrays[name] = array_column(data, mask if mask is not None and mask.any() else None)
    table.remove_columns(list(arrays))
    frame = table.to_pandas()
    for name in frame.columns:
        # FITS has no missing string but the empty one (astropy masks it when it reads
        # without memory mapping).
        if frame[name].dtype.kind in "OUS" or str(frame[name].dtype) == "str":
            empty = frame[name] == ""
            if empty.any():
                frame[name] = frame[name].mask(empty)
    for name, values in arrays.items():
        frame[name] = values
    frame = frame[order]
    frame.attrs["units"] = units
    return frame


def _fits_table_index(path: Path, hdus: fits.HDUList, kind: TableKind) -> int:
    from astropy.io import fits

    for index, hdu in enumerate(hdus):
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            return index
    raise kind.error(
        f"FITS {kind.noun} {str(path)!r} has no table extension (only images); "
        "give a FITS binary table"
    )


def _read_hdf5(path: Path, columns: list[str] | None, kind: TableKind) -> pd.DataFrame:
    from tsmaker.formats.hdf5_read import read_hdf5_table

    frame = read_hdf5_table(path, columns, tsmaker_only=kind is PRODUCT_TABLE)
    if frame is not None:
        return frame
    _refuse_pandas_product(path, kind)
    import pandas as pd

    return pd.read_hdf(path, columns=columns)


def _refuse_pandas_product(path: Path, kind: TableKind) -> None:
    """A product file always holds one of tsmaker's layouts."""
    if kind is PRODUCT_TABLE:
        raise kind.error(
            f"HDF5 {kind.noun} {str(path)!r} holds neither a 'training_set' dataset nor a "
            "group of columns with tsmaker's parameters ('photometry' or --hdf5-group); it was "
            "not written by tsmaker"
        )


def _read_hats(path: Path, columns: list[str] | None, kind: TableKind) -> pd.DataFrame:
    import lsdb
    import pandas as pd

    return pd.DataFrame(lsdb.open_catalog(path, columns=columns).compute(progress_bar=False))


_READERS: dict[str, Callable[[Path, list[str] | None, TableKind], pd.DataFrame]] = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "fits": _read_fits,
    "hdf5": _read_hdf5,
    "hats": _read_hats,
}


def read_product_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a product data file (any format tsmaker writes) into a DataFrame.

    Both HDF5 layouts are read (``columns`` and ``table``); HDF5 strings are decoded
    from UTF-8 and ``<name>.mask`` fields or datasets become missing values of a
    nullable column; see :func:`read_table`.
    """
    return read_table(path, columns, kind=PRODUCT_TABLE)


def product_columns(path: Path) -> list[str]:
    """The column names of a product data file, from its header or schema only."""
    return table_columns(path, PRODUCT_TABLE)
