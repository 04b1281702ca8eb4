"""The per-partition step, run inside the Dask graph on the workers.

Ranking, E(B-V), photometry, the train/test flag, the documented sort and plain dtypes:
everything that turns one partition of LSDB matches into rows of the product.
"""

from dataclasses import dataclass
from typing import Any

from tsmaker.crossmatch import rank_matches, sort_rows

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

    Returns a plain pandas DataFrame in the documented row order, index dropped (or
    kept as the spec-z ``_healpix_29`` index with ``keep_index``, for HATS output).
    """
    import numpy as np
    import pandas as pd

    from tsmaker.photometry import add_photometry
    from tsmaker.split import training_flags

    frame = pd.DataFrame(frame)
    frame = rank_matches(frame, recipe.key_column, recipe.object_id_column)
    ebv = None
    if recipe.dust == "catalog":
        ebv = frame[EBV_COLUMN].to_numpy(dtype=np.float64, na_value=np.nan)
    elif recipe.dust != "none":
        from tsmaker.dust import ebv_at

        ebv = ebv_at(
            recipe.dust,
            frame[recipe.object_ra_column].to_numpy(dtype=np.float64),
            frame[recipe.object_dec_column].to_numpy(dtype=np.float64),
            recipe.dust_location,
        )
        frame[EBV_COLUMN] = ebv
    if recipe.flux_type is not None:
        add_photometry(
            frame,
            flux_type=recipe.flux_type,
            bands=recipe.bands,
            magnitudes=recipe.magnitudes,
            zero_point=recipe.zero_point,
            ebv=ebv,
            extinction_coeffs=recipe.extinction_coeffs,
        )
    if recipe.split_fraction is not None:
        frame[SPLIT_COLUMN] = training_flags(
            frame[recipe.key_column], recipe.split_fraction, recipe.seed
        )
    frame = sort_rows(frame, recipe.key_column, keep_index=keep_index)
    if recipe.column_order:
        frame = frame[[c for c in recipe.column_order if c in frame.columns]]
    return numpy_dtypes(frame, dict(recipe.redshift_dtypes))


def numpy_dtypes(frame: Any, known: dict[str, str]) -> Any:
    """Replace LSDB's Arrow-backed dtypes by the plain ones users get from pandas.

    Redshift columns get back their dtype in the input file; other Arrow columns become
    numpy floats/ints/bools (object columns are never missing in a match), strings ``str``.
    Every partition therefore has the same dtypes, whatever its values.
    """
    import pandas as pd
    import pyarrow as pa

    converted = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if name in known:
            if str(dtype) != known[name]:
                converted[name] = known[name]
            continue
        if not isinstance(dtype, pd.ArrowDtype):
            continue
        arrow_type = dtype.pyarrow_dtype
        if pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type) or (
            pa.types.is_boolean(arrow_type)
        ):
            if pa.types.is_floating(arrow_type) or not frame[name].array._pa_array.null_count:
                converted[name] = arrow_type.to_pandas_dtype()
            else:
                converted[name] = "Int64" if pa.types.is_integer(arrow_type) else "boolean"
        elif pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            converted[name] = "str"
    if not converted:
        return frame
    result = frame.astype({k: v for k, v in converted.items()
                           if not _is_float_dtype(v)})
    for name, target in converted.items():
        if _is_float_dtype(target):
            result[name] = frame[name].to_numpy(dtype=target, na_value=float("nan"))
    return result


def _is_float_dtype(dtype: Any) -> bool:
    import numpy as np

    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return False
