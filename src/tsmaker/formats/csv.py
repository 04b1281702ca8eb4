"""CSV output: a header line, then the rows of each batch appended as they come.

Layout
------
- Comma-separated, UTF-8, LF line ends, minimal quoting (fields holding a
  comma, quote or line break are quoted), no index column.
- Missing values of every dtype (float NaN, nullable-int ``<NA>``, missing
  strings) are empty fields, which ``pandas.read_csv`` reads as NaN and
  ``astropy.table.Table.read(format="ascii.csv")`` reads as masked. An empty
  string is therefore indistinguishable from a missing one.
- Floats are written with the shortest text that reads back to the same value,
  booleans as ``True``/``False``.
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

    def _start(self, first_frame: pd.DataFrame) -> None:
        self._handle = open(self.temp_path, "w", encoding="utf-8", newline="")
        first_frame.iloc[:0].to_csv(self._handle, index=False, lineterminator="\n")

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        frame.to_csv(self._handle, index=False, header=False, na_rep="", lineterminator="\n")

    def _finish(self) -> None:
        assert self._handle is not None
        self._handle.close()
        self._handle = None

    def _release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()
