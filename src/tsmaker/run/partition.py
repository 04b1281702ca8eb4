"""The per-partition step, run on a thread or a Dask worker.

Read the object partition and its margin, match, then rank, E(B-V), photometry, the
train/test flag, the documented sort and plain dtypes: everything that turns one
object partition and the spec-z inside it into rows of the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsmaker.columns import (
    EBV_COLUMN,
    HEALPIX_COLUMN,
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    RAIL_DEFAULT_LIMIT_MAGS,
    RAIL_NONDETECTION_MAG,
    SPLIT_COLUMN,
    band_columns,
    magnitude_columns,
)
from tsmaker.science.dust import DustSource

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from pandas.api.extensions import ExtensionArray

    from tsmaker.matching.crossmatch import PixelMatcher, PixelMatches, PixelMatchGroup
    from tsmaker.science.representativeness import SampleCounts

    # One column of finished rows: a numpy array, or a pandas extension array (nullable
    # ints and bools, strings, Arrow-backed lists and structs).
    _Column = np.ndarray | ExtensionArray

PartitionResult = tuple[
    "pd.DataFrame", tuple[tuple[int, int], ...], "SampleCounts | None"
]
"""Finished rows, the partitions (order, pixel) they come from, in sky order, and the
counts of the photometric sample drawn from those partitions (None when none is drawn)."""


@dataclass(frozen=True)
class PartitionRecipe:
    """What the per-partition step does; shipped to the Dask workers."""

    key_column: str
    """The spec-z key: the id column, else ``specz_row``."""
    object_id_column: str | None
    """Breaks ties in distance; None when the catalog has no id column."""
    object_ra_column: str
    object_dec_column: str
    flux_type: str | None
    """None when the catalog has no fluxes (photometry skipped)."""
    bands: tuple[str, ...]
    magnitudes: bool
    zero_point: float
    dust: DustSource
    """The E(B-V) source, validated."""
    extinction_coeffs: dict[str, float]
    split_fraction: float | None
    seed: int
    column_order: tuple[str, ...] = ()
    """The product's columns, in order."""
    naming: str = "rubin"
    """``rail``: magnitudes named ``mag_{band}_lsst``, non-detections written as 99."""
    sample_rate: float = 0.0
    """Share of the objects read drawn into the photometric sample (0: none drawn); by
    object id, else (a catalog without ids) by the bits of the RA."""


def match_and_finish(
    pixel_matches: PixelMatchGroup, matcher: PixelMatcher, recipe: PartitionRecipe,
    keep_index: bool = False,
) -> list[PartitionResult]:
    """Match partitions (:func:`tsmaker.matching.crossmatch.match_pixels`) and finish their rows.

    ``pixel_matches`` is a :class:`tsmaker.matching.crossmatch.PixelMatchGroup` (or any sequence
    of :class:`tsmaker.matching.crossmatch.PixelMatch`): one task handles a few neighbouring
    partitions, so that the cost of scheduling a task (a few ms on a Dask cluster) is
    small next to its work. The result is a list of (finished frame, the partitions
    in it), in the order given: one frame for the whole task, or with ``keep_index``
    (HATS output, written partition by partition) one per partition.
    One frame per task is measured, pickled and sent by Dask once instead of once per
    partition.
    """
    import pandas as pd

    from tsmaker.matching.crossmatch import match_pixels

    pixels = tuple((pixel_match.order, pixel_match.pixel) for pixel_match in pixel_matches)
    if keep_index:
        return [
            (finish_partition(matches, recipe, keep_index=True), (pixel,),
             photometric_counts([photometric_sample(matches.partition_objects, recipe)],
                                recipe))
            for matches, pixel in zip(match_pixels(pixel_matches, matcher), pixels, strict=True)
        ]
    # The partitions' columns are joined before a DataFrame is built: one DataFrame per
    # task, not one per partition and a concat (a third of a task's time in pandas).
    finished = []
    samples = []
    for matches in match_pixels(pixel_matches, matcher):
        finished.append(finish_columns(matches, recipe)[0])
        samples.append(photometric_sample(matches.partition_objects, recipe))
    columns = {name: _concat_column([part[name] for part in finished]) for name in finished[0]}
    return [(pd.DataFrame(columns, copy=False), pixels, photometric_counts(samples, recipe))]


