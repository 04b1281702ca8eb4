"""Parquet output: row groups of ~65k rows, written with ``pyarrow.parquet.ParquetWriter``.

Layout
------
- The Arrow schema comes from the first batch (``pyarrow.Schema.from_pandas``), so
  pandas dtypes round-trip: nullable ``Int64``, ``boolean``, ``str`` and
  pyarrow-backed columns come back as they went in. Missing values are Parquet
  nulls; float NaN stays NaN.
- Each field whose column has a unit carries it in the field metadata under
  ``b"unit"``.
- The product parameters are JSON in the file's key-value metadata under
  ``b"tsmaker"`` (next to pyarrow's own ``b"pandas"`` entry).
- The key ``b"table_meta_yaml"`` holds the table header astropy writes and reads
  (:func:`astropy_table_header`): every column's name, type and unit, and the
  parameters as the table meta ``tsmaker``, so ``astropy.table.Table.read`` returns
  the columns with their units; ``table::len::<name>`` gives the width of each
  string column with a known width (``string_widths``), as astropy's own Parquet
  writer records it.
- Array columns (pyarrow ``list``/``fixed_size_list``) stay Arrow lists; pandas'
  own metadata records them as ``object`` columns (what ``pandas.read_parquet``
  makes of any Parquet list), because pandas cannot read back the name of a
  pyarrow list dtype.
- A column that is entirely empty and of ``object`` dtype in the first batch (so
  Arrow would infer the ``null`` type) is stored as ``large_string``.
- Snappy compression; dictionary encoding for every column but the integer and
  floating-point ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from tsmaker.errors import InputError
from tsmaker.formats.base import TableWriter
from tsmaker.formats.dtypes import readable_pandas_metadata

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

#: Key of the product parameters in the Parquet key-value metadata.
PARAMETERS_KEY = b"tsmaker"
#: Key of a column's unit in its Arrow field metadata.
UNIT_KEY = b"unit"
#: Key of astropy's table header (column units, table meta) in the key-value metadata.
ASTROPY_KEY = b"table_meta_yaml"
#: Key of pandas' own metadata (dtypes, index) in the key-value metadata.
PANDAS_KEY = b"pandas"


class ParquetWriter(TableWriter):
    """Stream a product into a Parquet file; see the module docstring for the layout."""

    format_name: ClassVar[str] = "parquet"
    suffix: ClassVar[str] = ".parquet"
    #: Small batches are gathered into row groups of about this many rows: fewer,
    #: larger row groups read faster (a run's partitions often hold a few dozen to a
    #: few hundred matches each).
    row_group_rows: ClassVar[int] = 65_536
    #: Pending batches are converted to Arrow this many at a time: one conversion per
    #: few batches costs less than one per batch, and a pandas frame costs tens of kB
    #: of blocks and indexes however few rows it holds, so thousands of small frames
    #: must not wait in memory for a row group to fill.
    convert_batches: ClassVar[int] = 64

    _writer: pq.ParquetWriter | None = None
    _schema: pa.Schema | None = None
    _pending_frames: list[pd.DataFrame]
    _pending_tables: list[pa.Table]
    _pending_rows: int = 0

    def _start(self, first_frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        inferred = pa.Schema.from_pandas(first_frame, preserve_index=False)
        fields = []
        for field in inferred:
            if pa.types.is_null(field.type):
                field = field.with_type(pa.large_string())
            unit = self.units.get(field.name)
            if unit is not None:
                field = field.with_metadata({UNIT_KEY: unit.encode()})
            fields.append(field)
        metadata = dict(inferred.metadata or {})
        if PANDAS_KEY in metadata:
            metadata[PANDAS_KEY] = readable_pandas_metadata(metadata[PANDAS_KEY])
        metadata[PARAMETERS_KEY] = self.metadata_json.encode()
        metadata[ASTROPY_KEY] = astropy_table_header(fields, self.metadata_json).encode()
        for field in fields:
            if field.name in self.string_widths and (
                pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
            ):
                metadata[f"table::len::{field.name}".encode()] = str(
                    self.string_widths[field.name]).encode()
        self._schema = pa.schema(fields, metadata=metadata)
        # Dictionary encoding pays off for text and flags, not numbers: tried on
        # millions of distinct fluxes or ids it is built and then abandoned, which made
        # writing 4x slower and the file 25% larger.
        dictionary_columns = [
            field.name for field in fields
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type))
        ]
        self._writer = pq.ParquetWriter(
            self.temp_path, self._schema, use_dictionary=dictionary_columns
        )
        self._pending_frames, self._pending_tables = [], []

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        self._pending_frames.append(frame)
        self._pending_rows += len(frame)
        if len(self._pending_frames) >= self.convert_batches:
            self._convert()
        if self._pending_rows >= self.row_group_rows:
            self._flush()

    def _convert(self) -> None:
        """Turn the pending pandas batches into one Arrow table."""
        import pandas as pd
        import pyarrow as pa

        frames, self._pending_frames = self._pending_frames, []
        if not frames:
            return
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        try:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(
                f"rows up to batch {self._batches_written + 1} do not fit the Parquet schema "
                f"fixed by the first batch: {error}"
            ) from error
        self._pending_tables.append(table)

    def _flush(self) -> None:
        """Write the pending rows as one row group."""
        import pyarrow as pa

        self._convert()
        tables, self._pending_tables, self._pending_rows = self._pending_tables, [], 0
        if tables:
            self._writer.write_table(tables[0] if len(tables) == 1 else pa.concat_tables(tables))

    def _finish(self) -> None:
        self._flush()
        self._writer.close()
        self._writer = None

    def _release(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            try:
                writer.close()
            except Exception:
                pass


def astropy_table_header(fields: list[pa.Field], parameters_json: str) -> str:
    """Astropy's table header for these columns: name, type and unit of each, and the meta.

    astropy's Parquet reader takes column units (and the table meta) from this header,
    written in JSON, which is YAML. The parameters are one JSON string under the meta
    key ``tsmaker``, as in the HDF5 and FITS products.

    Examples
    --------
    >>> import json, pyarrow as pa
    >>> header = astropy_table_header(
    ...     [pa.field("ra", pa.float64(), metadata={b"unit": b"deg"})], "{}")
    >>> json.loads(header)
    {'datatype': [{'name': 'ra', 'datatype': 'float64', 'unit': 'deg'}], 'meta': {'tsmaker': '{}'}}
    """
    import json

    import pyarrow as pa

    columns = []
    for field in fields:
        if pa.types.is_boolean(field.type):
            datatype = "bool"
        elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            datatype = str(field.type.to_pandas_dtype().__name__)
        else:
            datatype = "string"
        column = {"name": field.name, "datatype": datatype}
        unit = (field.metadata or {}).get(UNIT_KEY)
        if unit is not None:
            column["unit"] = unit.decode()
        columns.append(column)
    return json.dumps({"datatype": columns, "meta": {"tsmaker": parameters_json}})
