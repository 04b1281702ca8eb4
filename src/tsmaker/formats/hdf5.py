"""HDF5 output: one resizable compound dataset, appended batch by batch with h5py.

Layout
------
``/training_set``
    One-dimensional dataset of a compound (structured) dtype, one field per
    column in the product's column order, ``maxshape=(None,)``, chunked (about
    1 MiB per chunk), shuffle + gzip compressed, grown by each batch.
    Attribute ``tsmaker_parameters``: the product parameters as JSON.
``/training_set.__table_column_meta__``
    The table header in astropy's own format (what
    ``Table.write(..., serialize_meta=True)`` writes): a 1-D array of UTF-8 YAML
    lines holding each column's dtype and unit, the table meta
    (``tsmaker_parameters``, the same JSON string) and the recipe that turns a
    ``<name>`` / ``<name>.mask`` field pair back into a ``MaskedColumn``. It is
    written with astropy's serialisation helpers, so
    ``astropy.table.Table.read(path, path="training_set")`` returns the columns
    with their units and the masks applied.

Columns
-------
- Floats and integers keep their numpy dtype (little-endian); nullable floats
  store ``<NA>`` as NaN.
- Nullable integer and boolean dtypes (pandas ``Int64``, ``boolean``,
  pyarrow-backed types) get a companion bool field ``<name>.mask`` (True where
  missing), astropy's ``data_mask`` convention. The data field holds the
  smallest value of the type (largest for unsigned; False for bool) where the
  value is missing, so a reader that ignores the mask sees an implausible value
  rather than a zero. Whether a column gets a mask is decided from its dtype,
  because later batches may bring the first missing value.
- ``bool`` is HDF5's bool enum (reads back as numpy bool).
- Strings are fixed-width UTF-8 bytes (``S<n>``); a missing string is ``b""``.
  The width comes from ``string_widths`` or, if absent, from the longest value
  (in bytes) of the first batch that has rows (at least 1); a longer value later
  raises :class:`tsmaker.errors.InputError` instead of being truncated.

``pandas.DataFrame(h5py.File(path)["training_set"][()])`` gives one column per
field (strings as ``bytes``, mask fields included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from tsmaker.errors import InputError
from tsmaker.formats.base import ColumnSpec, TableWriter

if TYPE_CHECKING:
    import h5py
    import numpy as np
    import pandas as pd

#: Path of the table dataset inside the file.
DATASET_PATH = "training_set"
#: Path of astropy's column-metadata dataset (``<table path>.__table_column_meta__``).
META_PATH = f"{DATASET_PATH}.__table_column_meta__"
#: Attribute (on the dataset) and table-meta key holding the product parameters.
PARAMETERS_ATTRIBUTE = "tsmaker_parameters"
MASK_SUFFIX = ".mask"
_CHUNK_BYTES = 1 << 20
_GZIP_LEVEL = 4


class Hdf5Writer(TableWriter):
    """Stream a product into an HDF5 file; see the module docstring for the layout."""

    format_name: ClassVar[str] = "hdf5"
    suffix: ClassVar[str] = ".hdf5"

    _file: h5py.File | None = None

    def _start(self, first_frame: pd.DataFrame) -> None:
        # Fail on unsupported dtypes now; the file waits for a batch with rows so
        # that string widths can come from real values.
        self._specs = self._column_specs()
        names = set(self.columns)
        for spec in self._specs:
            if self._has_mask(spec) and spec.name + MASK_SUFFIX in names:
                raise InputError(
                    f"column '{spec.name}{MASK_SUFFIX}' clashes with the mask field of "
                    f"nullable column '{spec.name}' in HDF5; rename it"
                )

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        if self._file is None:  # opened at the first rows: string widths need values
            self._open(frame)
        rows = self._encode_rows(frame)
        dataset = self._file[DATASET_PATH]
        start = dataset.shape[0]
        dataset.resize((start + len(rows),))
        dataset[start:] = rows

    def _finish(self) -> None:
        if self._file is None:
            self._open(None)
        self._file.close()
        self._file = None

    def _release(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    # ------------------------------------------------------------------ layout

    @staticmethod
    def _has_mask(spec: ColumnSpec) -> bool:
        return spec.nullable and spec.kind in ("int", "uint", "bool")

    def _open(self, first_rows: pd.DataFrame | None) -> None:
        """Fix the field layout, create the file, the dataset and astropy's header."""
        import h5py
        import numpy as np

        fields: list[tuple[str, str]] = []
        for spec in self._specs:
            if spec.kind == "string":
                storage = f"S{self._string_width(spec.name, first_rows)}"
            elif spec.kind == "bool":
                storage = "bool"
            else:
                prefix = {"float": "f", "int": "i", "uint": "u"}[spec.kind]
                storage = f"<{prefix}{spec.itemsize_bytes}"
            fields.append((spec.name, storage))
            if self._has_mask(spec):
                fields.append((spec.name + MASK_SUFFIX, "bool"))
        self._row_dtype = np.dtype(fields)
        header_lines = self._astropy_header_lines()

        self._file = h5py.File(self.temp_path, "w")
        dataset = self._file.create_dataset(
            DATASET_PATH,
            shape=(0,),
            maxshape=(None,),
            dtype=self._row_dtype,
            chunks=(max(1, _CHUNK_BYTES // self._row_dtype.itemsize),),
            compression="gzip",
            compression_opts=_GZIP_LEVEL,
            shuffle=True,
        )
        dataset.attrs[PARAMETERS_ATTRIBUTE] = self.metadata_json
        self._file.create_dataset(
            META_PATH, data=np.array([line.encode("utf-8") for line in header_lines])
        )

    def _astropy_header_lines(self) -> list[str]:
        """The YAML header astropy would write for this layout, made by its own helpers.

        astropy only records the ``MaskedColumn`` recipe for columns that have a
        masked entry, so the header is made from a one-row table whose nullable
        columns are masked; the header does not depend on the row count.
        """
        import numpy as np
        from astropy.table import Column, MaskedColumn, Table, meta, serialize
        from astropy.utils.data_info import serialize_context_as

        table = Table(meta={PARAMETERS_ATTRIBUTE: self.metadata_json})
        for spec in self._specs:
            value = np.zeros(1, dtype=self._row_dtype[spec.name])
            if self._has_mask(spec):
                table[spec.name] = MaskedColumn(value, mask=[True], unit=spec.unit)
            else:
                table[spec.name] = Column(value, unit=spec.unit)
        with serialize_context_as("hdf5"):
            encoded = serialize.represent_mixins_as_columns(table)
        if encoded.colnames != list(self._row_dtype.names or ()):
            raise RuntimeError("astropy's HDF5 column layout differs from tsmaker's")
        return meta.get_yaml_from_table(encoded)

    # -------------------------------------------------------------------- rows

    def _encode_rows(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        rows = np.empty(len(frame), dtype=self._row_dtype)
        for spec in self._specs:
            name = spec.name
            series = frame[name]
            storage = self._row_dtype[name]
            if spec.kind == "string":
                rows[name] = self._fixed_width_strings(series, name, storage.itemsize)
                continue
            if spec.kind == "float":
                rows[name] = series.to_numpy(dtype=storage, na_value=np.nan)
                continue
            if spec.kind == "bool":
                fill: bool | int = False
            elif spec.kind == "uint":
                fill = np.iinfo(storage).max
            else:
                fill = np.iinfo(storage).min
            rows[name] = series.to_numpy(dtype=storage, na_value=fill)
            if self._has_mask(spec):
                rows[name + MASK_SUFFIX] = series.isna().to_numpy()
        return rows
