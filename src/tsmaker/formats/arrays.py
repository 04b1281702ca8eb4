"""Array columns (pyarrow lists) as numpy blocks for the fixed-layout writers (FITS, HDF5).

A fixed-length array column becomes a 2-D block (rows x length); a variable-length
one becomes its lengths and all its elements one after the other. Missing values
are filled with what the format documents for them (``fill``); the masks say where
they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class ArrayBlock:
    """One batch of an array column, as numpy arrays.

    ``values`` is ``rows x length`` for fixed-length arrays, or every element of every
    row, one row after the other, for variable-length ones (``lengths`` gives each
    row's count; a missing row has length 0).
    """

    values: np.ndarray
    lengths: np.ndarray
    """Elements per row (int64)."""
    missing_rows: np.ndarray
    """True where the whole array is missing (bool)."""
    missing_elements: np.ndarray
    """True where one element is missing, aligned with ``values`` (bool)."""


def array_block(series: pd.Series, element_dtype: np.dtype | str, fill: object,
                length: int | None) -> ArrayBlock:
    """The arrays of ``series`` as numpy, elements cast to ``element_dtype``.

    Parameters
    ----------
    series : pandas.Series
        A pyarrow-backed list or fixed-size-list column.
    element_dtype : numpy dtype
        Storage dtype of one element.
    fill : scalar
        Written where an element, or a whole fixed-length row, is missing.
    length : int or None
        The fixed length, or None for variable-length arrays.

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> column = pd.Series(pd.array([[1.5, None], None, [3.0]],
    ...                             dtype=pd.ArrowDtype(pa.list_(pa.float64()))))
    >>> block = array_block(column, "float64", float("nan"), None)
    >>> block.values.tolist(), block.lengths.tolist(), block.missing_rows.tolist()
    ([1.5, nan, 3.0], [2, 0, 1], [False, True, False])
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from tsmaker.formats.dtypes import arrow_values

    array = arrow_values(series)
    missing_rows = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if length is not None:
        # A fixed-size list keeps a slot of ``length`` elements for every row, missing
        # rows included.
        elements = array.values.slice(array.offset * length, len(array) * length)
        lengths = np.full(len(array), length, dtype=np.int64)
    else:
        elements = array.flatten()
        lengths = np.asarray(
            pc.fill_null(pc.list_value_length(array), 0).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
    missing_elements = np.asarray(elements.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if elements.null_count:
        elements = pc.fill_null(elements, pa.scalar(fill, type=elements.type))
    values = np.asarray(elements.to_numpy(zero_copy_only=False)).astype(element_dtype,
                                                                        copy=False)
    if length is not None:
        values = values.reshape(len(array), length)
        missing_elements = missing_elements.reshape(len(array), length)
        if missing_rows.any():
            values = values.copy()
            values[missing_rows] = fill
            missing_elements[missing_rows] = True
    return ArrayBlock(values, lengths, missing_rows, missing_elements)
