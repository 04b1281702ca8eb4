"""Reading HDF5 tables into pandas: tsmaker's two layouts, and the files users bring.

Which table of a file is read, in this order:

1. tsmaker's ``table`` layout: the compound dataset ``/training_set``;
2. tsmaker's ``columns`` layout, or a ``tables_io``/RAIL file: the group
   ``/photometry`` of 1-D (or ``rows x n``) datasets of equal length, or a
   top-level group of such datasets that carries tsmaker's parameters (a product
   written with another ``hdf5_group``);
3. the first compound dataset anywhere in the file (astropy's ``Table.write``);
4. the first group (the root included) whose datasets all have the same length;
5. otherwise a pandas/PyTables table (``pandas.read_hdf``), for spec-z files only.

Columns come back with their types: byte strings decoded from UTF-8, a
``<name>.mask`` (field or dataset) turning the values it marks into missing values
of a nullable column (``Int64``, ``boolean``, strings, arrays), vector columns and
variable-length sequences as pyarrow list columns. Units (the ``unit`` attribute of
a ``columns`` dataset) go to ``frame.attrs["units"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker.formats.hdf5 import (
    COLUMNS_ATTRIBUTE,
    DATASET_PATH,
    GROUP_NAME,
    MASK_SUFFIX,
    PARAMETERS_ATTRIBUTE,
    UNIT_ATTRIBUTE,
)

if TYPE_CHECKING:
    import h5py
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Hdf5Table:
    """Where a file's table is: a compound dataset, or a group of column datasets."""

    path: str
    """Path of the dataset or group inside the file (``""`` for the root group)."""
    compound: bool
    """True for a compound dataset, False for a group of datasets."""
    columns: tuple[str, ...]
    """The table's column names, in order (masks left out)."""


def find_table(handle: h5py.File, *, tsmaker_only: bool = False) -> Hdf5Table | None:
    """The table of an open HDF5 file (module docstring), or None for a pandas file.

    With ``tsmaker_only`` only tsmaker's layouts (1. and 2.) are looked for.
    """
    import h5py

    if DATASET_PATH in handle and _is_compound(handle[DATASET_PATH]):
        return _compound(handle[DATASET_PATH])
    if GROUP_NAME in handle and isinstance(handle[GROUP_NAME], h5py.Group):
        found = _group_table(handle[GROUP_NAME])
        if found is not None:
            return found
    for item in handle.values():
        if isinstance(item, h5py.Group) and PARAMETERS_ATTRIBUTE in item.attrs:
            found = _group_table(item)
            if found is not None:
                return found
    if tsmaker_only:
        return None
    compound: list[str] = []
    groups: list[str] = []
    handle.visititems(lambda name, item: compound.append(name) if _is_compound(item)
                      else groups.append(name) if isinstance(item, h5py.Group) else None)
    if compound:
        return _compound(handle[compound[0]])
    for name in ["", *groups]:
        found = _group_table(handle[name] if name else handle)
        if found is not None:
            return found
    return None


def _is_compound(item: object) -> bool:
    import h5py

    return isinstance(item, h5py.Dataset) and item.dtype.names is not None


def _compound(dataset: h5py.Dataset) -> Hdf5Table:
    names = tuple(name for name in dataset.dtype.names or () if not name.endswith(MASK_SUFFIX))
    return Hdf5Table(dataset.name.lstrip("/"), True, names)


def _group_table(group: h5py.Group) -> Hdf5Table | None:
    """A group of datasets of one length (a table), or None."""
    import json

    import h5py

    datasets = {name: item for name, item in group.items()
                if isinstance(item, h5py.Dataset) and item.ndim >= 1}
    if not datasets or len({item.shape[0] for item in datasets.values()}) != 1:
        return None
    if any(isinstance(item, h5py.Group) for item in group.values()):
        return None
    listed = group.attrs.get(COLUMNS_ATTRIBUTE)
    if listed is not None:
        names = tuple(json.loads(listed))
    else:
        names = tuple(name for name in datasets if not (
            name.endswith(MASK_SUFFIX) and name.removesuffix(MASK_SUFFIX) in datasets))
    return Hdf5Table(group.name.lstrip("/"), False, names)


def read_hdf5_table(path: Path, columns: list[str] | None, *, tsmaker_only: bool = False
                    ) -> pd.DataFrame | None:
    """The file's table as a DataFrame (module docstring); None when none is found.

    With ``tsmaker_only`` (a product file) only tsmaker's layouts are read.

    Raises
    ------
    KeyError
        A requested column is not in the table.
    """
    import h5py
    import numpy as np
    import pandas as pd

    with h5py.File(path, "r") as handle:
        table = find_table(handle, tsmaker_only=tsmaker_only)
        if table is None:
            return None
        names = list(columns) if columns is not None else list(table.columns)
        units: dict[str, str] = {}
        data: dict[str, object] = {}
        if table.compound:
            dataset = handle[table.path]
            fields = dataset.dtype.names or ()
            masks = [name + MASK_SUFFIX for name in names if name + MASK_SUFFIX in fields]
            rows = dataset.fields(names + masks)[()] if names else np.empty(dataset.shape[0])
            length = len(rows)
            for name in names:
                mask_name = name + MASK_SUFFIX
                data[name] = _column(rows[name], rows[mask_name] if mask_name in masks
                                     else None)
        else:
            group = handle[table.path] if table.path else handle
            length = next(iter(item.shape[0] for item in group.values()
                               if isinstance(item, h5py.Dataset)))
            for name in names:
                dataset = group[name]
                mask_name = name + MASK_SUFFIX
                mask = group[mask_name][()] if mask_name in group else None
                data[name] = _column(dataset[()], mask)
                unit = dataset.attrs.get(UNIT_ATTRIBUTE)
                if unit is not None:
                    units[name] = unit.decode() if isinstance(unit, bytes) else str(unit)
    frame = pd.DataFrame(data, index=pd.RangeIndex(length))
    frame.attrs["units"] = units
    return frame


def _column(values: np.ndarray, mask: np.ndarray | None) -> object:
    """One stored column as pandas values of its type, missing where ``mask`` says."""
    import numpy as np
    import pandas as pd

    from tsmaker.formats.dtypes import array_column

    if values.ndim > 1 or values.dtype == object and len(values) and isinstance(
        values[0], np.ndarray
    ):
        return array_column(values, mask)
    if values.dtype.kind == "S":
        decoded = pd.Series(values).str.decode("utf-8").to_numpy(dtype=object)
        if mask is not None:
            decoded[np.asarray(mask, dtype=bool)] = None
        return decoded
    if values.dtype.kind == "O" and len(values) and isinstance(values[0], bytes):
        return pd.Series(values).str.decode("utf-8").to_numpy(dtype=object)
    if mask is None:
        return values
    mask = np.asarray(mask, dtype=bool)
    if values.dtype.kind == "b":
        return pd.arrays.BooleanArray(values, mask)
    if values.dtype.kind in "iu":
        return pd.arrays.IntegerArray(values.astype(values.dtype.newbyteorder("="),
                                                    copy=False), mask)
    if values.dtype.kind == "f":
        return np.where(mask, np.nan, values)
    return values


def hdf5_column_names(path: Path, *, tsmaker_only: bool = False) -> list[str] | None:
    """The column names of the file's table (masks left out); None when none is found."""
    import h5py

    with h5py.File(path, "r") as handle:
        table = find_table(handle, tsmaker_only=tsmaker_only)
    return None if table is None else list(table.columns)
