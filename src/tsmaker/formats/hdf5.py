"""HDF5 output, appended batch by batch with h5py, in one of two layouts.

Layouts
-------
``columns`` (the default): what ``tables_io`` writes natively and RAIL reads
    A group ``/photometry`` (:data:`GROUP_NAME`) holding one 1-D dataset per column,
    in the product's column order (the group tracks creation order), each resizable
    (``maxshape=(None,)``), chunked (about 256 KiB per chunk), shuffle + gzip
    compressed. ``tables_io.read(path)["photometry"]`` is a dict of numpy arrays,
    which RAIL's stages read with their default ``hdf5_groupname="photometry"``.
    Group attributes: ``tsmaker_parameters`` (the product parameters as JSON) and
    ``columns`` (the column names in order, JSON); dataset attribute ``unit`` on
    every column that has one.
``table``: one compound dataset, as astropy writes a table
    ``/training_set``: a 1-D dataset of a compound dtype, one field per column,
    resizable, chunked and compressed as above; attribute ``tsmaker_parameters``.
    ``/training_set.__table_column_meta__``: astropy's table header (what
    ``Table.write(..., serialize_meta=True)`` writes: each column's dtype and unit,
    the table meta, and the recipe that turns a ``<name>`` / ``<name>.mask`` pair
    into a ``MaskedColumn``), written with astropy's own helpers, so
    ``astropy.table.Table.read(path, path="training_set")`` returns the columns with
    their units and masks.

Columns
-------
- Floats and integers keep their numpy dtype (little-endian); a missing float is NaN.
- ``bool`` is HDF5's bool enum (numpy bool when read).
- Strings are fixed-width UTF-8 bytes (``S<n>``); the width comes from
  ``string_widths`` or, if absent, from the longest value (in bytes) of the first batch
  that has rows (at least 1); a longer value later raises
  :class:`tsmaker.errors.InputError` instead of being truncated.
- Arrays of numbers or booleans: a fixed-length array is a vector (``columns``: a 2-D
  dataset ``rows x n``; ``table``: a sub-array field), a variable-length one an HDF5
  variable-length sequence. A missing element is NaN (floats), the smallest value of
  the type (integers; largest for unsigned) or False. Arrays of strings and nested
  data are refused up front (:mod:`tsmaker.formats.dtypes`).
- Nullable columns (pandas ``Int64``, ``boolean``, strings, arrays, pyarrow-backed
  types) get a companion bool ``<name>.mask`` (True where missing): a dataset beside the
  column (``columns``) or a field after it (``table``, astropy's ``data_mask``
  convention). The data holds an implausible value where missing (smallest integer,
  largest unsigned, False, ``b""``, an empty or all-missing array), so a reader that
  ignores the mask does not see a zero. The mask of a fixed-length array is per
  element (``rows x n``, True also where the whole array is missing), that of a
  variable-length array per row. Whether a column gets a mask is decided from its
  dtype, because later batches may bring the first missing value.

Writing
-------
The file is written through :class:`tsmaker.formats.hdf5_file.StickyErrorFile`: a
full disk (or any other write error) is raised as an ``OSError`` by the ``write()``
or the ``finish()`` that met it, never crashes the process, and ``abort`` leaves no
file. Dataset handles are kept open for the whole file and HDF5's caches are flushed
after about :data:`FLUSH_BYTES` of new rows, so the error shows up close to where it
happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from tsmaker.errors import InputError
from tsmaker.formats.base import TableWriter
from tsmaker.formats.dtypes import ColumnSpec
from tsmaker.parameters import HDF5_LAYOUTS

if TYPE_CHECKING:
    from pathlib import Path

    import h5py
    import numpy as np
    import pandas as pd
    from numpy.typing import DTypeLike

    from tsmaker.formats.hdf5_file import StickyErrorFile

#: Group of the ``columns`` layout (RAIL's default ``hdf5_groupname``).
GROUP_NAME = "photometry"
#: Path of the table dataset of the ``table`` layout.
DATASET_PATH = "training_set"
#: Path of astropy's column-metadata dataset (``<table path>.__table_column_meta__``).
META_PATH = f"{DATASET_PATH}.__table_column_meta__"
#: Attribute (and astropy table-meta key) holding the product parameters.
PARAMETERS_ATTRIBUTE = "tsmaker_parameters"
#: Attribute of the ``columns`` group listing the columns in order (JSON).
COLUMNS_ATTRIBUTE = "columns"
#: Attribute of a ``columns`` dataset holding its unit.
UNIT_ATTRIBUTE = "unit"
MASK_SUFFIX = ".mask"
#: HDF5's caches are flushed after about this many bytes of new rows.
FLUSH_BYTES = 8 << 20
_CHUNK_BYTES = 1 << 18
_GZIP_LEVEL = 4


@dataclass(frozen=True)
class _Field:
    """One column as HDF5 stores it."""

    spec: ColumnSpec
    dtype: np.dtype
    """Numpy dtype of one value (a sub-array dtype for fixed-length arrays)."""
    masked: bool
    """True when a ``<name>.mask`` goes with it."""

    @property
    def mask_shape(self) -> tuple[int, ...]:
        """Shape of the mask of one row: per element for fixed-length arrays."""
        return (self.spec.length,) if self.spec.kind == "array" and self.spec.length else ()


class Hdf5Writer(TableWriter):
    """Stream a product into an HDF5 file; see the module docstring for the layouts.

    Parameters
    ----------
    final_path : pathlib.Path
        See :class:`tsmaker.formats.base.TableWriter`; the other keywords too.
    layout : {"columns", "table"}
        :data:`tsmaker.parameters.HDF5_LAYOUTS`; default ``columns``.
    group : str
        Group of the ``columns`` layout; default ``photometry``.
    """

    format_name: ClassVar[str] = "hdf5"
    suffix: ClassVar[str] = ".hdf5"

    _file: h5py.File | None = None
    _sink: StickyErrorFile | None = None

    def __init__(self, final_path: Path, *, layout: str = HDF5_LAYOUTS[0],
                 group: str = GROUP_NAME, **options: Any) -> None:
        from tsmaker.errors import require_choice

        require_choice(layout, HDF5_LAYOUTS, "HDF5 layout")
        super().__init__(final_path, **options)
        self.layout = layout
        self.group = group
        self._datasets: dict[str, h5py.Dataset] = {}
        self._unflushed_bytes = 0

    def _start(self, first_frame: pd.DataFrame) -> None:
        # Fail on columns HDF5 cannot hold now; the file waits for a batch with rows
        # so that string widths can come from real values.
        self._specs = self._column_specs()
        names = set(self.columns)
        for spec in self._specs:
            if "/" in spec.name and self.layout == "columns":
                raise InputError(
                    f"column '{spec.name}' cannot be an HDF5 dataset name (it holds '/'); "
                    "rename it, or use the table layout"
                )
            if spec.nullable and spec.name + MASK_SUFFIX in names:
                raise InputError(
                    f"column '{spec.name}{MASK_SUFFIX}' clashes with the mask of nullable "
                    f"column '{spec.name}' in HDF5; rename it"
                )

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        import numpy as np

        from tsmaker.formats.hdf5_file import disk_errors

        if self._file is None:  # opened at the first rows: string widths need values
            self._open(frame)
        encoded = self._encode(frame)
        with disk_errors(self._sink):
            for name, values in encoded.items():
                dataset = self._datasets[name]
                start = dataset.shape[0]
                dataset.resize((start + len(values), *dataset.shape[1:]))
                if values.dtype == object:  # variable-length cells: h5py would broadcast
                    dataset.write_direct(values, dest_sel=np.s_[start:])  # one length as 2-D
                else:
                    dataset[start:] = values
                self._unflushed_bytes += values.nbytes
            if self._unflushed_bytes >= max(FLUSH_BYTES, len(self._datasets) * _CHUNK_BYTES):
                self._unflushed_bytes = 0
                self._file.flush()

    def _finish(self) -> None:
        from tsmaker.formats.hdf5_file import disk_errors

        if self._file is None:
            self._open(None)
        with disk_errors(self._sink):
            file, self._file, self._datasets = self._file, None, {}
            file.close()
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.close()

    def _release(self) -> None:
        file, self._file, self._datasets = self._file, None, {}
        sink, self._sink = self._sink, None
        try:
            if file is not None:
                # Cannot crash: the sink has hidden any write error from HDF5; anything
                # raised here would only hide the error that made the run stop.
                try:
                    file.close()
                except Exception:
                    pass
        finally:
            if sink is not None:
                sink.close()

    # ------------------------------------------------------------------ layout

    def _open(self, first_rows: pd.DataFrame | None) -> None:
        """Fix the storage of every column, create the file and its datasets."""
        import h5py

        from tsmaker.formats.hdf5_file import StickyErrorFile, disk_errors

        self._fields = [self._field(spec, first_rows) for spec in self._specs]
        header_lines = self._astropy_header_lines() if self.layout == "table" else []
        self._sink = StickyErrorFile(self.temp_path)
        self._file = h5py.File(self._sink, "w")  # h5py's "fileobj" driver
        with disk_errors(self._sink):
            if self.layout == "table":
                self._create_table(header_lines)
            else:
                self._create_columns()

    def _field(self, spec: ColumnSpec, first_rows: pd.DataFrame | None) -> _Field:
        import h5py
        import numpy as np

        if spec.kind == "string":
            return _Field(spec, np.dtype(f"S{self._string_width(spec.name, first_rows)}"), True)
        if spec.kind == "array":
            assert spec.element is not None
            element = _numeric_dtype(spec.element)
            if spec.length is None:
                return _Field(spec, h5py.vlen_dtype(element), True)
            return _Field(spec, np.dtype((element, (spec.length,))), True)
        masked = spec.nullable and spec.kind != "float"
        return _Field(spec, _numeric_dtype(spec), masked)

    def _create_columns(self) -> None:
        import json

        import h5py
        import numpy as np

        group = self._file.create_group(self.group, track_order=True)
        group.attrs[PARAMETERS_ATTRIBUTE] = self.metadata_json
        group.attrs[COLUMNS_ATTRIBUTE] = json.dumps(self.columns)
        for field in self._fields:
            variable = h5py.check_vlen_dtype(field.dtype) is not None
            base, shape = (field.dtype, ()) if variable else (
                field.dtype.base, field.dtype.shape)
            row_bytes = 16 if variable else max(1, field.dtype.itemsize)
            chunk_rows = max(1, _CHUNK_BYTES // row_bytes)
            dataset = group.create_dataset(
                field.spec.name, shape=(0, *shape), maxshape=(None, *shape), dtype=base,
                chunks=(chunk_rows, *shape), **({} if variable else _COMPRESSION),
            )
            if field.spec.unit:
                dataset.attrs[UNIT_ATTRIBUTE] = field.spec.unit
            self._datasets[field.spec.name] = dataset
            if field.masked:
                name = field.spec.name + MASK_SUFFIX
                shape = field.mask_shape
                self._datasets[name] = group.create_dataset(
                    name, shape=(0, *shape), maxshape=(None, *shape), dtype=np.bool_,
                    chunks=(max(1, _CHUNK_BYTES // max(shape, default=1)), *shape), **_COMPRESSION,
                )

    def _create_table(self, header_lines: list[str]) -> None:
        import numpy as np

        dataset = self._file.create_dataset(
            DATASET_PATH, shape=(0,), maxshape=(None,), dtype=self._row_dtype,
            chunks=(max(1, _CHUNK_BYTES // self._row_dtype.itemsize),), **_COMPRESSION,
        )
        dataset.attrs[PARAMETERS_ATTRIBUTE] = self.metadata_json
        self._file.create_dataset(
            META_PATH, data=np.array([line.encode("utf-8") for line in header_lines])
        )
        self._datasets[DATASET_PATH] = dataset

    @property
    def _row_dtype(self) -> np.dtype:
        """The compound dtype of the ``table`` layout: each field, then its mask."""
        import numpy as np

        fields: list[tuple[str, DTypeLike] | tuple[str, DTypeLike, tuple[int, ...]]] = []
        for field in self._fields:
            fields.append((field.spec.name, field.dtype))
            if field.masked:
                fields.append((field.spec.name + MASK_SUFFIX, np.bool_, field.mask_shape))
        return np.dtype(fields)

    def _astropy_header_lines(self) -> list[str]:
        """The YAML header astropy would write for this layout, made by its own helpers.

        astropy only records the ``MaskedColumn`` recipe for columns that have a
        masked entry, so the header is made from a one-row table whose nullable
        columns are masked; the header does not depend on the row count.
        """
        import numpy as np
        from astropy.table import Column, MaskedColumn, Table, meta, serialize
        from astropy.utils.data_info import serialize_context_as

        row_dtype = self._row_dtype
        table = Table(meta={PARAMETERS_ATTRIBUTE: self.metadata_json})
        for field in self._fields:
            value = np.zeros(1, dtype=row_dtype[field.spec.name])
            if field.masked:
                table[field.spec.name] = MaskedColumn(value, mask=[True], unit=field.spec.unit)
            else:
                table[field.spec.name] = Column(value, unit=field.spec.unit)
        with serialize_context_as("hdf5"):
            encoded = serialize.represent_mixins_as_columns(table)
        if encoded.colnames != list(row_dtype.names or ()):
            raise RuntimeError("astropy's HDF5 column layout differs from tsmaker's")
        return meta.get_yaml_from_table(encoded)

    # -------------------------------------------------------------------- rows

    def _encode(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The batch's values (and masks) per dataset: one per column, or one table."""
        import numpy as np

        encoded: dict[str, np.ndarray] = {}
        for field in self._fields:
            values, mask = self._values(frame[field.spec.name], field)
            encoded[field.spec.name] = values
            if field.masked:
                encoded[field.spec.name + MASK_SUFFIX] = mask
        if self.layout == "columns":
            return encoded
        rows = np.empty(len(frame), dtype=self._row_dtype)
        for name, values in encoded.items():
            rows[name] = values
        return {DATASET_PATH: rows}

    def _values(self, series: pd.Series, field: _Field) -> tuple[np.ndarray, np.ndarray]:
        """One column's stored values and its mask (True where missing)."""
        import numpy as np

        spec = field.spec
        if spec.kind == "array":
            return self._arrays(series, field)
        mask = series.isna().to_numpy() if field.masked else np.zeros(0, dtype=bool)
        if spec.kind == "string":
            width = field.dtype.itemsize
            return self._fixed_width_strings(series, spec.name, width), mask
        if spec.kind == "float":
            return series.to_numpy(dtype=field.dtype, na_value=np.nan), mask
        return series.to_numpy(dtype=field.dtype, na_value=_missing_value(field.dtype)), mask

    def _arrays(self, series: pd.Series, field: _Field) -> tuple[np.ndarray, np.ndarray]:
        import h5py
        import numpy as np

        from tsmaker.formats.arrays import array_block

        variable = h5py.check_vlen_dtype(field.dtype)
        element = np.dtype(variable if variable is not None else field.dtype.base)
        block = array_block(series, element, _missing_value(element), field.spec.length)
        if variable is None:
            return block.values, block.missing_elements
        cells = np.empty(len(block.lengths), dtype=object)
        # One by one: numpy would take rows of one length as a 2-D block, not as cells.
        for row, cell in enumerate(np.split(block.values, np.cumsum(block.lengths)[:-1])):
            cells[row] = cell
        return cells, block.missing_rows


_COMPRESSION: dict[str, object] = {
    "compression": "gzip", "compression_opts": _GZIP_LEVEL, "shuffle": True,
}


def _numeric_dtype(spec: ColumnSpec) -> np.dtype:
    """Little-endian numpy dtype of a number or boolean."""
    import numpy as np

    if spec.kind == "bool":
        return np.dtype(np.bool_)
    prefix = {"float": "f", "int": "i", "uint": "u"}[spec.kind]
    return np.dtype(f"<{prefix}{spec.itemsize_bytes}")


def _missing_value(dtype: np.dtype) -> object:
    """What is stored where a value is missing: NaN, the extreme integer, or False."""
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return False
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return np.iinfo(dtype).min
