"""LSDB crossmatch of a redshift catalog against an object catalog, ranking, de-duplication.

The redshift catalog is the left side, so every output row belongs to the partition
of its spec-z position; the object catalog (right) brings its margin cache, so a
spec-z near a partition edge still finds objects across it. The k nearest objects
within the radius are kept, each with ``match_distance_arcsec`` and ``match_rank``
(1 = nearest; ties in distance are broken by the object id).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tsmaker.errors import CatalogError, InputError

MATCH_DISTANCE_COLUMN = "match_distance_arcsec"
MATCH_RANK_COLUMN = "match_rank"
SPECZ_SUFFIX = "_specz"
HEALPIX_COLUMN = "_healpix_29"
LSDB_DISTANCE_COLUMN = "_dist_arcsec"


@dataclass(frozen=True)
class MatchParameters:
    """How spec-z are paired with objects."""

    radius_arcsec: float = 1.0
    """Largest angular separation of a match, in arcseconds."""
    n_neighbors: int = 1
    """Keep up to this many nearest objects per spec-z."""

    def validate(self, margin_threshold_arcsec: float | None, location: str) -> None:
        """Refuse values that cannot give a correct answer, before any data is read.

        A radius larger than the object catalog's margin would silently lose matches
        across partition edges, so it is refused.
        """
        if not self.radius_arcsec > 0:
            raise InputError(
                f"--radius {self.radius_arcsec} must be greater than 0 arcsec; "
                "use e.g. --radius 1.0"
            )
        if self.n_neighbors < 1:
            raise InputError(f"--neighbors {self.n_neighbors} must be at least 1")
        if margin_threshold_arcsec is None:
            raise CatalogError(
                f"object catalog {location!r} has no margin cache, so matches across "
                "partition edges would be lost; open a HATS collection with a margin, or "
                "build one with hats-import (margin_threshold >= your radius)"
            )
        if self.radius_arcsec > margin_threshold_arcsec:
            raise InputError(
                f"--radius {self.radius_arcsec} arcsec is larger than the object catalog's "
                f"margin ({margin_threshold_arcsec:g} arcsec), which would lose matches "
                f"across partition edges; use --radius <= {margin_threshold_arcsec:g} or "
                "build a wider margin with hats-import"
            )


def reserved_redshift_renames(
    redshift_columns: Sequence[str], taken_names: set[str]
) -> dict[str, str]:
    """Renames that give a redshift column the ``_specz`` suffix where its name is taken.

    ``taken_names`` holds the object columns read and the columns tsmaker adds.
    """
    renames = {}
    existing = set(redshift_columns)
    for name in redshift_columns:
        if name in taken_names:
            new_name = f"{name}{SPECZ_SUFFIX}"
            while new_name in existing or new_name in taken_names:
                new_name += SPECZ_SUFFIX
            renames[name] = new_name
    return renames


def match_catalogs(
    redshift_frame: Any,
    *,
    ra_column: str,
    dec_column: str,
    object_location: str,
    object_columns: list[str],
    row_filters: Sequence[tuple[str, str, Any]],
    parameters: MatchParameters,
) -> Any:
    """Build (lazily) the LSDB crossmatch of a redshift frame with an object catalog.

    Parameters
    ----------
    redshift_frame : pandas.DataFrame
        The cleaned redshift catalog (left side).
    ra_column, dec_column : str
        Its coordinate columns, in degrees.
    object_location : str
        Path or URL of the object HATS catalog or collection.
    object_columns : list of str
        The only object columns read.
    row_filters : sequence of (column, op, value)
        Parquet filters pushed down to the object catalog reader.
    parameters : MatchParameters
        Radius and number of neighbours.

    Returns
    -------
    lsdb.Catalog or None
        The lazy crossmatch, or None when the two catalogs do not overlap on the sky.
    """
    import lsdb

    from tsmaker.compile_cache import enable_numba_caching, register_cheap_sizeof

    enable_numba_caching()
    register_cheap_sizeof()
    redshift_catalog = lsdb.from_dataframe(
        redshift_frame,
        ra_column=ra_column,
        dec_column=dec_column,
        margin_threshold=None,
        catalog_name="specz",
        # numpy columns: LSDB's per-partition row takes are faster than on Arrow ones.
        use_pyarrow_types=False,
    )
    object_catalog = lsdb.open_catalog(
        object_location,
        columns=object_columns,
        filters=list(row_filters) or None,
    )
    try:
        return redshift_catalog.crossmatch(
            object_catalog,
            n_neighbors=parameters.n_neighbors,
            radius_arcsec=parameters.radius_arcsec,
            suffixes=(SPECZ_SUFFIX, ""),
            suffix_method="overlapping_columns",
            log_changes=False,
            require_right_margin=True,
        )
    except (ValueError, RuntimeError) as error:
        if "do not overlap" in str(error).lower():
            return None
        raise


def match_order(healpix: Any, keys: Any, distance_arcsec: Any, object_ids: Any = None) -> Any:
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


def _sortable(values: Any) -> Any:
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
    pairs: Any,
    *,
    key_column: str,
    object_column: str,
    flag_column: str | None = None,
    z_err_column: str | None = None,
    higher_flag_is_better: bool = True,
) -> tuple[Any, dict[str, int]]:
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
