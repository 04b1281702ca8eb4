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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tsmaker.errors import InputError
from tsmaker.writers.base import TableWriter

if TYPE_CHECKING:
    import pandas as pd

#: Key of the product parameters in the Parquet key-value metadata.
PARAMETERS_KEY = b"tsmaker"
#: Key of a column's unit in its Arrow field metadata.
UNIT_KEY = b"unit"


class ParquetWriter(TableWriter):
    """Stream a product into a Parquet file; see the module docstring for the layout."""

    format_name: ClassVar[str] = "parquet"
    suffix: ClassVar[str] = ".parquet"
    #: Small batches are gathered into row groups of about this many rows: fewer,
    #: larger row groups read faster, and one conversion per group costs less than one
    #: per batch (a run's partitions often hold a few hundred matches each).
    row_group_rows: ClassVar[int] = 65_536

    _writer: Any = None
    _schema: Any = None
    _pending: list[Any]
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
        self._writer = pq.ParquetWriter(self.temp_path, self._schema)

    def _write_batch(self, frame: pd.DataFrame) -> None:
        if not self._pending_rows:
            self._pending = []
        self._pending.append(frame)
        self._pending_rows += len(frame)
        if self._pending_rows >= self.row_group_rows:
            self._flush()

    def _flush(self) -> None:
        import pandas as pd
        import pyarrow as pa

        if not self._pending_rows:
            return
        frames, self._pending, self._pending_rows = self._pending, [], 0
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        try:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(
                f"rows up to batch {self._batches_written + 1} do not fit the Parquet schema "
                f"fixed by the first batch: {error}"
            ) from error
        self._writer.write_table(table)

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
