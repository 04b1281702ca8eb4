"""What a column is to the writers: its family, how it is stored, which formats hold it.

Every writer asks :func:`column_spec` about each column of the first batch and
refuses, before anything is written, a column its format cannot hold
(:func:`refuse_unless_held`): the one-line error names the column, its type and the
formats that can hold it. Columns a format can hold keep their values and type:

==============================  =========================================================
family                          held by
==============================  =========================================================
numbers, booleans, strings      every format
arrays of numbers or booleans   every format (FITS and HDF5 as vector or variable-length
                                columns, CSV as JSON text)
arrays of strings, nested data  parquet, hats, csv (JSON text)
(lists of lists, structs),
dates and other types
==============================  =========================================================

Arrays are pyarrow-backed pandas columns (``pd.ArrowDtype`` of ``list``,
``large_list`` or ``fixed_size_list``), as the readers of
:mod:`tsmaker.formats.tables` give them. :func:`normalize_object_columns` turns the
``object`` columns pandas makes of Parquet lists and nullable booleans into those
dtypes, so a frame read by plain pandas is written the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tsmaker.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from pandas.api.extensions import ExtensionDtype

ColumnKind = Literal["float", "int", "uint", "bool", "string", "array", "other"]
SCALAR_KINDS: tuple[str, ...] = ("float", "int", "uint", "bool", "string")
NUMERIC_KINDS: tuple[str, ...] = ("float", "int", "uint", "bool")
ALL_FORMATS: tuple[str, ...] = ("parquet", "csv", "fits", "hdf5", "hats")
TEXT_AND_ARROW_FORMATS: tuple[str, ...] = ("parquet", "hats", "csv")


@dataclass(frozen=True)
class ColumnSpec:
    """How a column is stored by the fixed-layout formats (FITS, HDF5).

    Parameters
    ----------
    name : str
        Column name, as in the input frame.
    kind : {"float", "int", "uint", "bool", "string", "array", "other"}
        Family of the pandas dtype (``array``: a list of numbers, booleans or strings;
        ``other``: nested data, dates and anything else).
    itemsize_bytes : int
        Size of one value of the pandas dtype (strings, arrays, other: 0).
    nullable : bool
        True when the pandas dtype can hold missing values (nullable ``Int64``,
        ``boolean``, pyarrow-backed dtypes, strings, arrays). Decided from the dtype,
        not from the data, because later batches may bring the first missing value.
    unit : str or None
        Unit string from the writer's ``units`` mapping.
    type_name : str
        The dtype as messages show it, e.g. ``list<double>``.
    element : ColumnSpec or None
        For arrays, the kind and size of one element.
    length : int or None
        For arrays of a fixed length (``fixed_size_list``), that length; None for
        variable-length arrays.
    """

    name: str
    kind: ColumnKind
    itemsize_bytes: int
    nullable: bool
    unit: str | None
    type_name: str = ""
    element: ColumnSpec | None = None
    length: int | None = None


def column_spec(name: str, dtype: np.dtype | ExtensionDtype, unit: str | None = None
                ) -> ColumnSpec:
    """Describe a column of pandas dtype ``dtype`` (see :class:`ColumnSpec`).

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> spec = column_spec("flux", pd.ArrowDtype(pa.list_(pa.float32(), 3)))
    >>> spec.kind, spec.length, spec.element.kind, spec.element.itemsize_bytes
    ('array', 3, 'float', 4)
    >>> column_spec("z_flag", pd.Int64Dtype()).nullable
    True
    """
    import numpy as np
    import pandas as pd
    from pandas.api import types

    nullable = not isinstance(dtype, np.dtype)
    type_name = str(dtype)
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_spec(name, dtype.pyarrow_dtype, unit)
    if types.is_bool_dtype(dtype):
        return ColumnSpec(name, "bool", 1, nullable, unit, type_name)
    if types.is_integer_dtype(dtype):
        numpy_dtype = _numpy_equivalent(dtype)
        kind: ColumnKind = "uint" if numpy_dtype.kind == "u" else "int"
        return ColumnSpec(name, kind, numpy_dtype.itemsize, nullable, unit, type_name)
    if types.is_float_dtype(dtype):
        return ColumnSpec(name, "float", _numpy_equivalent(dtype).itemsize, nullable, unit,
                          type_name)
    if types.is_string_dtype(dtype) or types.is_object_dtype(dtype):
        return ColumnSpec(name, "string", 0, True, unit, "string")
    return ColumnSpec(name, "other", 0, True, unit, type_name)


def _arrow_spec(name: str, arrow_type: pa.DataType, unit: str | None) -> ColumnSpec:
    import pyarrow as pa

    type_name = str(arrow_type).replace("item: ", "").replace("element: ", "")
    if pa.types.is_boolean(arrow_type):
        return ColumnSpec(name, "bool", 1, True, unit, type_name)
    if pa.types.is_integer(arrow_type):
        kind: ColumnKind = "int" if pa.types.is_signed_integer(arrow_type) else "uint"
        return ColumnSpec(name, kind, arrow_type.bit_width // 8, True, unit, type_name)
    if pa.types.is_floating(arrow_type):
        return ColumnSpec(name, "float", arrow_type.bit_width // 8, True, unit, type_name)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ColumnSpec(name, "string", 0, True, unit, "string")
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or (
        pa.types.is_fixed_size_list(arrow_type)
    ):
        element = _arrow_spec(name, arrow_type.value_type, None)
        if element.kind in SCALAR_KINDS:
            length = arrow_type.list_size if pa.types.is_fixed_size_list(arrow_type) else None
            return ColumnSpec(name, "array", 0, True, unit, type_name, element, length)
    return ColumnSpec(name, "other", 0, True, unit, type_name)


def formats_holding(spec: ColumnSpec) -> tuple[str, ...]:
    """The output formats that keep a column's values and type (module docstring)."""
    if spec.kind in SCALAR_KINDS:
        return ALL_FORMATS
    if spec.kind == "array" and spec.element is not None and spec.element.kind in NUMERIC_KINDS:
        return ALL_FORMATS
    return TEXT_AND_ARROW_FORMATS


