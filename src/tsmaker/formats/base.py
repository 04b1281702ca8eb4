"""The streaming table writer every output format builds on.

A writer receives a product batch by batch (``write``), keeps at most one batch in
memory, writes into a hidden temporary file next to the final path and moves it
into place atomically in ``close``. Interrupted or failed runs (``abort``, or an
exception inside a ``with`` block) leave neither the final file nor the temporary
one behind.

The first call to ``write`` fixes the column list and the pandas dtypes (``object``
columns of booleans or arrays first become ``boolean`` / pyarrow list columns,
:func:`tsmaker.formats.dtypes.normalize_object_columns`); later batches are
reordered to that column list and cast to those dtypes, and a batch that cannot be
cast raises :class:`tsmaker.errors.InputError`. A column the format cannot hold is
refused at the first batch (:mod:`tsmaker.formats.dtypes`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Literal, Self

from tsmaker import atomic
from tsmaker.errors import InputError
from tsmaker.formats.dtypes import ColumnSpec, column_spec, refuse_unless_held

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pandas.api.extensions import ExtensionDtype

class TableWriter(ABC):
    """Base class of the streaming writers; one subclass per output format.

    Parameters
    ----------
    final_path : pathlib.Path
        Where the complete file ends up. Its folder must exist. Rows go to a hidden
        temporary file in the same folder (``.<name>.partial-<pid>``) that ``close``
        renames onto ``final_path``; an existing file there is never replaced
        (FileExistsError, :func:`tsmaker.atomic.commit`).
    units : Mapping[str, str], optional
        Column name to unit string (``"deg"``, ``"arcsec"``, ``"nJy"``, ``"mag"``).
        Names that are not columns of the product are ignored, so one mapping can
        serve several products.
    metadata : Mapping[str, object], optional
        The product parameters, a JSON-serialisable mapping stored inside the file
        by formats that can hold it (Parquet, FITS, HDF5).
    string_widths : Mapping[str, int], optional
        Width in bytes of fixed-width string columns (FITS, HDF5; Parquet records
        them for astropy's reader, CSV ignores them). A column missing here takes
        the longest value of the first batch that has rows (at least 1); a longer
        value in a later batch raises :class:`tsmaker.errors.InputError`.
    ra_column, dec_column : str, optional
        The rows' coordinate columns, for formats that index rows by position
        (HATS); the others ignore them.

    Raises
    ------
    tsmaker.errors.InputError
        If the folder of ``final_path`` does not exist, ``metadata`` is not
        JSON-serialisable, or a string width is not a positive integer.

    Examples
    --------
    >>> import pandas as pd
    >>> from tsmaker.formats import ParquetWriter
    >>> batches = [pd.DataFrame({"ra": [1.0, 2.0]}), pd.DataFrame({"ra": [3.0]})]
    >>> with ParquetWriter(Path(getfixture("tmp_path")) / "out.parquet",
    ...                    units={"ra": "deg"}) as writer:
    ...     for batch in batches:
    ...         writer.write(batch)
    >>> writer.rows_written
    3
    """

    format_name: ClassVar[str]
    suffix: ClassVar[str]
    #: True when every batch must be one sky partition, indexed by ``_healpix_29``
    #: and given with its ``(order, pixel)`` (HATS); other formats take any batch.
    partitioned: ClassVar[bool] = False
    #: Encoding of fixed-width string columns (FITS overrides it with ASCII).
    _string_encoding: ClassVar[str] = "utf-8"

    def __init__(
        self,
        final_path: Path,
        *,
        units: Mapping[str, str] | None = None,
        metadata: Mapping[str, object] | None = None,
        string_widths: Mapping[str, int] | None = None,
        ra_column: str | None = None,
        dec_column: str | None = None,
    ) -> None:
        self.final_path = Path(final_path)
        self.temp_path = atomic.partial_path(self.final_path)
        self.ra_column = ra_column
        self.dec_column = dec_column
        if not self.final_path.parent.is_dir():
            raise InputError(
                f"output folder '{self.final_path.parent}' does not exist; create it "
                "or choose another output path"
            )
        self.units: dict[str, str] = dict(units or {})
        self.metadata: dict[str, object] = dict(metadata or {})
        try:
            self.metadata_json = json.dumps(self.metadata, sort_keys=True, ensure_ascii=True)
        except (TypeError, ValueError) as error:
            raise InputError(
                f"product parameters cannot be stored as JSON ({error}); pass only "
                "strings, numbers, booleans, lists and dicts"
            ) from error
        self.string_widths: dict[str, int] = dict(string_widths or {})
        for column, width in self.string_widths.items():
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                raise InputError(
                    f"string width {width!r} for column '{column}' is not a positive "
                    "integer; give the maximum length in bytes"
                )
        self._columns: list[str] | None = None
        self._dtypes: dict[str, np.dtype | ExtensionDtype] = {}
        self._rows_written = 0
        self._batches_written = 0
        self._state: Literal["open", "closed", "aborted"] = "open"

    # ------------------------------------------------------------------ public API

    @property
    def rows_written(self) -> int:
        """Number of rows written so far."""
        return self._rows_written

    @property
    def columns(self) -> list[str]:
        """Column names fixed by the first batch (empty before it)."""
        return list(self._columns or [])

    def write(self, frame: pd.DataFrame, pixels: Sequence[tuple[int, int]] = ()) -> None:
        """Append one batch of rows.

        Parameters
        ----------
        frame : pandas.DataFrame
            The batch. Its index is not written (but by partitioned formats). The
            first batch fixes the columns and dtypes; later batches must have the
            same columns (in any order) and are cast to the first batch's dtypes.
            Zero rows are allowed.
        pixels : sequence of (order, pixel)
            The sky partitions the rows come from; a :attr:`partitioned` format
            needs exactly one.

        Raises
        ------
        tsmaker.errors.InputError
            If the columns differ from the first batch, a column cannot be cast to
            its fixed dtype, or a value does not fit the format.
        """
        self._require_open("write")
        if self._columns is None:
            from tsmaker.formats.dtypes import normalize_object_columns

            frame = normalize_object_columns(frame)
            self._columns = self._check_column_names(frame)
            self._dtypes = {name: frame[name].dtype for name in self._columns}
            try:
                self._start(frame)
            except BaseException:
                # A refused first batch must not fix the layout for the next one.
                self._columns, self._dtypes = None, {}
                raise
        else:
            frame = self._conform(frame)
        if len(frame):
            self._write_batch(frame, tuple(pixels))
        self._rows_written += len(frame)
        self._batches_written += 1

    def close(self) -> Path:
        """Finish the file, flush it to disk and move it onto ``final_path``.

        Returns
        -------
        pathlib.Path
            ``final_path``.

        Raises
        ------
        RuntimeError
            If nothing was ever written (the columns are unknown), or the writer
            was aborted.
        """
        if self._state == "closed":
            return self.final_path
        return self.finish().commit()

    def finish(self) -> atomic.PendingFile:
        """Complete the temporary file, but leave moving it into place to the caller.

        The product's run moves it (:meth:`tsmaker.atomic.PendingFile.commit`) only
        once the registry says the product may be finished, or discards it.

        Raises
        ------
        RuntimeError
            If nothing was ever written, or the writer was aborted.
        """
        self._require_open("finish")
        if self._columns is None:
            self.abort()
            raise RuntimeError(
                "writer closed before any batch was written; call write() at least once "
                "(an empty DataFrame with the product's columns is fine)"
            )
        try:
            self._finish()
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        return atomic.PendingFile(self.temp_path, self.final_path)

    def abort(self) -> None:
        """Stop writing and delete the temporary file. Safe to call more than once."""
        if self._state == "closed":
            return
        self._state = "aborted"
        try:
            self._release()
        finally:
            atomic.remove(self.temp_path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    @classmethod
    def check_column_names(cls, names: Sequence[str]) -> None:
        """Refuse, before any work, column names the format cannot store (none by default).

        Raises
        ------
        tsmaker.errors.InputError
            Naming the column and what to do.
        """
        return None

    # ------------------------------------------------------ hooks for subclasses

    @abstractmethod
    def _start(self, first_frame: pd.DataFrame) -> None:
        """Prepare the format from the first batch (columns and dtypes are fixed)."""

    @abstractmethod
    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        """Append one non-empty batch whose columns and dtypes match the first batch."""

    @abstractmethod
    def _finish(self) -> None:
        """Complete and close the temporary file; the base class fsyncs and renames."""

    @abstractmethod
    def _release(self) -> None:
        """Close any open handle without finishing the file (used by ``abort``)."""

    # ----------------------------------------------------------------- helpers

    def _require_open(self, action: str) -> None:
        if self._state != "open":
            raise RuntimeError(
                f"cannot {action}: the writer for '{self.final_path}' is already {self._state}"
            )

    @staticmethod
    def _check_column_names(frame: pd.DataFrame) -> list[str]:
        names = list(frame.columns)
        not_text = [name for name in names if not isinstance(name, str)]
        if not_text:
            raise InputError(f"column names must be strings, got {not_text!r}; rename the columns")
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise InputError(f"duplicated column names {duplicated}; rename the columns")
        return names

    def _conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Reorder a later batch to the fixed columns and cast it to the fixed dtypes."""
        assert self._columns is not None
        fixed = self._columns
        if list(frame.columns) != fixed:
            missing = [name for name in fixed if name not in frame.columns]
            extra = [name for name in frame.columns if name not in fixed]
            if missing or extra or len(frame.columns) != len(fixed):
                raise InputError(
                    f"batch {self._batches_written + 1} has different columns than the "
                    f"first batch (missing: {missing}, unexpected: {extra}); every batch "
                    "of a product must have the same columns"
                )
            frame = frame[fixed]
        if list(frame.dtypes) == list(self._dtypes.values()):
            return frame
        casts = {name: dtype for name, dtype in self._dtypes.items() if frame[name].dtype != dtype}
        if not casts:
            return frame
        try:
            return frame.astype(casts)
        except (TypeError, ValueError) as error:
            described = ", ".join(
                f"'{name}' {frame[name].dtype} -> {dtype}" for name, dtype in casts.items()
            )
            raise InputError(
                f"batch {self._batches_written + 1} cannot be cast to the dtypes of the "
                f"first batch ({described}): {error}"
            ) from error

    def _column_specs(self) -> list[ColumnSpec]:
        """Describe every fixed column for fixed-layout formats (FITS, HDF5)."""
        return [self._column_spec(name, self._dtypes[name]) for name in self.columns]

    def _column_spec(self, name: str, dtype: np.dtype | ExtensionDtype) -> ColumnSpec:
        """Describe one column; refuse it when this format cannot hold it."""
        spec = column_spec(name, dtype, self.units.get(name))
        refuse_unless_held(spec, self.format_name)
        return spec

    def _string_width(self, name: str, first_frame: pd.DataFrame | None) -> int:
        """Fixed width of a string column: given, or the first batch's longest value."""
        if name in self.string_widths:
            return self.string_widths[name]
        if first_frame is None or len(first_frame) == 0:
            return 1
        lengths = self._encode_strings(first_frame[name], name).str.len()
        return max(1, int(lengths.max()))

    def _encode_strings(self, series: pd.Series, name: str) -> pd.Series:
        """Encode a string column to bytes (missing values become ``b""``)."""
        encoding = self._string_encoding
        try:
            return series.astype("str").fillna("").str.encode(encoding)
        except UnicodeEncodeError as error:
            raise InputError(
                f"column '{name}' holds {error.object[error.start : error.end]!r}, which "
                f"{self.format_name} strings cannot store ({encoding} only); clean the "
                "value or choose parquet"
            ) from error

    def _fixed_width_strings(self, series: pd.Series, name: str, width: int) -> np.ndarray:
        """Encode a string column into a ``S<width>`` array, refusing to truncate."""
        encoded = self._encode_strings(series, name)
        lengths = encoded.str.len()
        if len(encoded) and int(lengths.max()) > width:
            position = int(lengths.to_numpy().argmax())
            value = encoded.iloc[position].decode(self._string_encoding)
            raise InputError(
                f"value {value!r} of column '{name}' is {int(lengths.iloc[position])} bytes "
                f"long but the {self.format_name} column is {width} bytes wide; pass "
                f"string_widths={{'{name}': {int(lengths.max())}}} (or larger)"
            )
        return encoded.to_numpy(dtype=f"S{width}")