def photometric_sample(
    objects: pa.Table | None, recipe: PartitionRecipe
) -> tuple[pa.ChunkedArray, pa.Table] | None:
    """What the photometric sample needs of one partition's objects (no copy).

    The objects are the partition's own, as read for the match (its margin's belong to
    other partitions), so no object is read for the sample and none is counted twice.
    Returns the key the sample is drawn by (the object id, else the RA) and the fluxes
    with what E(B-V) needs.
    """
    if objects is None or recipe.sample_rate <= 0 or recipe.flux_type is None:
        return None
    key = objects.column(recipe.object_id_column or recipe.object_ra_column)
    needed = [band_columns(recipe.flux_type, band).flux for band in recipe.bands]
    if recipe.dust.reads_catalog_ebv:
        needed.append(EBV_COLUMN)
    elif recipe.dust.adds_ebv_column:
        needed += [recipe.object_ra_column, recipe.object_dec_column]
    return key, objects.select(needed)


def photometric_counts(
    samples: list[tuple[pa.ChunkedArray, pa.Table] | None], recipe: PartitionRecipe
) -> SampleCounts | None:
    """The aggregates of the photometric sample drawn from a task's partitions.

    The sample is the objects whose key (the object id, else the bits of the RA)
    hashes below the run's rate (:func:`tsmaker.science.representativeness.sample_mask`).
    Drawn and counted once per task, not per partition: a partition holds a few thousand
    objects, and a few dozen numpy and Arrow calls on each would cost more in calls than
    in work. Magnitudes are the product's: the flux type, the zero point, dereddened
    when the run dereddens.
    """
    drawn = [sample for sample in samples if sample is not None]
    if not drawn or recipe.flux_type is None:
        return None
    import numpy as np
    import pyarrow as pa

    from tsmaker.science.photometry import band_magnitudes
    from tsmaker.science.representativeness import choose_grid, count_objects, sample_mask

    keys = np.concatenate([key.to_numpy() for key, _ in drawn])
    if keys.dtype.kind == "f":
        keys = keys.astype(np.float64)
    tables = [table for _, table in drawn]
    objects = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    sample = objects.take(np.flatnonzero(sample_mask(keys, recipe.sample_rate)))
    columns = {name: sample.column(name).to_numpy() for name in sample.column_names}
    magnitudes = band_magnitudes(
        columns, flux_type=recipe.flux_type, bands=recipe.bands, zero_point=recipe.zero_point,
        ebv=recipe.dust.ebv(columns, recipe.object_ra_column, recipe.object_dec_column),
        extinction_coeffs=recipe.extinction_coeffs,
    )
    return count_objects(magnitudes, recipe.bands, choose_grid(recipe.bands))


def training_counts(frame: pd.DataFrame, recipe: PartitionRecipe) -> SampleCounts | None:
    """The aggregates of the training galaxies in finished rows: each spec-z's nearest.

    Magnitudes are read from the product's columns (computed from its fluxes when the
    product holds fluxes only); RAIL's non-detection value counts as no magnitude.
    """
    if recipe.sample_rate <= 0 or recipe.flux_type is None:
        return None
    import numpy as np

    from tsmaker.science.photometry import flux_to_mag
    from tsmaker.science.representativeness import choose_grid, count_objects

    nearest = frame[MATCH_RANK_COLUMN].to_numpy() == 1
    magnitudes = {}
    for band in recipe.bands:
        if recipe.magnitudes:
            name = magnitude_columns(recipe.flux_type, band, dereddened=recipe.dust.dereddens,
                                     naming=recipe.naming)[0]
            values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)[nearest]
            if recipe.naming == "rail":
                values = np.where(values == RAIL_NONDETECTION_MAG, np.nan, values)
        else:
            names = band_columns(recipe.flux_type, band)
            name = names.dereddened_flux()[0] if recipe.dust.dereddens else names.flux
            flux = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)[nearest]
            values = flux_to_mag(flux, recipe.zero_point)
        magnitudes[band] = values
    return count_objects(magnitudes, recipe.bands, choose_grid(recipe.bands))


def _concat_column(pieces: list[_Column]) -> _Column:
    """One column of several partitions, as ``pandas.concat`` would join them."""
    import numpy as np
    import pandas as pd

    if len(pieces) == 1:
        return pieces[0]
    first = pieces[0]
    if isinstance(first, np.ndarray):
        if all(isinstance(p, np.ndarray) and p.dtype == first.dtype for p in pieces):
            return np.concatenate(pieces)
    elif all(type(p) is type(first) and p.dtype == first.dtype for p in pieces):
        return type(first)._concat_same_type(pieces)
    return pd.concat([pd.Series(p) for p in pieces], ignore_index=True).array


def finish_partition(
    matches: PixelMatches, recipe: PartitionRecipe, keep_index: bool = False
) -> pd.DataFrame:
    """Rank, deredden, add magnitudes, flag the split, sort: one partition of matches.

    ``matches`` is a :class:`tsmaker.matching.crossmatch.PixelMatches`. Returns the rows of
    :func:`finish_columns` as a DataFrame with a plain index (or the spec-z
    ``_healpix_29`` index with ``keep_index``, for HATS output).
    """
    import pandas as pd

    columns, healpix = finish_columns(matches, recipe)
    result = pd.DataFrame(columns, copy=False)
    if keep_index:
        result.index = pd.Index(healpix, name=HEALPIX_COLUMN)
    return result


