"""Reading a product's data file, in any format tsmaker writes, into pandas.

:func:`read_product_table` reads Parquet, CSV, FITS, HDF5 or a HATS folder as written
by :mod:`tsmaker.formats` (HDF5 strings decoded from UTF-8, ``<name>.mask`` fields as
missing values); :func:`product_columns` lists the columns from the header or schema
alone. Each reader is imported only when its format is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker.errors import ProductError
from tsmaker.inputs.redshift import format_from_suffix
from tsmaker.formats.hdf5 import DATASET_PATH, MASK_SUFFIX

if TYPE_CHECKING:
    import pandas as pd


def read_product_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a product data file into a pandas DataFrame.

    Parameters
    ----------
    path : pathlib.Path
        A ``.parquet``, ``.csv``, ``.fits`` or ``.hdf5`` file, or a HATS folder, as
        written by tsmaker.
    columns : list of str, optional
        Read only these columns, in this order; default all of them.

    Returns
    -------
    pandas.DataFrame
        One row per product row, with a fresh 0-based index. HDF5 strings are
        decoded from UTF-8 and HDF5 ``<name>.mask`` fields become missing values
        of a nullable column.

    Raises
    ------
    ProductError
        If the file is missing, its format is unknown, a requested column does not
        exist, or the file cannot be read.
    """
    path = Path(path)
    format_name = _product_format(path)
    if columns is not None:
        available = product_columns(path)
        missing = [name for name in columns if name not in available]
        if missing:
            raise ProductError(
                f"product file {str(path)!r} has no column {', '.join(map(repr, missing))}; "
                f"its columns are: {', '.join(available)}"
            )
    try:
        frame = _READERS[format_name](path, columns)
    except ProductError:
        raise
    except Exception as error:
        raise ProductError(
            f"cannot read {format_name} product file {str(path)!r}: {_first_line(error)}; "
            "check that the file is complete (rerun the product if it was cut short)"
        ) from error
    if columns is not None:
        frame = frame[list(columns)]
    return frame.reset_index(drop=True)


def product_columns(path: Path) -> list[str]:
    """The column names of a product data file, read from its header or schema only.

    Raises
    ------
    ProductError
        If the file is missing, its format is unknown or its header cannot be read.
    """
    path = Path(path)
    format_name = _product_format(path)
    try:
        return _column_names(path, format_name)
    except Exception as error:
        raise ProductError(
            f"cannot read the columns of {format_name} product file {str(path)!r}: "
            f"{_first_line(error)}; check that the file is complete"
        ) from error


def _product_format(path: Path) -> str:
    if not path.exists():
        raise ProductError(f"product file {str(path)!r} does not exist; check the path")
    if path.is_dir():
        if (path / "hats.properties").exists():
            return "hats"
        raise ProductError(
            f"{str(path)!r} is a folder but not a HATS catalog (no hats.properties)"
        )
    format_name = format_from_suffix(path)
    if format_name is not None:
        return format_name
    raise ProductError(
        f"cannot tell the format of product file {str(path)!r} from its name; expected "
        ".parquet, .csv, .fits, .hdf5 or a .hats folder"
    )


def _column_names(path: Path, format_name: str) -> list[str]:
    if format_name == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        return [name for name in schema.names if not name.startswith("__index_level_")]
    if format_name == "csv":
        import pandas as pd

        return [str(name) for name in pd.read_csv(path, nrows=0).columns]
    if format_name == "fits":
        from astropy.io import fits

        with fits.open(path, memmap=True) as hdus:
            return list(hdus[_fits_table_index(path, hdus)].columns.names)
    if format_name == "hdf5":
        import h5py

        with h5py.File(path, "r") as handle:
            names = _hdf5_dataset(path, handle).dtype.names or ()
        return [name for name in names if not name.endswith(MASK_SUFFIX)]
    import lsdb

    return [str(name) for name in lsdb.open_catalog(path).all_columns]


def _read_parquet(path: Path, columns: list[str] | None) -> Any:
    import pandas as pd

    frame = pd.read_parquet(path, columns=columns)
    return frame.drop(columns=[c for c in frame.columns if str(c).startswith("__index_level_")])


def _read_csv(path: Path, columns: list[str] | None) -> Any:
    import pandas as pd

    return pd.read_csv(path, usecols=columns)


def _read_fits(path: Path, columns: list[str] | None) -> Any:
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=True) as hdus:
        index = _fits_table_index(path, hdus)
    table = Table.read(path, hdu=index, memmap=True, character_as_bytes=False)
    if columns is not None:
        table = table[columns]
    return table.to_pandas()


def _read_hdf5(path: Path, columns: list[str] | None) -> Any:
    import h5py
    import numpy as np
    import pandas as pd

    with h5py.File(path, "r") as handle:
        dataset = _hdf5_dataset(path, handle)
        fields = dataset.dtype.names or ()
        names = list(columns) if columns is not None else [
            name for name in fields if not name.endswith(MASK_SUFFIX)
        ]
        masks = [name + MASK_SUFFIX for name in names if name + MASK_SUFFIX in fields]
        rows = dataset.fields(names + masks)[()] if names else np.empty(dataset.shape[0])
    data: dict[str, Any] = {}
    for name in names:
        values = rows[name]
        if values.dtype.kind == "S":
            values = pd.Series(values).str.decode("utf-8").to_numpy(dtype=object)
        if name + MASK_SUFFIX in masks:
            mask = np.asarray(rows[name + MASK_SUFFIX], dtype=bool)
            if values.dtype.kind == "b":
                values = pd.arrays.BooleanArray(values, mask)
            else:
                values = pd.arrays.IntegerArray(values, mask)
        data[name] = values
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _read_hats(path: Path, columns: list[str] | None) -> Any:
    import lsdb
    import pandas as pd

    return pd.DataFrame(lsdb.open_catalog(path, columns=columns).compute(progress_bar=False))


_READERS = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "fits": _read_fits,
    "hdf5": _read_hdf5,
    "hats": _read_hats,
}


def _fits_table_index(path: Path, hdus: Any) -> int:
    from astropy.io import fits

    for index, hdu in enumerate(hdus):
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            return index
    raise ProductError(f"FITS product file {str(path)!r} has no table extension")


def _hdf5_dataset(path: Path, handle: Any) -> Any:
    if DATASET_PATH not in handle:
        raise ProductError(
            f"HDF5 product file {str(path)!r} has no {DATASET_PATH!r} dataset; "
            "it was not written by tsmaker"
        )
    return handle[DATASET_PATH]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
