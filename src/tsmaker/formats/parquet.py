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
- A column that is entirely empty and of ``object`` dtype in the first batch (so
  Arrow would infer the ``null`` type) is stored as ``large_string``.
- Snappy compression; dictionary encoding for every column but the integer and
  floating-point ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from tsmaker.errors import InputError
from tsmaker.formats.base import TableWriter

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

#: Key of the product parameters in the Parquet key-value metadata.
PARAMETERS_KEY = b"tsmaker"
#: Key of a column's unit in its Arrow field metadata.
UNIT_KEY = b"unit"


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
        metadata[PARAMETERS_KEY] = self.metadata_json.encode()
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