def finish_columns(
    matches: PixelMatches, recipe: PartitionRecipe
) -> tuple[dict[str, _Column], np.ndarray]:
    """The finished columns of one partition's matches, and their spec-z HEALPix index.

    The work is done on numpy arrays: one sort gives both the documented row order and
    the ranks, the object rows are put in that order in Arrow and each column is
    converted once. The columns come in the product's order, their rows in the
    documented order.
    """
    import numpy as np

    from tsmaker.matching.ranking import match_order
    from tsmaker.science.photometry import add_photometry
    from tsmaker.science.split import training_flags

    redshift_rows = matches.redshift_rows
    object_rows = matches.object_rows
    healpix = np.asarray(redshift_rows.index.to_numpy(), dtype=np.int64)
    distance = np.asarray(matches.distance_arcsec, dtype=np.float64)
    object_ids = object_rows.column(recipe.object_id_column) if recipe.object_id_column else None
    order, rank = match_order(healpix, redshift_rows[recipe.key_column], distance, object_ids)
    columns: dict[str, _Column] = {
        name: _redshift_column(redshift_rows[name], order)
        for name in redshift_rows.columns
    }
    ordered_objects = object_rows.take(order)
    for name in ordered_objects.column_names:
        columns[name] = _object_column(ordered_objects.column(name))
    columns[MATCH_DISTANCE_COLUMN] = distance[order]
    columns[MATCH_RANK_COLUMN] = rank
    ebv = recipe.dust.ebv(columns, recipe.object_ra_column, recipe.object_dec_column)
    if recipe.dust.adds_ebv_column:
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
    if recipe.naming == "rail" and recipe.flux_type is not None and recipe.magnitudes:
        _rail_magnitudes(columns, recipe)
    names = [c for c in recipe.column_order if c in columns] if recipe.column_order else list(
        columns
    )
    return {name: columns[name] for name in names}, healpix[order]


def _rail_magnitudes(columns: dict[str, _Column], recipe: PartitionRecipe) -> None:
    """Rename the magnitudes as RAIL names them, non-detections as its ``nondetect_val``.

    A non-detection's error is its 1-sigma limiting magnitude, from the (dereddened)
    flux error (:func:`tsmaker.science.photometry.mark_nondetections`).
    """
    from tsmaker.science.photometry import mark_nondetections

    assert recipe.flux_type is not None
    dereddened = recipe.dust.dereddens
    for band in recipe.bands:
        names = band_columns(recipe.flux_type, band)
        rubin_mag, rubin_err = names.magnitude(dereddened=dereddened)
        flux_err = names.dereddened_flux()[1] if dereddened else names.flux_err
        rail_mag, rail_err = magnitude_columns(recipe.flux_type, band, dereddened=dereddened,
                                               naming="rail")
        columns[rail_mag], columns[rail_err] = mark_nondetections(
            columns.pop(rubin_mag), columns.pop(rubin_err), columns[flux_err],
            zero_point=recipe.zero_point, nondetection_mag=RAIL_NONDETECTION_MAG,
            fallback_limit_mag=RAIL_DEFAULT_LIMIT_MAGS.get(band, RAIL_NONDETECTION_MAG),
        )


def _redshift_column(series: pd.Series, order: np.ndarray) -> _Column:
    """A redshift column in row ``order``, keeping its dtype in the input file."""
    import numpy as np

    if isinstance(series.dtype, np.dtype):
        return series.to_numpy()[order]
    return series.array.take(order)


def _object_column(column: pa.ChunkedArray) -> _Column:
    """An Arrow object column as the dtype users get from pandas.

    Floats and ints/bools without nulls become numpy arrays; ints/bools with nulls
    become pandas' nullable ``Int64``/``boolean``; strings ``str``; anything else
    (lists, structs) stays Arrow-backed. The dtype depends on the column's type only
    (and for ints/bools on nulls, which object catalogs do not have in practice), so
    every partition has the same dtypes.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    arrow_type = column.type
    if pa.types.is_floating(arrow_type):
        return column.to_numpy().astype(arrow_type.to_pandas_dtype(), copy=False)
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        if not column.null_count:
            return np.asarray(column.to_numpy(), dtype=arrow_type.to_pandas_dtype())
        nullable = "Int64" if pa.types.is_integer(arrow_type) else "boolean"
        return column.to_pandas(types_mapper=pd.ArrowDtype).astype(nullable).array
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return column.to_pandas(types_mapper=pd.ArrowDtype).astype("str").array
    return column.to_pandas(types_mapper=pd.ArrowDtype).array
