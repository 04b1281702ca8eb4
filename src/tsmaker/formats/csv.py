"""CSV output: a header line, then the rows of each batch appended as they come.

Layout
------
- Comma-separated, UTF-8, LF line ends, minimal quoting (fields holding a
  comma, quote or line break are quoted), no index column, one line per row.
- Missing values of every dtype (float NaN, nullable-int ``<NA>``, missing
  strings, missing arrays) are empty fields, which ``pandas.read_csv`` reads as
  NaN and ``astropy.table.Table.read(format="ascii.csv")`` reads as masked. An
  empty string is therefore indistinguishable from a missing one.
- Floats are written with the shortest text that reads back to the same value,
  booleans as ``True``/``False``.
- Arrays and nested values (pyarrow list/struct columns) are JSON text in one
  field, e.g. ``"[2263.1234567890123, 9506.033275419904]"``: every float with the
  shortest text that reads back to the same double (float32 elements as the
  double they are), a missing element as ``null``, NaN as ``NaN``.
  ``json.loads`` turns a field back into its list.
- CSV cannot hold units or the product parameters; the pipeline writes them to
  a sidecar JSON file.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, ClassVar

from tsmaker.formats.base import TableWriter

if TYPE_CHECKING:
    import pandas as pd


class CsvWriter(TableWriter):
    """Stream a product into a CSV file; see the module docstring for the layout."""

    format_name: ClassVar[str] = "csv"
    suffix: ClassVar[str] = ".csv"

    _handle: IO[str] | None = None
    _json_columns: tuple[str, ...] = ()

    def _start(self, first_frame: pd.DataFrame) -> None:
        import pandas as pd

        self._json_columns = tuple(
            spec.name for spec in self._column_specs()
            if spec.kind == "array" or (
                spec.kind == "other" and isinstance(self._dtypes[spec.name], pd.ArrowDtype))
        )
        self._handle = open(self.temp_path, "w", encoding="utf-8", newline="")
        first_frame.iloc[:0].to_csv(self._handle, index=False, lineterminator="\n")

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        if self._json_columns:
            frame = frame.copy(deep=False)
            for name in self._json_columns:
                frame[name] = json_text(frame[name])
        frame.to_csv(self._handle, index=False, header=False, na_rep="", lineterminator="\n")

    def _finish(self) -> None:
        assert self._handle is not None
        self._handle.close()
        self._handle = None

    def _release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()


def json_text(series: pd.Series) -> pd.Series:
    """Each value of an array (or nested) column as JSON text; missing values stay missing.

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> values = pd.Series(pd.array([[9506.033275419904, None], None],
    ...                             dtype=pd.ArrowDtype(pa.list_(pa.float64()))))
    >>> json_text(values).tolist()
    ['[9506.033275419904, null]', None]
    """
    import json

    import pandas as pd

    from tsmaker.formats.dtypes import arrow_values

    texts = [
        None if value is None else json.dumps(value, default=str)
        for value in arrow_values(series).to_pylist()
    ]
    return pd.Series(texts, index=series.index, dtype=object)
