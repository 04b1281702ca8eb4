"""Rank each spec-z's matches, and choose unique pairs across the whole catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsmaker.columns import MATCH_DISTANCE_COLUMN

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike


def match_order(
    healpix: ArrayLike,
    keys: ArrayLike,
    distance_arcsec: ArrayLike,
    object_ids: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row order and ``match_rank`` of one partition of matches.

    Rows are ordered by the spec-z's HEALPix order-29 index, then its key, then the
    distance, then the object id; ``match_rank`` counts 1, 2, ... within each spec-z in
    that order. Partitions are disjoint HEALPix ranges of the spec-z position, so
    writing them in pixel order gives one global order that does not depend on the
    partitioning or the number of workers.

    Returns
    -------
    order : numpy.ndarray of int
        Positions that put the rows in that order.
    rank : numpy.ndarray of int32
        ``match_rank`` of the ordered rows (1 = nearest).

    Examples
    --------
    >>> order, rank = match_order([5, 5, 5, 2], [7, 3, 7, 9], [0.9, 0.1, 0.2, 0.5])
    >>> order.tolist(), rank.tolist()
    ([3, 1, 2, 0], [1, 1, 1, 2])
    """
    import numpy as np

    healpix = np.asarray(healpix, dtype=np.int64)
    key_codes = _sortable(keys)
    distance = np.asarray(distance_arcsec, dtype=np.float64)
    tie_break = _sortable(object_ids) if object_ids is not None else np.zeros(len(distance))
    order = np.lexsort((tie_break, distance, key_codes, healpix))
    sorted_keys = key_codes[order]
    count = len(order)
    new_group = np.ones(count, dtype=bool)
    new_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.maximum.accumulate(np.where(new_group, np.arange(count), 0))
    return order, (np.arange(count) - starts + 1).astype(np.int32)


def _sortable(values: ArrayLike) -> np.ndarray:
    """Numbers as they are; anything else as its rank in sorted order."""
    import numpy as np
    import pandas as pd

    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.dtype.kind in "iufb":
        return array
    codes, _ = pd.factorize(pd.Series(array), sort=True, use_na_sentinel=True)
    return codes


UNIQUE_COUNT_KEYS = ("removed_duplicate_objects", "removed_duplicate_specz")


def select_unique_closest(
    pairs: pd.DataFrame,
    *,
    key_column: str,
    object_column: str,
    flag_column: str | None = None,
    z_err_column: str | None = None,
    higher_flag_is_better: bool = True,
) -> tuple[np.ndarray, dict[str, int]]:
    """Choose the rows that keep every object and every spec-z at most once.

    Rules, applied in this order over the whole catalog (so across partitions):

    1. each object keeps one spec-z: the nearest; ties go to the better quality flag
       (higher is better, as in 2dFLenS/OzDES, unless ``higher_flag_is_better`` is
       False, as for DESI's ZWARN), then the smaller redshift error, then the smaller
       spec-z key;
    2. each spec-z then keeps one object: the nearest of those left (ties: smaller
       object id).

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per match with the key, object id, ``match_distance_arcsec`` and the
        optional flag and redshift-error columns.
    key_column, object_column : str
        Spec-z key and object id columns.
    flag_column, z_err_column : str, optional
        Quality flag and redshift error columns used to break ties.
    higher_flag_is_better : bool
        Direction of the quality flag.

    Returns
    -------
    keep : numpy.ndarray of bool
        Aligned with the rows of ``pairs``.
    counts : dict
        Rows removed by each rule (``removed_duplicate_objects``,
        ``removed_duplicate_specz``).
    """
    import numpy as np

    frame = pairs.reset_index(drop=True)
    by = [object_column, MATCH_DISTANCE_COLUMN]
    ascending = [True, True]
    if flag_column:
        by.append(flag_column)
        ascending.append(not higher_flag_is_better)
    if z_err_column:
        by.append(z_err_column)
        ascending.append(True)
    by.append(key_column)
    ascending.append(True)
    ordered = frame.sort_values(by, ascending=ascending, kind="mergesort", na_position="last")
    object_winners = ordered.drop_duplicates(subset=[object_column], keep="first")
    removed_objects = len(frame) - len(object_winners)
    ordered = object_winners.sort_values(
        [key_column, MATCH_DISTANCE_COLUMN, object_column], kind="mergesort"
    )
    winners = ordered.drop_duplicates(subset=[key_column], keep="first")
    removed_specz = len(object_winners) - len(winners)
    keep = np.zeros(len(frame), dtype=bool)
    keep[winners.index.to_numpy()] = True
    return keep, {
        "removed_duplicate_objects": int(removed_objects),
        "removed_duplicate_specz": int(removed_specz),
    }
