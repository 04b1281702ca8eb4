"""Deterministic mock catalogs shaped like Rubin DP1, for the demo, the tests and benchmarks.

:func:`mock_object_frame` builds an Object table with the real DP1 column names and
dtypes, realistic fluxes (nJy) and clustered positions around the real DP1 field
centres; :func:`mock_specz_frame` draws a spectroscopic-redshift catalog around it with
a known share of clean matches, blends and rows without any counterpart;
:func:`write_object_collection` writes the objects as a HATS collection with a margin
cache, laid out like DP1's ``object_lc`` + ``object_lc_5arcs``.

Everything is vectorised numpy so that tens of millions of rows take seconds, and the
same ``seed`` always gives the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BANDS: tuple[str, ...] = ("u", "g", "r", "i", "z", "y")
"""The six LSST bands, in wavelength order."""

AB_ZEROPOINT_NJY_MAG = 31.4
"""AB magnitude of a 1 nJy source: ``mag = -2.5 log10(flux_njy) + 31.4``."""

DP1_FIELDS: dict[str, tuple[float, float]] = {
    "ECDFS": (53.13, -28.10),
    "EDFS": (59.10, -48.73),
    "Rubin_SV_95_-25": (95.00, -25.00),
    "Fornax_dSph": (40.00, -34.45),
    "47_Tuc": (6.02, -72.08),
    "Seagull": (106.30, -10.51),
    "Rubin_SV_38_7": (37.86, 6.98),
}
"""Centres (RA, Dec in degrees) of the seven Rubin DP1 fields."""


class _FluxTypeModel(NamedTuple):
    """How one DP1 flux type differs from the total (cModel) flux of an object."""

    point_offset_mag: float
    """Magnitude lost by a point source (aperture smaller than the PSF)."""
    size_offset_mag: float
    """Extra magnitude lost per unit of galaxy size (0 for total-flux measurements)."""
    error_scale: float
    """Flux error relative to the cModel error of the same object."""
    flag_template: str | None
    """Real DP1 name of the per-band failure flag, ``{band}`` filled in; None if none."""


# Offsets and error ratios follow the usual ordering of DP1 photometry (PSF and small
# GAaP apertures are fainter and less noisy for galaxies, big apertures the opposite).
FLUX_TYPE_MODELS: dict[str, _FluxTypeModel] = {
    "cModel": _FluxTypeModel(0.0, 0.0, 1.00, "{band}_cModel_flag"),
    "free_cModel": _FluxTypeModel(0.0, 0.02, 1.05, "{band}_free_cModelFlux_flag"),
    "psf": _FluxTypeModel(0.0, 1.00, 0.70, "{band}_psfFlux_flag"),
    "free_psf": _FluxTypeModel(0.0, 1.00, 0.72, "{band}_free_psfFlux_flag"),
    "gaapPsf": _FluxTypeModel(0.05, 0.90, 0.70, "{band}_gaapFlux_flag"),
    "gaap0p7": _FluxTypeModel(0.10, 0.80, 0.62, "{band}_gaapFlux_flag"),
    "gaap1p0": _FluxTypeModel(0.04, 0.60, 0.75, "{band}_gaapFlux_flag"),
    "gaap1p5": _FluxTypeModel(0.02, 0.40, 0.95, "{band}_gaapFlux_flag"),
    "gaap2p5": _FluxTypeModel(0.01, 0.20, 1.30, "{band}_gaapFlux_flag"),
    "gaap3p0": _FluxTypeModel(0.0, 0.15, 1.50, "{band}_gaapFlux_flag"),
    "gaapOptimal": _FluxTypeModel(0.03, 0.50, 0.80, "{band}_gaapFlux_flag"),
    "kron": _FluxTypeModel(0.02, 0.08, 1.40, "{band}_kronFlux_flag"),
    "sersic": _FluxTypeModel(0.0, 0.0, 1.00, None),
    "calib": _FluxTypeModel(0.02, 0.35, 1.10, "{band}_calibFlux_flag"),
    "ap03": _FluxTypeModel(1.00, 1.80, 0.30, "{band}_ap03Flux_flag"),
    "ap06": _FluxTypeModel(0.30, 1.20, 0.55, "{band}_ap06Flux_flag"),
    "ap09": _FluxTypeModel(0.10, 0.70, 0.80, "{band}_ap09Flux_flag"),
    "ap12": _FluxTypeModel(0.04, 0.35, 1.05, "{band}_ap12Flux_flag"),
    "ap17": _FluxTypeModel(0.02, 0.20, 1.50, "{band}_ap17Flux_flag"),
    "ap25": _FluxTypeModel(0.01, 0.10, 2.20, "{band}_ap25Flux_flag"),
    "ap35": _FluxTypeModel(0.0, 0.05, 3.10, "{band}_ap35Flux_flag"),
    "ap50": _FluxTypeModel(0.0, 0.02, 4.40, "{band}_ap50Flux_flag"),
    "ap70": _FluxTypeModel(0.0, 0.0, 6.20, "{band}_ap70Flux_flag"),
}
"""Every per-band flux type of the DP1 Object table that the mock can generate."""

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

# Per-band photometric model, calibrated on 1,000 real DP1 Objects (cModel): median
# flux error in nJy for a faint source, and the share of objects without a measurement.
_SKY_ERROR_NJY = {"u": 115.0, "g": 52.0, "r": 71.0, "i": 95.0, "z": 320.0, "y": 500.0}
_MISSING_FRACTION = {"u": 0.10, "g": 0.04, "r": 0.035, "i": 0.04, "z": 0.08, "y": 0.12}
_TYPE_FAILURE_FRACTION = 0.01
# Poisson term of the error: error**2 = sky**2 + gain * flux, all in nJy.
_POISSON_GAIN_NJY = 0.6
# Colours as (constant, slope with the latent redness t in [0, 1], scatter), in mag.
_COLOUR_MODEL = {
    ("u", "g"): (0.30, 1.20, 0.25),
    ("g", "r"): (0.10, 0.90, 0.10),
    ("r", "i"): (0.10, 0.55, 0.08),
    ("i", "z"): (0.05, 0.40, 0.08),
    ("z", "y"): (0.02, 0.20, 0.08),
}
# r-band number counts: dN/dm ~ 10**(slope m) between the limits, plus a faint tail of
# forced measurements (the source of most negative fluxes).
_COUNT_SLOPE_PER_MAG = 0.33
_BRIGHT_LIMIT_MAG = 15.5
_FAINT_LIMIT_MAG = 25.4
_FAINT_TAIL_FRACTION = 0.10
_FAINT_TAIL_RANGE_MAG = (25.4, 29.0)

_OBJECT_ID_BASE = 592_000_000_000_000_000
_OBJECTS_PER_FIELD_ID_BLOCK = 10**12
_ARCSEC_PER_DEG = 3600.0
# ICRS direction of the north Galactic pole, for the dust model.
_NGP_RA_DEG = 192.85948
_NGP_DEC_DEG = 27.12825
# Pseudo tract/patch grid: rings of equal declination, tracts of ~1.75 deg, 10x10 patches.
_TRACT_SIZE_DEG = 1.75
_PATCHES_PER_SIDE = 10


def flux_column(band: str, flux_type: str) -> str:
    """DP1 name of a flux column, e.g. ``flux_column("r", "cModel") == "r_cModelFlux"``."""
    return f"{band}_{flux_type}Flux"


def flux_error_column(band: str, flux_type: str) -> str:
    """DP1 name of a flux-error column, e.g. ``"r_cModelFluxErr"``."""
    return f"{band}_{flux_type}FluxErr"


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
            dtypes[flux_column(band, flux_type)] = FLUX_DTYPE
            dtypes[flux_error_column(band, flux_type)] = FLUX_DTYPE
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


def offset_by(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    separation_deg: np.ndarray,
    position_angle_rad: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by an angular separation along a position angle, on the sphere.

    Exact spherical trigonometry, so it is right near the poles and across RA 0.

    Parameters
    ----------
    ra_deg, dec_deg : numpy.ndarray
        Starting positions, degrees.
    separation_deg : numpy.ndarray
        Great-circle distance to move, degrees.
    position_angle_rad : numpy.ndarray
        Direction, radians east of north.

    Returns
    -------
    tuple of numpy.ndarray
        New RA in ``[0, 360)`` and Dec in ``[-90, 90]``, degrees.
    """
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    sep = np.radians(separation_deg)
    sin_dec, cos_dec = np.sin(dec), np.cos(dec)
    sin_sep, cos_sep = np.sin(sep), np.cos(sep)
    new_sin_dec = np.clip(
        sin_dec * cos_sep + cos_dec * sin_sep * np.cos(position_angle_rad), -1.0, 1.0
    )
    new_dec = np.arcsin(new_sin_dec)
    delta_ra = np.arctan2(
        np.sin(position_angle_rad) * sin_sep * cos_dec, cos_sep - sin_dec * new_sin_dec
    )
    new_ra_deg = np.degrees(ra + delta_ra) % 360.0
    # `%` can return exactly 360.0 for tiny negative inputs.
    new_ra_deg = np.where(new_ra_deg >= 360.0, 0.0, new_ra_deg)
    return new_ra_deg, np.degrees(new_dec)


