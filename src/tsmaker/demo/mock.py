"""Deterministic mock Object catalogs shaped like Rubin DP1, for the demo, tests and benchmarks.

:func:`mock_object_frame` builds an Object table with the real DP1 column names and
dtypes, realistic fluxes (nJy) and clustered positions around the real DP1 field
centres. :func:`tsmaker.demo.mock_specz.mock_specz_frame` draws a spectroscopic-redshift
catalog around it; :func:`tsmaker.demo.mock_hats.write_object_collection` writes it as a
HATS collection with a margin cache, laid out like DP1's.

Everything is vectorised numpy so that tens of millions of rows take seconds, and the
same ``seed`` always gives the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tsmaker.columns import band_columns
from tsmaker.demo.mock_photometry import FLUX_TYPE_MODELS, draw_photometry
from tsmaker.demo.mock_sky import (
    ARCSEC_PER_DEG,
    DP1_FIELDS,
    add_close_companions,
    dust_ebv,
    field_positions,
    tract_patch,
)
from tsmaker.inputs.profiles import BANDS

if TYPE_CHECKING:
    import pandas as pd


# dtypes of the DP1 Object table (object_lc/_common_metadata of the DP1 HATS collection):
# every {band}_{type}Flux / FluxErr is float32 (nJy) and every flag is bool.
DP1_SCALAR_DTYPES: dict[str, str] = {
    "objectId": "int64",
    "coord_ra": "float64",
    "coord_dec": "float64",
    "ebv": "float32",
    "tract": "int64",
    "patch": "int64",
    "refExtendedness": "float32",
    "coord_raErr": "float32",
    "coord_decErr": "float32",
    "parentObjectId": "int64",
    "footprintArea": "int32",
    "detect_isIsolated": "bool",
    "detect_fromBlend": "bool",
}
"""dtypes of the non-per-band DP1 Object columns the mock can write."""

FLUX_DTYPE = "float32"
FLAG_DTYPE = "bool"

_BASE_SCALAR_COLUMNS = (
    "objectId",
    "coord_ra",
    "coord_dec",
    "ebv",
    "tract",
    "patch",
    "refExtendedness",
)
# Extra flux types and columns for ``extra_columns=True`` (benchmark realism, ~100 columns).
_EXTRA_FLUX_TYPES = ("kron", "gaap3p0", "sersic")
_EXTRA_SCALAR_COLUMNS = (
    "coord_raErr",
    "coord_decErr",
    "parentObjectId",
    "footprintArea",
    "detect_isIsolated",
    "detect_fromBlend",
)

_OBJECT_ID_BASE = 592_000_000_000_000_000
_OBJECTS_PER_FIELD_ID_BLOCK = 10**12
def mock_object_dtypes(
    flux_types: Sequence[str] = ("cModel", "gaap1p0", "psf"), *, extra_columns: bool = False
) -> dict[str, str]:
    """Columns and numpy dtypes that :func:`mock_object_frame` produces, in order.

    Parameters
    ----------
    flux_types : sequence of str
        DP1 flux types (keys of :data:`FLUX_TYPE_MODELS`).
    extra_columns : bool
        Whether the benchmark-only extra columns are included.

    Returns
    -------
    dict of str to str
        Column name to numpy dtype name, identical to the real DP1 schema's types.
    """
    dtypes = {name: DP1_SCALAR_DTYPES[name] for name in _BASE_SCALAR_COLUMNS}
    all_types = _all_flux_types(flux_types, extra_columns)
    for flux_type in all_types:
        for band in BANDS:
            names = band_columns(flux_type, band)
            dtypes[names.flux] = FLUX_DTYPE
            dtypes[names.flux_err] = FLUX_DTYPE
    if extra_columns:
        for flag in _flag_columns(all_types):
            dtypes[flag] = FLAG_DTYPE
        for name in _EXTRA_SCALAR_COLUMNS:
            dtypes[name] = DP1_SCALAR_DTYPES[name]
    return dtypes


def _all_flux_types(flux_types: Sequence[str], extra_columns: bool) -> list[str]:
    unknown = [name for name in flux_types if name not in FLUX_TYPE_MODELS]
    if unknown:
        raise ValueError(
            f"Unknown DP1 flux type(s) {unknown}; choose from {sorted(FLUX_TYPE_MODELS)}."
        )
    all_types = list(dict.fromkeys(flux_types))
    if extra_columns:
        all_types += [name for name in _EXTRA_FLUX_TYPES if name not in all_types]
    return all_types


def _flag_columns(flux_types: Sequence[str]) -> list[str]:
    """Distinct per-band flag columns of the flux types (GAaP types share one flag)."""
    flags: dict[str, None] = {}
    for flux_type in flux_types:
        template = FLUX_TYPE_MODELS[flux_type].flag_template
        if template is not None:
            for band in BANDS:
                flags[template.format(band=band)] = None
    return list(flags)


# --------------------------------------------------------------------------- geometry


def mock_object_frame(
    n_rows: int,
    *,
    seed: int,
    fields: Mapping[str, tuple[float, float]] | None = None,
    field_radius_deg: float = 1.2,
    flux_types: Sequence[str] = ("cModel", "gaap1p0", "psf"),
    extra_columns: bool = False,
    companion_fraction: float = 0.04,
) -> pd.DataFrame:
    """A deterministic mock of the Rubin DP1 Object table.

    Columns carry the real DP1 names and dtypes: ``objectId`` (unique int64),
    ``coord_ra`` / ``coord_dec`` (float64, degrees), ``ebv`` (float32), ``tract``,
    ``patch``, ``refExtendedness`` and, for every flux type and band,
    ``{band}_{type}Flux`` / ``{band}_{type}FluxErr`` (float32, nJy). Fluxes follow
    realistic number counts, correlated colours and a sky-plus-Poisson error model, with
    a few percent of negative and missing (NaN) fluxes as in DP1.

    Parameters
    ----------
    n_rows : int
        Number of objects.
    seed : int
        Random seed; the same seed and arguments always give the same frame.
    fields : mapping of str to (float, float), optional
        Field name to centre (RA, Dec) in degrees; objects are split evenly between
        fields. Default: all of :data:`DP1_FIELDS`.
    field_radius_deg : float
        Radius of each (circular) field, degrees.
    flux_types : sequence of str
        DP1 flux types to generate (keys of :data:`FLUX_TYPE_MODELS`).
    extra_columns : bool
        Add more real DP1 columns (kron, gaap3p0 and sersic fluxes, per-band flags,
        astrometric errors, deblending columns), about 100 columns in all, for
        benchmarks.
    companion_fraction : float
        Share of objects placed 0.6-2 arcsec from another object (blends).

    Returns
    -------
    pandas.DataFrame
        One row per object, columns as in :func:`mock_object_dtypes`.

    Raises
    ------
    ValueError
        If ``n_rows`` is negative, no field is given or a flux type is unknown.
    """
    if n_rows < 0:
        raise ValueError(f"n_rows must be zero or more, got {n_rows}.")
    fields = dict(DP1_FIELDS if fields is None else fields)
    if not fields:
        raise ValueError("fields is empty; give at least one field centre (RA, Dec) in deg.")
    _all_flux_types(flux_types, extra_columns)  # unknown types refused before any work
    rng = np.random.default_rng(seed)

    per_field = rng.multinomial(n_rows, np.full(len(fields), 1.0 / len(fields)))
    ra_parts, dec_parts, id_parts = [], [], []
    for field_index, (centre, n_field) in enumerate(zip(fields.values(), per_field, strict=True)):
        ra_field, dec_field = field_positions(rng, int(n_field), centre, field_radius_deg)
        ra_parts.append(ra_field)
        dec_parts.append(dec_field)
        id_parts.append(
            _OBJECT_ID_BASE
            + field_index * _OBJECTS_PER_FIELD_ID_BLOCK
            + np.arange(n_field, dtype=np.int64)
        )
    ra_deg = np.concatenate(ra_parts) if ra_parts else np.empty(0)
    dec_deg = np.concatenate(dec_parts) if dec_parts else np.empty(0)
    add_close_companions(rng, ra_deg, dec_deg, companion_fraction)
    object_ids = np.concatenate(id_parts).astype(np.int64) if id_parts else np.empty(0, np.int64)
    return _object_frame(rng, ra_deg, dec_deg, object_ids, flux_types, extra_columns)


def mock_object_frame_at(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    object_ids: np.ndarray,
    *,
    seed: int,
    flux_types: Sequence[str] = ("cModel", "gaap1p0", "psf"),
    extra_columns: bool = False,
) -> pd.DataFrame:
    """A mock DP1 Object table at given positions and ids (no positions are drawn).

    The columns, dtypes and photometric model are those of :func:`mock_object_frame`;
    this is for callers that lay objects out themselves (e.g. inside given HEALPix
    partitions, as the benchmark does).

    Parameters
    ----------
    ra_deg, dec_deg : numpy.ndarray
        Positions in degrees.
    object_ids : numpy.ndarray
        ``objectId`` of each row (int64, unique).
    seed : int
        Random seed of the photometry.
    flux_types : sequence of str
        DP1 flux types to generate.
    extra_columns : bool
        Add the benchmark's extra DP1 columns (about 100 columns in all).

    Returns
    -------
    pandas.DataFrame
        One row per position, columns as in :func:`mock_object_dtypes`.

    Examples
    --------
    >>> frame = mock_object_frame_at(np.array([53.1, 53.2]), np.array([-28.1, -28.0]),
    ...                              np.array([7, 8]), seed=1)
    >>> frame["objectId"].tolist(), frame.shape
    ([7, 8], (2, 43))
    """
    rng = np.random.default_rng(seed)
    return _object_frame(
        rng,
        np.asarray(ra_deg, dtype=np.float64),
        np.asarray(dec_deg, dtype=np.float64),
        np.asarray(object_ids, dtype=np.int64),
        flux_types,
        extra_columns,
    )


def _object_frame(
    rng: np.random.Generator,
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    object_ids: np.ndarray,
    flux_types: Sequence[str],
    extra_columns: bool,
) -> pd.DataFrame:
    """Every Object column at the given positions, drawing photometry from ``rng``."""
    import pandas as pd

    all_types = _all_flux_types(flux_types, extra_columns)
    n_rows = len(ra_deg)
    tract, patch = tract_patch(ra_deg, dec_deg)

    columns: dict[str, np.ndarray] = {
        "objectId": object_ids,
        "coord_ra": ra_deg,
        "coord_dec": dec_deg,
        "ebv": dust_ebv(ra_deg, dec_deg),
        "tract": tract,
        "patch": patch,
    }

    drawn = draw_photometry(rng, n_rows, all_types)
    columns.update(drawn.columns)
    r_mag, size, missing_band = drawn.r_mag, drawn.size, drawn.missing_band

    if extra_columns:
        for flag in _flag_columns(all_types):
            band = flag[0]
            # Flagged where the band is missing, plus a small rate of other failures.
            columns[flag] = missing_band[band] | (rng.random(n_rows) < 0.02)
        position_error_deg = np.float32(0.02 / ARCSEC_PER_DEG) * np.power(
            np.float32(10.0), np.float32(0.2) * (r_mag - 20.0)
        )
        columns["coord_raErr"] = position_error_deg.astype(np.float32)
        columns["coord_decErr"] = (
            position_error_deg * rng.uniform(0.9, 1.1, n_rows).astype(np.float32)
        ).astype(np.float32)
        from_blend = rng.random(n_rows) < 0.3
        columns["parentObjectId"] = np.where(from_blend, columns["objectId"] + 10**11, 0).astype(
            np.int64
        )
        columns["footprintArea"] = (30 + 400 * size + rng.integers(0, 40, n_rows)).astype(np.int32)
        columns["detect_isIsolated"] = ~from_blend
        columns["detect_fromBlend"] = from_blend

    dtypes = mock_object_dtypes(flux_types, extra_columns=extra_columns)
    return pd.DataFrame(
        {name: columns[name].astype(dtype, copy=False) for name, dtype in dtypes.items()},
        copy=False,
    )
