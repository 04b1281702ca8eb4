"""FITS output: a binary table streamed row block by row block.

Layout
------
- HDU 0: an empty primary HDU with ``ORIGIN = 'tsmaker'`` and ``TSMPARAM``, the
  product parameters as JSON in a long-string card (``CONTINUE`` convention).
- HDU 1: a ``BINTABLE`` with ``EXTNAME = 'TRAINING_SET'``. Its header is built by
  astropy from the column dtypes (``TTYPE``, ``TFORM``, ``TUNIT``, ``TNULL``)
  with ``NAXIS2 = 0``; the big-endian rows of each batch are appended as they
  come, the data are padded to a multiple of 2880 bytes and ``NAXIS2`` is set to
  the row count in ``close``.

Columns
-------
=====================  ======  ===============================================
pandas dtype           TFORM   missing values
=====================  ======  ===============================================
float32 / float64      E / D   NaN (nullable floats: ``<NA>`` becomes NaN)
int8, int16            I       nullable dtypes only: ``TNULL`` = smallest int16
int32                  J       nullable dtypes only: ``TNULL`` = smallest int32
int64                  K       nullable dtypes only: ``TNULL`` = smallest int64
uint8                  B       nullable dtypes are widened to I, as above
uint16 / uint32        J / K   widened to the next signed type, as above
uint64                 K       values above 2**63 - 1 are refused
bool                   L       nullable ``<NA>`` is the FITS null byte (0);
                               astropy reads it as False (astropy >= 8
                               warns, and keeps it with
                               ``logical_as_bytes=True``)
str / object           nA      ``<NA>`` is written as an empty string, which
                               astropy reads back as masked
array, fixed length n  nX      a vector column of the element's letter X (as
                               above); a missing element or a missing array
                               is NaN (floats), ``TNULL`` (integers, which
                               always get one) or the null byte (booleans)
array, variable        QX(m)   a variable-length array column (64-bit heap
                               descriptors, m the longest array); elements as
                               for fixed arrays, but without ``TNULL`` (astropy
                               cannot apply one there): a missing integer
                               element is refused; a missing array is written
                               as an empty one
=====================  ======  ===============================================

Arrays are pyarrow ``list`` (variable) and ``fixed_size_list`` (fixed) columns of
numbers or booleans; arrays of strings and nested data are refused up front, naming
the formats that hold them (:mod:`tsmaker.formats.dtypes`). Variable-length arrays
go to the heap after the rows: it is gathered in an anonymous temporary file (no
name to leave behind) and appended in ``close``, which also sets ``PCOUNT`` and the
``m`` of ``TFORM``.

Whether an integer column gets ``TNULL`` is decided from its dtype (pandas
nullable ``Int64`` or a pyarrow-backed type), not from the data, because the
header is written before the batch that brings the first missing value. A real
value equal to the ``TNULL`` sentinel is refused rather than silently masked.

String columns are ASCII (the FITS standard); their width ``n`` comes from
``string_widths`` or, if absent, from the longest value of the first batch that
has rows (at least 1). A longer value later raises
:class:`tsmaker.errors.InputError` instead of being truncated. ``astropy`` reads
``TNULL`` integers and empty strings back as masked values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, ClassVar

from tsmaker.errors import InputError
from tsmaker.formats.base import TableWriter
from tsmaker.formats.dtypes import ColumnSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from astropy.io import fits
    from numpy.typing import DTypeLike

#: EXTNAME of the binary table holding the rows.
EXTNAME = "TRAINING_SET"
#: Primary-header keyword holding the product parameters as JSON.
PARAMETERS_KEYWORD = "TSMPARAM"
FITS_BLOCK_BYTES = 2880

# Storage of integer columns by (kind, itemsize): TFORM letter, big-endian dtype.
_INTEGER_STORAGE = {
    ("int", 1): ("I", ">i2"),
    ("int", 2): ("I", ">i2"),
    ("int", 4): ("J", ">i4"),
    ("int", 8): ("K", ">i8"),
    ("uint", 1): ("B", "u1"),
    ("uint", 2): ("J", ">i4"),
    ("uint", 4): ("K", ">i8"),
    ("uint", 8): ("K", ">i8"),
}
_LOGICAL_TRUE, _LOGICAL_FALSE, _LOGICAL_NULL = ord("T"), ord("F"), 0


@dataclass(frozen=True)
class _FitsColumn:
    """One binary-table column: the pandas side (spec) and its on-disk form."""

    spec: ColumnSpec
    tform: str
    storage_dtype: DTypeLike
    """Numpy dtype of the field in a row: a scalar, a vector, or a heap descriptor."""
    null_sentinel: int | None
    element_dtype: str | None = None
    """Big-endian dtype of one array element (arrays only)."""


class FitsWriter(TableWriter):
    """Stream a product into a FITS binary table; see the module docstring for the layout."""

    format_name: ClassVar[str] = "fits"
    suffix: ClassVar[str] = ".fits"
    _string_encoding: ClassVar[str] = "ascii"

    _handle: IO[bytes] | None = None

    @classmethod
    def check_column_names(cls, names: Sequence[str]) -> None:
        """Refuse column names FITS headers cannot hold (printable ASCII only)."""
        for name in names:
            if not _printable_ascii(name):
                raise InputError(
                    f"column name {name!r} cannot be stored in FITS (header values are "
                    "printable ASCII); rename the column, or choose another format "
                    "(parquet, csv, hdf5)"
                )

    def _start(self, first_frame: pd.DataFrame) -> None:
        # Fail on unsupported dtypes now; the header waits for a batch with rows so
        # that string widths can come from real values.
        self.check_column_names(self.columns)
        self._specs = self._column_specs()
        for spec in self._specs:
            if spec.unit is not None and not _printable_ascii(spec.unit):
                raise InputError(
                    f"unit {spec.unit!r} of column {spec.name!r} cannot be stored in FITS "
                    "(header values are printable ASCII); give it an ASCII unit, or choose "
                    "another format (parquet, csv, hdf5)"
                )
        self._table_header: fits.Header | None = None
        self._table_header_offset_bytes = 0
        self._table_header_size_bytes = 0
        self._data_size_bytes = 0
        self._heap: IO[bytes] | None = None
        self._heap_size_bytes = 0
        self._longest: dict[str, int] = {}
        """Longest variable-length array of each such column (its ``TFORM`` says it)."""

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        if self._handle is None:  # opened at the first rows: string widths need values
            self._open(frame)
        rows = self._encode_rows(frame)
        assert self._handle is not None
        self._handle.write(rows.tobytes())
        self._data_size_bytes += rows.nbytes

    def _finish(self) -> None:
        if self._handle is None:
            self._open(None)
        handle = self._handle
        assert handle is not None
        if self._heap is not None:
            import shutil

            self._heap.seek(0)
            shutil.copyfileobj(self._heap, handle, 1 << 20)
            self._heap.close()
            self._heap = None
        handle.write(b"\0" * _padding_bytes(self._data_size_bytes + self._heap_size_bytes))
        self._table_header["NAXIS2"] = self._rows_written
        self._table_header["PCOUNT"] = self._heap_size_bytes
        for index, column in enumerate(self._layout, start=1):
            if column.tform.startswith("Q"):
                longest = self._longest.get(column.spec.name, 0)
                self._table_header[f"TFORM{index}"] = f"{column.tform}({longest})"
        header_bytes = self._table_header.tostring().encode("ascii")
        if len(header_bytes) != self._table_header_size_bytes:
            raise RuntimeError("FITS header changed size when NAXIS2 was set")
        handle.seek(self._table_header_offset_bytes)
        handle.write(header_bytes)
        handle.close()
        self._handle = None

    def _release(self) -> None:
        for attribute in ("_handle", "_heap"):
            handle = getattr(self, attribute, None)
            if handle is not None:
                setattr(self, attribute, None)
                handle.close()

    # ------------------------------------------------------------------ layout

    def _open(self, first_rows: pd.DataFrame | None) -> None:
        """Fix the column layout, create the temporary file and write both headers."""
        import numpy as np
        from astropy.io import fits

        self._layout = [self._fits_column(spec, first_rows) for spec in self._specs]
        self._row_dtype = np.dtype(
            [(column.spec.name, column.storage_dtype) for column in self._layout]
        )
        primary = fits.PrimaryHDU()
        primary.header["ORIGIN"] = ("tsmaker", "written by tsmaker")
        primary.header[PARAMETERS_KEYWORD] = self.metadata_json
        table = fits.BinTableHDU.from_columns(
            [
                fits.Column(
                    name=column.spec.name,
                    # The longest variable-length array is known at the end; the
                    # card is rewritten then, at the same size.
                    format=column.tform + "(0)" if column.tform.startswith("Q")
                    else column.tform,
                    unit=column.spec.unit,
                    null=column.null_sentinel,
                )
                for column in self._layout
            ],
            nrows=0,
            name=EXTNAME,
        )
        if table.header["NAXIS1"] != self._row_dtype.itemsize:
            raise RuntimeError("FITS row size does not match the row dtype")
        primary_bytes = primary.header.tostring().encode("ascii")
        self._table_header = table.header
        table_header_bytes = table.header.tostring().encode("ascii")
        self._table_header_offset_bytes = len(primary_bytes)
        self._table_header_size_bytes = len(table_header_bytes)
        self._handle = open(self.temp_path, "wb")
        self._handle.write(primary_bytes)
        self._handle.write(table_header_bytes)
        if any(column.tform.startswith("Q") for column in self._layout):
            import tempfile

            self._heap = tempfile.TemporaryFile(dir=self.temp_path.parent)

    def _fits_column(self, spec: ColumnSpec, first_rows: pd.DataFrame | None) -> _FitsColumn:
        if spec.kind == "string":
            width = self._string_width(spec.name, first_rows)
            return _FitsColumn(spec, f"{width}A", f"S{width}", None)
        if spec.kind != "array":
            letter, storage, sentinel = _scalar_storage(spec)
            return _FitsColumn(spec, letter, storage, sentinel)
        assert spec.element is not None
        # Array elements can always be missing, so integer arrays always get a TNULL.
        letter, element, sentinel = _scalar_storage(
            ColumnSpec(spec.name, spec.element.kind, spec.element.itemsize_bytes, True, None))
        if spec.length is None:
            # astropy cannot apply a TNULL to variable-length arrays: none is written,
            # and a missing integer element is refused (see _array_integers).
            return _FitsColumn(spec, f"Q{letter}", (">i8", (2,)), None, element)
        return _FitsColumn(spec, f"{spec.length}{letter}", (element, (spec.length,)), sentinel,
                           element)

    # -------------------------------------------------------------------- rows

    def _encode_rows(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        rows = np.empty(len(frame), dtype=self._row_dtype)
        for column in self._layout:
            name = column.spec.name
            series = frame[name]
            kind = column.spec.kind
            if kind == "float":
                rows[name] = series.to_numpy(dtype="float64", na_value=np.nan)
            elif kind == "bool":
                missing = series.isna().to_numpy()
                values = series.to_numpy(dtype=bool, na_value=False)
                codes = np.where(values, _LOGICAL_TRUE, _LOGICAL_FALSE).astype("u1")
                codes[missing] = _LOGICAL_NULL
                rows[name] = codes
            elif kind == "string":
                width = np.dtype(column.storage_dtype).itemsize
                rows[name] = self._fixed_width_strings(series, name, width)
            elif kind == "array":
                rows[name] = self._arrays(series, column)
            else:
                rows[name] = self._integers(series, column)
        return rows

    def _arrays(self, series: pd.Series, column: _FitsColumn) -> np.ndarray:
        """Vector cells, or heap descriptors (count, offset) with the elements to the heap."""
        import numpy as np

        from tsmaker.formats.arrays import array_block

        element = column.spec.element
        assert element is not None and column.element_dtype is not None
        if element.kind == "float":
            block = array_block(series, column.element_dtype, np.nan, column.spec.length)
            values = block.values
        elif element.kind == "bool":
            block = array_block(series, bool, False, column.spec.length)
            values = np.where(block.values, _LOGICAL_TRUE, _LOGICAL_FALSE).astype("u1")
            values[block.missing_elements] = _LOGICAL_NULL
        else:
            wide = "uint64" if element.kind == "uint" else "int64"
            block = array_block(series, wide, 0, column.spec.length)
            values = self._array_integers(block.values, block.missing_elements, column)
        if column.spec.length is not None:
            return values
        itemsize = np.dtype(column.element_dtype).itemsize
        offsets = np.concatenate([[0], np.cumsum(block.lengths)[:-1]]) * itemsize
        descriptors = np.empty((len(block.lengths), 2), dtype=">i8")
        descriptors[:, 0] = block.lengths
        descriptors[:, 1] = offsets + self._heap_size_bytes
        assert self._heap is not None
        data = values.tobytes()
        self._heap.write(data)
        self._heap_size_bytes += len(data)
        if len(block.lengths):
            name = column.spec.name
            self._longest[name] = max(self._longest.get(name, 0), int(block.lengths.max()))
        return descriptors

    def _array_integers(self, values: np.ndarray, missing: np.ndarray,
                        column: _FitsColumn) -> np.ndarray:
        """Integer elements in their storage dtype, TNULL where missing."""
        import numpy as np

        if column.null_sentinel is None and missing.any():
            raise InputError(
                f"column '{column.spec.name}' has a missing element inside an integer "
                "array, which a FITS variable-length array cannot mark; choose one of the "
                "formats that can (parquet, hats, csv, hdf5), or fill the missing elements"
            )
        limits = np.iinfo(np.dtype(column.element_dtype))
        present = values[~missing]
        if present.size and (present.max() > limits.max or present.min() < limits.min
                             or np.any(present == column.null_sentinel)):
            raise InputError(
                f"column '{column.spec.name}' holds values that a FITS '{column.tform}' array "
                f"cannot store apart from its TNULL {column.null_sentinel}; cast it to a "
                "smaller range or choose parquet"
            )
        stored = values.astype(column.element_dtype)
        if column.null_sentinel is not None:
            stored[missing] = column.null_sentinel
        return stored

    def _integers(self, series: pd.Series, column: _FitsColumn) -> np.ndarray:
        import numpy as np

        name = column.spec.name
        wide_dtype = "uint64" if column.spec.kind == "uint" else "int64"
        missing = series.isna().to_numpy()
        values = series.to_numpy(dtype=wide_dtype, na_value=0)
        limits = np.iinfo(np.dtype(column.storage_dtype))
        present = values[~missing]
        if present.size and (present.max() > limits.max or present.min() < limits.min):
            raise InputError(
                f"column '{name}' holds {int(present.max())}, beyond what a FITS "
                f"'{column.tform}' column can store; cast it to a smaller range or choose "
                "parquet"
            )
        if column.null_sentinel is not None:
            if present.size and np.any(present == column.null_sentinel):
                raise InputError(
                    f"column '{name}' holds {column.null_sentinel}, the FITS TNULL value "
                    "that marks missing entries; such a value would read back as missing, "
                    "so choose parquet or hdf5"
                )
            values = values.astype(column.storage_dtype)
            values[missing] = column.null_sentinel
            return values
        return values.astype(column.storage_dtype)


def _printable_ascii(text: str) -> bool:
    """True when ``text`` can be a FITS header value (ASCII 32..126)."""
    return all(32 <= ord(character) <= 126 for character in text)


def _padding_bytes(size_bytes: int) -> int:
    return -size_bytes % FITS_BLOCK_BYTES


def _scalar_storage(spec: ColumnSpec) -> tuple[str, str, int | None]:
    """TFORM letter, big-endian storage dtype and TNULL of a number or boolean."""
    import numpy as np

    if spec.kind == "float":
        return ("E", ">f4", None) if spec.itemsize_bytes <= 4 else ("D", ">f8", None)
    if spec.kind == "bool":
        return "L", "u1", None
    tform, storage = _INTEGER_STORAGE[(spec.kind, spec.itemsize_bytes)]
    if not spec.nullable:
        return tform, storage, None
    if tform == "B":
        # Every uint8 value is plausible data, so widen and use a negative TNULL.
        tform, storage = "I", ">i2"
    return tform, storage, int(np.iinfo(np.dtype(storage)).min)

