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
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from tsmaker.columns import band_columns
from tsmaker.inputs.profiles import BANDS
from tsmaker.matching.sphere import unit_vectors
from tsmaker.science.photometry import AB_ZERO_POINT_NJY

if TYPE_CHECKING:
    import pandas as pd


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
ARCSEC_PER_DEG = 3600.0
# ICRS direction of the north Galactic pole, for the dust model.
_NGP_RA_DEG = 192.85948
_NGP_DEC_DEG = 27.12825
# Pseudo tract/patch grid: rings of equal declination, tracts of ~1.75 deg, 10x10 patches.
_TRACT_SIZE_DEG = 1.75
_PATCHES_PER_SIDE = 10


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
    separation_deg = rng.uniform(0.6, 2.0, len(index)) / ARCSEC_PER_DEG
    angle = rng.uniform(0.0, 2.0 * np.pi, len(index))
    ra_deg[index], dec_deg[index] = offset_by(
        ra_deg[index - 1], dec_deg[index - 1], separation_deg, angle
    )


def _dust_ebv(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Smooth E(B-V): a cosecant law in Galactic latitude with patchy modulation."""
    pole = unit_vectors(np.array([_NGP_RA_DEG]), np.array([_NGP_DEC_DEG]))[0]
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
        band: np.exp(np.float32(-0.4) * ln10 * (mags[band] - np.float32(AB_ZERO_POINT_NJY)))
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
            names = band_columns(flux_type, band)
            columns[names.flux] = flux
            columns[names.flux_err] = error

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
