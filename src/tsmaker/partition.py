"""The per-partition step, run inside the Dask graph on the workers.

Ranking, E(B-V), photometry, the train/test flag, the documented sort and plain dtypes:
everything that turns one partition of LSDB matches into rows of the product.
"""

from dataclasses import dataclass
from typing import Any

SPLIT_COLUMN = "is_training"


EBV_COLUMN = "ebv"


@dataclass(frozen=True)
class PartitionRecipe:
    """What the per-partition step does; shipped to the Dask workers."""

    key_column: str
    object_id_column: str | None
    object_ra_column: str
    object_dec_column: str
    flux_type: str | None
    bands: tuple[str, ...]
    magnitudes: bool
    zero_point: float
    dust: str
    dust_location: Any
    extinction_coeffs: dict[str, float]
    split_fraction: float | None
    seed: int
    column_order: tuple[str, ...] = ()
    redshift_dtypes: tuple[tuple[str, str], ...] = ()
    """The redshift columns' dtypes in the file, restored after LSDB's Arrow types."""


def finish_partition(frame: Any, recipe: PartitionRecipe, keep_index: bool = False) -> Any:
    """Rank, deredden, add magnitudes, flag the split, sort: one partition of matches.

    The work is done on numpy arrays: one sort gives both the documented row order and
    the ranks, each column is converted from LSDB's Arrow types once, and one DataFrame
    is built at the end. Returns the rows in the documented order with a plain index
    (or the spec-z ``_healpix_29`` index with ``keep_index``, for HATS output).
    """
    import numpy as np
    import pandas as pd

    from tsmaker.compile_cache import register_cheap_sizeof
    from tsmaker.crossmatch import (
        HEALPIX_COLUMN,
        LSDB_DISTANCE_COLUMN,
        MATCH_DISTANCE_COLUMN,
        MATCH_RANK_COLUMN,
        match_order,
    )
    from tsmaker.photometry import add_photometry
    from tsmaker.split import training_flags

    register_cheap_sizeof()  # on a Dask worker, for the partitions that follow
    if frame.index.name == HEALPIX_COLUMN:
        healpix = np.asarray(frame.index.to_numpy(), dtype=np.int64)
    else:
        healpix = np.zeros(len(frame), dtype=np.int64)
    distance = frame[LSDB_DISTANCE_COLUMN].to_numpy(dtype=np.float64)
    object_ids = frame[recipe.object_id_column] if recipe.object_id_column else None
    order, rank = match_order(healpix, frame[recipe.key_column], distance, object_ids)
    known = dict(recipe.redshift_dtypes)
    columns: dict[str, Any] = {
        name: _plain_column(frame[name], known.get(name), order)
        for name in frame.columns
        if name != LSDB_DISTANCE_COLUMN
    }
    columns[MATCH_DISTANCE_COLUMN] = distance[order]
    columns[MATCH_RANK_COLUMN] = rank
    ebv = None
    if recipe.dust == "catalog":
        ebv = np.asarray(columns[EBV_COLUMN], dtype=np.float64)
    elif recipe.dust != "none":
        from tsmaker.dust import ebv_at

        ebv = ebv_at(
            recipe.dust,
            np.asarray(columns[recipe.object_ra_column], dtype=np.float64),
            np.asarray(columns[recipe.object_dec_column], dtype=np.float64),
            recipe.dust_location,
        )
        columns[EBV_COLUMN] = ebv
    if recipe.flux_type is not None:
        add_photometry(
            columns,
            flux_type=recipe.flux_type,
            bands=recipe.bands,
            magnitudes=recipe.magnitudes,
            zero_point=recipe.zero_point,
            ebv=ebv,
            extinction_coeffs=recipe.extinction_coeffs,
        )
    if recipe.split_fraction is not None:
        columns[SPLIT_COLUMN] = training_flags(
            columns[recipe.key_column], recipe.split_fraction, recipe.seed
        )
    names = [c for c in recipe.column_order if c in columns] if recipe.column_order else list(
        columns
    )
    result = pd.DataFrame({name: columns[name] for name in names})
    if keep_index:
        result.index = pd.Index(healpix[order], name=HEALPIX_COLUMN)
    return result


def _plain_column(series: Any, known_dtype: str | None, order: Any) -> Any:
    """One column in row ``order`` with the dtype users get from pandas, not Arrow's.

    Redshift columns get back their dtype in the input file; other Arrow columns become
    numpy floats/ints/bools (object columns are never missing in a match) or ``str``.
    Every partition therefore has the same dtypes, whatever its values.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if known_dtype is not None:
        try:
            numpy_dtype = np.dtype(known_dtype)
        except TypeError:
            return series.take(order).astype(known_dtype).array
        na_value = np.nan if numpy_dtype.kind == "f" else pd.NA
        return series.to_numpy(dtype=numpy_dtype, na_value=na_value)[order]
    dtype = series.dtype
    if not isinstance(dtype, pd.ArrowDtype):
        return series.to_numpy()[order]
    arrow_type = dtype.pyarrow_dtype
    if pa.types.is_floating(arrow_type):
        return series.to_numpy(dtype=arrow_type.to_pandas_dtype(), na_value=np.nan)[order]
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        if not series.array._pa_array.null_count:
            return series.to_numpy(dtype=arrow_type.to_pandas_dtype())[order]
        nullable = "Int64" if pa.types.is_integer(arrow_type) else "boolean"
        return series.take(order).astype(nullable).array
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return series.take(order).astype("str").array
    return series.take(order).array