def refuse_unless_held(spec: ColumnSpec, format_name: str) -> None:
    """Refuse a column that ``format_name`` cannot hold, naming the formats that can.

    Raises
    ------
    tsmaker.errors.InputError
        ``column 'NAME' has type TYPE, which FORMAT cannot hold; ...``.

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> refuse_unless_held(column_spec("names", pd.ArrowDtype(pa.list_(pa.string()))), "fits")
    Traceback (most recent call last):
    ...
    tsmaker.errors.InputError: column 'names' has type list<string>, which fits cannot hold; \
choose one of the formats that can (parquet, hats, csv), or drop the column
    """
    held_by = formats_holding(spec)
    if format_name not in held_by:
        raise InputError(
            f"column '{spec.name}' has type {spec.type_name}, which {format_name} cannot "
            f"hold; choose one of the formats that can ({', '.join(held_by)}), or drop the "
            "column"
        )


def normalize_object_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``object`` columns of booleans or of arrays as ``boolean`` / pyarrow list columns.

    pandas reads a Parquet list column as ``object`` numpy arrays and a nullable
    boolean column as ``object`` True/False/None; writing those as text would lose
    their type. Other columns are returned as they are (the frame itself when no
    column changes).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"ok": [True, None], "v": [np.array([1.5, 2.0]), None]})
    >>> [str(dtype) for dtype in normalize_object_columns(frame).dtypes]
    ['boolean', 'list<item: double>[pyarrow]']
    """
    import numpy as np
    from pandas.api.types import infer_dtype

    changed: dict[str, pd.Series] = {}
    for name in frame.columns:
        series = frame[name]
        if not (isinstance(series.dtype, np.dtype) and series.dtype == object) or not len(series):
            continue
        inferred = infer_dtype(series, skipna=True)
        if inferred == "boolean":
            changed[name] = series.astype("boolean")
        elif inferred == "mixed":
            first = series.dropna().iloc[0] if series.notna().any() else None
            if isinstance(first, list | tuple | np.ndarray):
                converted = _arrow_list(series)
                if converted is not None:
                    changed[name] = converted
    if not changed:
        return frame
    frame = frame.copy(deep=False)
    for name, series in changed.items():
        frame[name] = series
    return frame


def _arrow_list(series: pd.Series) -> pd.Series | None:
    """An ``object`` column of arrays as a pyarrow list column; None if Arrow cannot type it."""
    import pandas as pd
    import pyarrow as pa

    try:
        array = pa.array(series.to_numpy(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        return None
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=series.index, name=series.name)


def _numpy_equivalent(dtype: np.dtype | ExtensionDtype) -> np.dtype:
    """The numpy dtype behind a numpy or pandas-nullable dtype."""
    import numpy as np

    if isinstance(dtype, np.dtype):
        return dtype
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is None:
        raise TypeError(f"no numpy equivalent for dtype {dtype}")
    return np.dtype(numpy_dtype)


def arrow_values(series: pd.Series) -> pa.Array:
    """The column as one Arrow array (pyarrow-backed columns without converting values)."""
    import pyarrow as pa

    array = pa.array(series.array) if hasattr(series.array, "__arrow_array__") else pa.array(
        series.to_numpy(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas, keeping every column's type.

    Unlike ``Table.to_pandas()`` (and ``pandas.read_parquet``): integers and booleans
    with missing values become nullable ``Int64``/``boolean`` columns (not float64
    with NaN, or ``object``), and lists and other nested values stay pyarrow-backed
    (``pd.ArrowDtype``) instead of ``object`` numpy arrays.

    Examples
    --------
    >>> import pyarrow as pa
    >>> table = pa.table({"n": pa.array([1, None]), "v": pa.array([[1.5], None])})
    >>> [str(dtype) for dtype in arrow_to_pandas(table).dtypes]
    ['Int64', 'list<item: double>[pyarrow]']
    """
    import pandas as pd
    import pyarrow as pa

    metadata = dict(table.schema.metadata or {})
    if b"pandas" in metadata:
        metadata[b"pandas"] = readable_pandas_metadata(metadata[b"pandas"])
        table = table.replace_schema_metadata(metadata)

    def mapper(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
        return pd.ArrowDtype(arrow_type) if pa.types.is_nested(arrow_type) else None

    frame = table.to_pandas(types_mapper=mapper)
    for index, field in enumerate(table.schema):
        nullable = _NULLABLE_DTYPES.get(str(field.type))
        if (nullable is None or field.name not in frame.columns
                or not table.column(index).null_count):
            continue
        if not isinstance(frame[field.name].dtype, pd.ArrowDtype) and str(
            frame[field.name].dtype
        ) != nullable:
            frame[field.name] = table.column(index).to_pandas(
                types_mapper=pd.ArrowDtype).astype(nullable).array
    return frame


_NULLABLE_DTYPES: dict[str, str] = {
    **{f"int{bits}": f"Int{bits}" for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": f"UInt{bits}" for bits in (8, 16, 32, 64)},
    "bool": "boolean",
}
"""Arrow type -> the pandas nullable dtype of a column of it that has missing values."""


def array_column(
    values: np.ndarray, mask: np.ndarray | None = None
) -> pd.arrays.ArrowExtensionArray:
    """A column of arrays as a pyarrow list column.

    ``values`` is either 2-D (``rows x n``: fixed-length arrays, a FITS vector column
    or an HDF5 sub-array) or 1-D of ``object`` holding one numpy array per row
    (variable-length). ``mask`` (True where missing) is per element for 2-D values, a
    row whose elements are all masked being a missing row, or per row for 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> fixed = array_column(np.array([[1.0, 2.0], [3.0, 4.0]]),
    ...                      np.array([[False, True], [True, True]]))
    >>> fixed.tolist()
    [[1.0, None], <NA>]
    >>> cells = np.empty(2, dtype=object)
    >>> cells[:] = [np.array([1, 2], dtype=">i4"), np.array([], dtype=">i4")]
    >>> array_column(cells).tolist()
    [[1, 2], []]
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if values.dtype != object:
        rows, length = values.shape[0], int(np.prod(values.shape[1:]))
        flat = np.ascontiguousarray(values.reshape(rows, length)).ravel()
        flat = flat.astype(flat.dtype.newbyteorder("="), copy=False)
        element_mask = None if mask is None else np.asarray(mask, bool).reshape(rows, length)
        elements = pa.array(flat, mask=None if element_mask is None else element_mask.ravel())
        missing_rows = None
        if element_mask is not None and length:
            missing_rows = pa.array(element_mask.all(axis=1))
        array = pa.FixedSizeListArray.from_arrays(elements, length, mask=missing_rows)
        return pd.arrays.ArrowExtensionArray(array)
    cells = [np.asarray(cell) for cell in values]
    lengths = np.array([cell.size for cell in cells], dtype=np.int64)
    if cells:
        flat = np.concatenate([cell.ravel() for cell in cells])
    else:
        flat = np.empty(0, dtype=np.float64)
    flat = flat.astype(flat.dtype.newbyteorder("="), copy=False)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), type=pa.int32()
                       if lengths.sum() < 2**31 else pa.int64())
    list_type = pa.ListArray if offsets.type == pa.int32() else pa.LargeListArray
    array = list_type.from_arrays(
        offsets, pa.array(flat), mask=None if mask is None else pa.array(np.asarray(mask, bool)))
    return pd.arrays.ArrowExtensionArray(array)


def readable_pandas_metadata(pandas_json: bytes) -> bytes:
    """Pandas' Parquet metadata with dtypes pandas cannot read back recorded as ``object``.

    pyarrow records a pyarrow list column's dtype as e.g. ``list<item: double>[pyarrow]``,
    a name ``pandas.read_parquet`` fails on; ``object`` makes it read the column the way
    it reads any Parquet list.
    """
    import json

    import pandas as pd

    metadata = json.loads(pandas_json)
    for column in metadata.get("columns", []):
        try:
            pd.api.types.pandas_dtype(column.get("numpy_type"))
        except Exception:  # TypeError, ValueError, NotImplementedError, by dtype
            column["numpy_type"] = "object"
    return json.dumps(metadata).encode()