def _unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    cos_dec = np.cos(dec)
    return np.column_stack((cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)))


def _chord(separation_arcsec: float) -> float:
    """Chord length on the unit sphere for an angular separation."""
    return 2.0 * np.sin(np.radians(separation_arcsec / _ARCSEC_PER_DEG) / 2.0)


def _sample_cap(
    rng: np.random.Generator, n: int, ra_deg: float, dec_deg: float, radius_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in area inside a spherical cap."""
    cos_radius = np.cos(np.radians(radius_deg))
    cos_sep = rng.uniform(cos_radius, 1.0, n)
    separation_deg = np.degrees(np.arccos(cos_sep))
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    return offset_by(np.full(n, ra_deg), np.full(n, dec_deg), separation_deg, angle)


def _field_positions(
    rng: np.random.Generator, n: int, centre: tuple[float, float], radius_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered positions in one field: a uniform disc plus Gaussian clumps."""
    n_clumped = int(0.35 * n)
    n_uniform = n - n_clumped
    ra_uniform, dec_uniform = _sample_cap(rng, n_uniform, *centre, radius_deg)
    n_clumps = max(1, n // 3000)
    clump_ra, clump_dec = _sample_cap(rng, n_clumps, *centre, 0.85 * radius_deg)
    clump_sigma_deg = rng.uniform(0.5, 3.0, n_clumps) / 60.0
    clump_weight = rng.lognormal(0.0, 0.7, n_clumps)
    members = rng.multinomial(n_clumped, clump_weight / clump_weight.sum())
    clump_index = np.repeat(np.arange(n_clumps), members)
    # Rayleigh radius = 2-D Gaussian offset of the given sigma per axis.
    radius = clump_sigma_deg[clump_index] * np.sqrt(-2.0 * np.log1p(-rng.random(n_clumped)))
    angle = rng.uniform(0.0, 2.0 * np.pi, n_clumped)
    ra_clumped, dec_clumped = offset_by(
        clump_ra[clump_index], clump_dec[clump_index], radius, angle
    )
    return (np.concatenate((ra_uniform, ra_clumped)), np.concatenate((dec_uniform, dec_clumped)))


def _add_close_companions(
    rng: np.random.Generator, ra_deg: np.ndarray, dec_deg: np.ndarray, fraction: float
) -> None:
    """Move a share of objects next to the previous row, 0.6-2 arcsec away (in place).

    This gives the deblended close pairs that make crossmatches ambiguous.
    """
    n = len(ra_deg)
    if n < 2 or fraction <= 0:
        return
    companion = rng.random(n) < fraction
    companion[0] = False
    # A host must not move itself, so drop companions that follow a companion.
    companion[1:] &= ~companion[:-1]
    index = np.flatnonzero(companion)
    separation_deg = rng.uniform(0.6, 2.0, len(index)) / _ARCSEC_PER_DEG
    angle = rng.uniform(0.0, 2.0 * np.pi, len(index))
    ra_deg[index], dec_deg[index] = offset_by(
        ra_deg[index - 1], dec_deg[index - 1], separation_deg, angle
    )


def _dust_ebv(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Smooth E(B-V): a cosecant law in Galactic latitude with patchy modulation."""
    pole = _unit_vectors(np.array([_NGP_RA_DEG]), np.array([_NGP_DEC_DEG]))[0]
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    cos_dec = np.cos(dec)
    sin_b = cos_dec * np.cos(ra) * pole[0] + cos_dec * np.sin(ra) * pole[1] + np.sin(dec) * pole[2]
    base = 0.012 / np.maximum(np.abs(sin_b), 0.02)
    # Cirrus-like structure on a ~1 degree scale.
    patchy = 1.0 + 0.3 * np.sin(ra * 23.0 + 1.3) * np.cos(dec * 31.0 + 0.4)
    return np.clip(base * patchy, 0.005, 0.3).astype(np.float32)


def _tract_patch(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo tract and patch numbers on a ring grid (not the real LSST sky map)."""
    n_rings = int(np.ceil(180.0 / _TRACT_SIZE_DEG))
    ring_centre = np.radians(-90.0 + (np.arange(n_rings) + 0.5) * _TRACT_SIZE_DEG)
    tracts_per_ring = np.maximum(1, np.floor(360.0 * np.cos(ring_centre) / _TRACT_SIZE_DEG)).astype(
        np.int64
    )
    ring_start = np.concatenate(([0], np.cumsum(tracts_per_ring)[:-1]))
    ring_position = np.clip((dec_deg + 90.0) / _TRACT_SIZE_DEG, 0.0, n_rings - 1e-9)
    ring = ring_position.astype(np.int64)
    ra_position = ra_deg / 360.0 * tracts_per_ring[ring]
    ra_index = np.minimum(ra_position.astype(np.int64), tracts_per_ring[ring] - 1)
    tract = ring_start[ring] + ra_index
    patch_x = np.minimum(
        ((ra_position - ra_index) * _PATCHES_PER_SIDE).astype(np.int64), _PATCHES_PER_SIDE - 1
    )
    patch_y = np.minimum(
        ((ring_position - ring) * _PATCHES_PER_SIDE).astype(np.int64), _PATCHES_PER_SIDE - 1
    )
    return tract, patch_y * _PATCHES_PER_SIDE + patch_x


# ------------------------------------------------------------------------ photometry


def _r_band_magnitudes(rng: np.random.Generator, n: int) -> np.ndarray:
    """True r magnitudes: power-law number counts plus a faint forced-photometry tail."""
    slope = _COUNT_SLOPE_PER_MAG * np.log(10.0)
    span = _FAINT_LIMIT_MAG - _BRIGHT_LIMIT_MAG
    uniform = rng.random(n)
    mag = (
        _FAINT_LIMIT_MAG
        + np.log(np.exp(-slope * span) + uniform * (1.0 - np.exp(-slope * span))) / slope
    )
    faint = rng.random(n) < _FAINT_TAIL_FRACTION
    mag[faint] = rng.uniform(*_FAINT_TAIL_RANGE_MAG, int(faint.sum()))
    return mag.astype(np.float32)


def _band_magnitudes(
    rng: np.random.Generator, r_mag: np.ndarray, is_star: np.ndarray
) -> dict[str, np.ndarray]:
    """True magnitudes in every band from r and correlated colours."""
    n = len(r_mag)
    redness = rng.beta(2.0, 2.0, n).astype(np.float32)
    # Stars follow a tighter, bluer-to-redder locus.
    redness[is_star] = rng.beta(1.2, 2.5, int(is_star.sum())).astype(np.float32)
    colour = {
        pair: (const + slope * redness + rng.standard_normal(n, dtype=np.float32) * scatter).astype(
            np.float32
        )
        for pair, (const, slope, scatter) in _COLOUR_MODEL.items()
    }
    mags = {"r": r_mag}
    mags["g"] = r_mag + colour[("g", "r")]
    mags["u"] = mags["g"] + colour[("u", "g")]
    mags["i"] = r_mag - colour[("r", "i")]
    mags["z"] = mags["i"] - colour[("i", "z")]
    mags["y"] = mags["z"] - colour[("z", "y")]
    return mags


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
        ra_field, dec_field = _field_positions(rng, int(n_field), centre, field_radius_deg)
        ra_parts.append(ra_field)
        dec_parts.append(dec_field)
        id_parts.append(
            _OBJECT_ID_BASE
            + field_index * _OBJECTS_PER_FIELD_ID_BLOCK
            + np.arange(n_field, dtype=np.int64)
        )
    ra_deg = np.concatenate(ra_parts) if ra_parts else np.empty(0)
    dec_deg = np.concatenate(dec_parts) if dec_parts else np.empty(0)
    _add_close_companions(rng, ra_deg, dec_deg, companion_fraction)
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
    tract, patch = _tract_patch(ra_deg, dec_deg)

    columns: dict[str, np.ndarray] = {
        "objectId": object_ids,
        "coord_ra": ra_deg,
        "coord_dec": dec_deg,
        "ebv": _dust_ebv(ra_deg, dec_deg),
        "tract": tract,
        "patch": patch,
    }

    r_mag = _r_band_magnitudes(rng, n_rows)
    # Bright objects are more often stars.
    star_probability = 0.12 + 0.4 / (1.0 + np.exp((r_mag - 21.0) / 1.0))
    is_star = rng.random(n_rows) < star_probability
    columns["refExtendedness"] = np.where(is_star, 0.0, 1.0).astype(np.float32)
    # Galaxy size in units of "magnitudes lost by a PSF measurement"; fainter is smaller.
    size = (
        rng.lognormal(np.log(0.7), 0.5, n_rows) * np.clip(1.0 - 0.08 * (r_mag - 20.0), 0.3, 1.5)
    ).astype(np.float32)
    size[is_star] = 0.0
    mags = _band_magnitudes(rng, r_mag, is_star)
    depth = rng.lognormal(0.0, 0.3, n_rows).astype(np.float32)
    missing_band = {
        band: rng.random(n_rows, dtype=np.float32) < _MISSING_FRACTION[band] for band in BANDS
    }

    ln10 = np.float32(np.log(10.0))
    band_flux = {
        band: np.exp(np.float32(-0.4) * ln10 * (mags[band] - np.float32(AB_ZEROPOINT_NJY_MAG)))
        for band in BANDS
    }
    for flux_type in all_types:
        model = FLUX_TYPE_MODELS[flux_type]
        offset = model.point_offset_mag + model.size_offset_mag * size
        type_factor = np.exp(np.float32(-0.4) * ln10 * offset).astype(np.float32)
        # Total-flux measurements of big galaxies are noisier.
        error_scale = (model.error_scale * depth * (1.0 + 0.3 * size)).astype(np.float32)
        for band in BANDS:
            true_flux = band_flux[band] * type_factor
            sky_error = np.float32(_SKY_ERROR_NJY[band]) * error_scale
            error = np.sqrt(sky_error * sky_error + np.float32(_POISSON_GAIN_NJY) * true_flux)
            flux = true_flux + error * rng.standard_normal(n_rows, dtype=np.float32)
            failed = missing_band[band] | (
                rng.random(n_rows, dtype=np.float32) < _TYPE_FAILURE_FRACTION
            )
            flux[failed] = np.nan
            error[failed] = np.nan
            columns[flux_column(band, flux_type)] = flux
            columns[flux_error_column(band, flux_type)] = error

    if extra_columns:
        for flag in _flag_columns(all_types):
            band = flag[0]
            # Flagged where the band is missing, plus a small rate of other failures.
            columns[flag] = missing_band[band] | (rng.random(n_rows) < 0.02)
        position_error_deg = np.float32(0.02 / _ARCSEC_PER_DEG) * np.power(
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


# ------------------------------------------------------------------- redshift catalog

SPECZ_SURVEYS: dict[str, float] = {
    "DESI": 0.45,
    "2dFLenS": 0.2,
    "OzDES": 0.2,
    "GAMA": 0.1,
    "VVDS": 0.05,
}
"""Survey names written in the mock ``survey`` column, with their share of rows."""

_SPECZ_FLAG_SHARE = {1: 0.04, 2: 0.08, 3: 0.23, 4: 0.65}
_BLEND_PAIR_MAX_ARCSEC = 2.0
UNMATCHED_MIN_SEPARATION_ARCSEC = 6.0
"""Rows without a counterpart have no object closer than this."""


def _redshift_for_magnitude(rng: np.random.Generator, r_mag: np.ndarray) -> np.ndarray:
    """Spectroscopic redshifts that grow with magnitude, plus a few QSOs."""
    median_z = 0.6 * 10.0 ** (0.2 * (np.clip(r_mag, 16.0, 25.0) - 22.0))
    z = median_z * rng.lognormal(0.0, 0.35, len(r_mag))
    quasar = rng.random(len(r_mag)) < 0.04
    z[quasar] = rng.uniform(0.5, 3.0, int(quasar.sum()))
    return np.clip(z, 0.01, 3.0)


def mock_specz_frame(
    objects: pd.DataFrame,
    *,
    n_rows: int,
    seed: int,
    matched_fraction: float = 0.8,
    offset_arcsec: float = 0.3,
    blend_fraction: float = 0.05,
    ra_column: str = "ra",
    dec_column: str = "dec",
    with_sentinels: bool = False,
) -> pd.DataFrame:
    """A deterministic spectroscopic-redshift catalog drawn around mock objects.

    Three kinds of rows, shuffled together:

    * clean matches: at a (preferentially bright) object, moved by a 2-D Gaussian of
      ``offset_arcsec`` per axis;
    * blends: at the midpoint of two objects at most 2 arcsec apart, moved the same way,
      so at least two objects lie within ~1.5 arcsec;
    * no counterpart: 8-60 arcsec from an object, with no object closer than
      :data:`UNMATCHED_MIN_SEPARATION_ARCSEC`.

    ``matched_fraction`` counts clean matches and blends; ``blend_fraction`` is the part
    of all rows that are blends.

    Parameters
    ----------
    objects : pandas.DataFrame
        Objects with ``coord_ra`` / ``coord_dec`` (degrees), e.g. from
        :func:`mock_object_frame`; ``r_cModelFlux`` (nJy), if present, favours bright
        objects and sets the redshift.
    n_rows : int
        Number of redshifts.
    seed : int
        Random seed.
    matched_fraction : float
        Share of rows with a counterpart, in ``[0, 1]``.
    offset_arcsec : float
        Gaussian scatter of matched positions per axis, arcsec.
    blend_fraction : float
        Share of rows placed between two close objects, at most ``matched_fraction``.
    ra_column, dec_column : str
        Names of the position columns written (degrees).
    with_sentinels : bool
        Replace about 2% of redshifts with -1 and 1% with 99 (missing-value codes that
        real catalogs use), with NaN errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``specz_id`` (int64), ``ra_column``, ``dec_column``, ``z``, ``z_err``
        (float64), ``z_flag`` (int64, 1-4) and ``survey`` (str).

    Raises
    ------
    ValueError
        If a fraction is outside ``[0, 1]``, ``blend_fraction > matched_fraction``, or the
        objects cannot provide the requested matches, blends or empty positions.
    """
    import pandas as pd
    from scipy.spatial import cKDTree

    if not 0.0 <= matched_fraction <= 1.0 or not 0.0 <= blend_fraction <= 1.0:
        raise ValueError(
            f"Fractions must lie in [0, 1], got matched_fraction="
            f"{matched_fraction}, blend_fraction={blend_fraction}."
        )
    if blend_fraction > matched_fraction:
        raise ValueError(
            f"blend_fraction ({blend_fraction}) cannot exceed matched_fraction "
            f"({matched_fraction}): blends are matched rows."
        )
    rng = np.random.default_rng(seed)
    object_ra = objects["coord_ra"].to_numpy(dtype=np.float64)
    object_dec = objects["coord_dec"].to_numpy(dtype=np.float64)
    n_objects = len(object_ra)
    if "r_cModelFlux" in objects:
        flux = objects["r_cModelFlux"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            object_mag = np.where(flux > 0, AB_ZEROPOINT_NJY_MAG - 2.5 * np.log10(flux), 30.0)
    else:
        object_mag = np.full(n_objects, 21.0)

    n_matched = round(matched_fraction * n_rows)
    n_blend = round(blend_fraction * n_rows)
    n_clean = n_matched - n_blend
    n_unmatched = n_rows - n_matched
    if n_rows and n_objects == 0:
        raise ValueError("objects is empty; cannot place redshifts around it.")
    if n_clean > n_objects:
        raise ValueError(f"{n_clean} clean matches requested but only {n_objects} objects.")
    tree = cKDTree(_unit_vectors(object_ra, object_dec))

    # Clean matches: distinct objects, favouring those bright enough for a spectrum
    # (Gumbel top-k = weighted sampling without replacement).
    weight = 1.0 / (1.0 + 10.0 ** (0.8 * (object_mag - 22.5)))
    keys = np.log(weight) + rng.gumbel(size=n_objects)
    chosen = np.argpartition(-keys, n_clean - 1)[:n_clean] if n_clean else np.empty(0, int)
    chosen = np.sort(chosen)
    clean_ra, clean_dec = object_ra[chosen], object_dec[chosen]
    clean_mag = object_mag[chosen]

    # Blends: midpoints of close pairs.
    blend_ra = blend_dec = blend_mag = np.empty(0)
    if n_blend:
        pairs = tree.query_pairs(_chord(_BLEND_PAIR_MAX_ARCSEC), output_type="ndarray")
        if len(pairs) == 0:
            raise ValueError(
                f"No object pairs closer than {_BLEND_PAIR_MAX_ARCSEC} arcsec "
                "to place blends at; use blend_fraction=0 or more objects."
            )
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        pick = rng.choice(len(pairs), n_blend, replace=n_blend > len(pairs))
        first, second = pairs[pick, 0], pairs[pick, 1]
        midpoint = _unit_vectors(object_ra[first], object_dec[first]) + _unit_vectors(
            object_ra[second], object_dec[second]
        )
        blend_ra = np.degrees(np.arctan2(midpoint[:, 1], midpoint[:, 0])) % 360.0
        blend_dec = np.degrees(np.arctan2(midpoint[:, 2], np.hypot(midpoint[:, 0], midpoint[:, 1])))
        blend_mag = np.minimum(object_mag[first], object_mag[second])

    matched_ra = np.concatenate((clean_ra, blend_ra))
    matched_dec = np.concatenate((clean_dec, blend_dec))
    offset_deg = (offset_arcsec / _ARCSEC_PER_DEG) * np.sqrt(
        -2.0 * np.log1p(-rng.random(n_matched))
    )
    matched_ra, matched_dec = offset_by(
        matched_ra, matched_dec, offset_deg, rng.uniform(0.0, 2.0 * np.pi, n_matched)
    )

    empty_ra, empty_dec = _empty_positions(rng, tree, object_ra, object_dec, n_unmatched)
    empty_mag = rng.uniform(17.5, 23.5, n_unmatched)

    ra_deg = np.concatenate((matched_ra, empty_ra))
    dec_deg = np.concatenate((matched_dec, empty_dec))
    r_mag = np.concatenate((clean_mag, blend_mag, empty_mag))
    z = _redshift_for_magnitude(rng, r_mag)
    z_flag = rng.choice(
        np.array(list(_SPECZ_FLAG_SHARE), dtype=np.int64),
        n_rows,
        p=list(_SPECZ_FLAG_SHARE.values()),
    )
    # Low-quality redshifts are often simply wrong.
    wrong = (z_flag <= 2) & (rng.random(n_rows) < 0.5)
    z[wrong] = rng.uniform(0.01, 1.5, int(wrong.sum()))
    z_err = (1.0 + z) * 10.0 ** rng.normal(np.log10(5e-5), 0.3, n_rows)
    if with_sentinels:
        sentinel = rng.random(n_rows)
        z[sentinel < 0.02] = -1.0
        z[(sentinel >= 0.02) & (sentinel < 0.03)] = 99.0
        z_err[sentinel < 0.03] = np.nan
    survey = rng.choice(
        np.array(list(SPECZ_SURVEYS), dtype=object), n_rows, p=list(SPECZ_SURVEYS.values())
    )

    order = rng.permutation(n_rows)
    return pd.DataFrame(
        {
            "specz_id": np.arange(1, n_rows + 1, dtype=np.int64) + 1_000_000,
            ra_column: ra_deg[order],
            dec_column: dec_deg[order],
            "z": z[order].astype(np.float64),
            "z_err": z_err[order].astype(np.float64),
            "z_flag": z_flag[order],
            "survey": pd.array(survey[order], dtype="str"),
        }
    )


def _empty_positions(
    rng: np.random.Generator,
    tree: object,
    object_ra: np.ndarray,
    object_dec: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions near objects (8-60 arcsec) with no object within the minimum separation."""
    found_ra: list[np.ndarray] = []
    found_dec: list[np.ndarray] = []
    missing = n
    for _attempt in range(100):
        if missing <= 0:
            break
        n_try = 2 * missing + 16
        anchor = rng.integers(0, len(object_ra), n_try)
        separation_deg = rng.uniform(8.0, 60.0, n_try) / _ARCSEC_PER_DEG
        ra_try, dec_try = offset_by(
            object_ra[anchor],
            object_dec[anchor],
            separation_deg,
            rng.uniform(0.0, 2.0 * np.pi, n_try),
        )
        distance, _ = tree.query(_unit_vectors(ra_try, dec_try), k=1)  # type: ignore[attr-defined]
        empty = distance > _chord(UNMATCHED_MIN_SEPARATION_ARCSEC)
        found_ra.append(ra_try[empty][:missing])
        found_dec.append(dec_try[empty][:missing])
        missing -= len(found_ra[-1])
    if missing > 0:
        raise ValueError(
            f"Could not find {n} positions free of objects within "
            f"{UNMATCHED_MIN_SEPARATION_ARCSEC} arcsec; lower matched_fraction."
        )
    if not found_ra:
        return np.empty(0), np.empty(0)
    return np.concatenate(found_ra), np.concatenate(found_dec)


# ------------------------------------------------------------------------ HATS output


DP1_PARTITION_ROWS = 15_000
"""Rows per partition of the real DP1 Object collection (``hats_max_rows``)."""

WRITE_ENGINES = ("from_dataframe", "hats_import")
"""Ways :func:`write_object_collection` can build the collection."""


def write_object_collection(
    frame: pd.DataFrame,
    path: Path,
    *,
    catalog_name: str = "object_lc",
    margin_arcsec: float = 5.0,
    highest_order: int = 7,
    partition_rows: int | None = None,
    engine: str = "from_dataframe",
    n_workers: int = 2,
) -> Path:
    """Write objects as a HATS collection: main catalog plus margin cache, like DP1.

    The result holds ``<catalog_name>`` and ``<catalog_name>_<margin>arcs`` (e.g.
    ``object_lc`` and ``object_lc_5arcs``) and opens with ``lsdb.open_catalog(path)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Objects with ``coord_ra`` / ``coord_dec`` in degrees.
    path : pathlib.Path
        Collection folder to create; must not exist yet.
    catalog_name : str
        Name of the main catalog inside the collection.
    margin_arcsec : float
        Margin-cache threshold, arcsec (a whole number of arcsec: the margin catalog is
        named after it).
    highest_order : int
        Deepest HEALPix order of a partition.
    partition_rows : int, optional
        Maximum rows per partition (DP1 used :data:`DP1_PARTITION_ROWS`); default: the
        engine's own (1,000,000 rows). Pick ``highest_order`` deep enough that no single
        HEALPix pixel of that order holds more, or hats raises ValueError.
    engine : {"from_dataframe", "hats_import"}
        ``"from_dataframe"`` uses ``lsdb.from_dataframe`` in this process (simple; about
        30 s per million rows of 43 columns). ``"hats_import"`` writes the frame to
        temporary Parquet files and runs the hats-import collection pipeline on a local
        Dask cluster of ``n_workers`` processes, for millions of rows.
    n_workers : int
        Dask worker processes for ``engine="hats_import"``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        If ``path`` already exists.
    ValueError
        If ``engine`` is unknown, or a pixel at ``highest_order`` holds more than
        ``partition_rows`` rows.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it or choose another folder.")
    if engine not in WRITE_ENGINES:
        raise ValueError(f"Unknown engine {engine!r}; choose one of {WRITE_ENGINES}.")
    from tsmaker.compile_cache import enable_numba_caching

    enable_numba_caching()  # hats' kernels: compiled once per machine, not per process
    if engine == "hats_import":
        _write_with_hats_import(
            frame,
            path,
            catalog_name=catalog_name,
            margin_arcsec=margin_arcsec,
            highest_order=highest_order,
            partition_rows=partition_rows,
            n_workers=n_workers,
        )
        return path

    import warnings

    import lsdb

    with warnings.catch_warnings():
        # lsdb warns that from_dataframe is meant for small data; callers chose it.
        warnings.filterwarnings(
            "ignore", message="from_dataframe is not intended", category=RuntimeWarning
        )
        catalog = lsdb.from_dataframe(
            frame,
            ra_column="coord_ra",
            dec_column="coord_dec",
            catalog_name=catalog_name,
            highest_order=highest_order,
            partition_rows=partition_rows,
            margin_threshold=margin_arcsec,
        )
    catalog.write_catalog(path, catalog_name=catalog_name, as_collection=True, progress_bar=False)
    return path


def _write_with_hats_import(
    frame: pd.DataFrame,
    path: Path,
    *,
    catalog_name: str,
    margin_arcsec: float,
    highest_order: int,
    partition_rows: int | None,
    n_workers: int,
) -> None:
    """Build the collection with the hats-import pipeline (catalog, then margin)."""
    import shutil
    import tempfile
    import warnings

    import pyarrow as pa
    import pyarrow.parquet as pq
    from dask.distributed import Client
    from hats_import.collection.arguments import CollectionArguments
    from hats_import.pipeline import pipeline_with_client

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-import-", dir=path.parent))
    try:
        input_dir = staging / "input"
        input_dir.mkdir()
        chunk_rows = 500_000
        input_files = []
        for chunk_index, start in enumerate(range(0, max(len(frame), 1), chunk_rows)):
            chunk = pa.Table.from_pandas(
                frame.iloc[start : start + chunk_rows], preserve_index=False
            )
            chunk_path = input_dir / f"chunk_{chunk_index:05d}.parquet"
            pq.write_table(chunk, chunk_path)
            input_files.append(chunk_path)
        arguments = (
            CollectionArguments(
                output_artifact_name=path.name,
                output_path=path.parent,
                tmp_dir=staging / "tmp",
                progress_bar=False,
                resume=False,
            )
            .catalog(
                input_file_list=input_files,
                file_reader="parquet",
                ra_column="coord_ra",
                dec_column="coord_dec",
                output_artifact_name=catalog_name,
                highest_healpix_order=highest_order,
                **({} if partition_rows is None else {"pixel_threshold": partition_rows}),
            )
            .add_margin(margin_threshold=margin_arcsec, is_default=True)
        )
        with (
            Client(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                local_directory=staging / "dask",
            ) as client,
            warnings.catch_warnings(),
        ):
            # The margin step re-reads partition info from the fresh files and says so.
            warnings.filterwarnings(
                "ignore", message="Computing partitions from catalog", category=UserWarning
            )
            pipeline_with_client(arguments, client)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
