"""Every column name tsmaker gives a product, its role and its unit: owned here, once.

A product holds the redshift catalog's columns (names kept; ``specz_row`` added), the
object columns read (Rubin's names: ``objectId``, ``coord_ra``, ``g_cModelFlux``, ...)
and the columns tsmaker adds: ``match_distance_arcsec``, ``match_rank``, ``ebv`` (when
a dust map gives it), the photometry of :func:`photometry_columns`, ``is_training``.
A redshift column whose name is taken gets ``_specz`` (:func:`reserved_redshift_renames`).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MATCH_DISTANCE_COLUMN = "match_distance_arcsec"
"""Great-circle distance between the spec-z and the object, arcsec."""
MATCH_RANK_COLUMN = "match_rank"
"""1 for a spec-z's nearest object, 2 for the next, ..."""
SPECZ_ROW_COLUMN = "specz_row"
"""0-based row of the spec-z in its file: an identity for catalogs without an id."""
SPECZ_SUFFIX = "_specz"
"""Appended to a redshift column whose name the product already uses."""
HEALPIX_COLUMN = "_healpix_29"
"""HEALPix order-29 nested index of the spec-z position (HATS's spatial index)."""
EBV_COLUMN = "ebv"
"""Galactic E(B-V), mag: the object catalog's own, or computed from a dust map."""
SPLIT_COLUMN = "is_training"
"""True for the spec-z in the training part of ``--split``."""
DEREDDENED_SUFFIX = "_dered"
"""Appended to the flux and magnitude columns corrected for Galactic extinction."""

UNIT_DEGREE, UNIT_ARCSEC, UNIT_NJY, UNIT_MAG = "deg", "arcsec", "nJy", "mag"


@dataclass(frozen=True)
class BandColumns:
    """The column names of one band of one flux type, e.g. ``g`` of ``cModel``.

    Examples
    --------
    >>> names = band_columns("cModel", "g")
    >>> names.flux, names.flux_err, names.magnitude(dereddened=True)
    ('g_cModelFlux', 'g_cModelFluxErr', ('g_cModelMag_dered', 'g_cModelMagErr_dered'))
    """

    flux: str
    """Flux in nJy, as the object catalog names it (``g_cModelFlux``)."""
    flux_err: str
    """Its error (``g_cModelFluxErr``)."""
    mag: str
    """AB magnitude tsmaker adds (``g_cModelMag``)."""
    mag_err: str
    """Its error (``g_cModelMagErr``)."""

    def dereddened_flux(self) -> tuple[str, str]:
        """The dereddened flux and flux-error columns (``g_cModelFlux_dered``, ...)."""
        return self.flux + DEREDDENED_SUFFIX, self.flux_err + DEREDDENED_SUFFIX

    def magnitude(self, *, dereddened: bool) -> tuple[str, str]:
        """The magnitude and magnitude-error columns, from dereddened fluxes or not."""
        suffix = DEREDDENED_SUFFIX if dereddened else ""
        return self.mag + suffix, self.mag_err + suffix


def band_columns(flux_type: str, band: str) -> BandColumns:
    """The column names of ``band`` for ``flux_type``, as Rubin writes them."""
    stem = f"{band}_{flux_type}"
    return BandColumns(f"{stem}Flux", f"{stem}FluxErr", f"{stem}Mag", f"{stem}MagErr")


# --naming rail: the names and conventions of RAIL (LSST DESC's photo-z framework),
# from rail_base's rail.core.common_params (bands, err_bands, redshift_col, nondetect_val).
RAIL_REDSHIFT_COLUMN = "redshift"
"""The redshift column's name under ``--naming rail`` (RAIL's ``redshift_col``)."""
RAIL_NONDETECTION_MAG = 99.0
"""The magnitude of a non-detection under ``--naming rail`` (RAIL's ``nondetect_val``)."""
RAIL_DEFAULT_LIMIT_MAGS: dict[str, float] = {
    "u": 27.79, "g": 29.04, "r": 29.06, "i": 28.62, "z": 27.98, "y": 27.05,
}
"""RAIL's default ``mag_limits``: the error of a non-detection whose flux error is missing."""


def rail_band_columns(band: str) -> tuple[str, str]:
    """RAIL's magnitude and magnitude-error columns of a band.

    Examples
    --------
    >>> rail_band_columns("g")
    ('mag_g_lsst', 'mag_err_g_lsst')
    """
    return f"mag_{band}_lsst", f"mag_err_{band}_lsst"


def magnitude_columns(
    flux_type: str, band: str, *, dereddened: bool, naming: str = "rubin"
) -> tuple[str, str]:
    """The product's magnitude and magnitude-error columns of a band, in a naming.

    Examples
    --------
    >>> magnitude_columns("cModel", "i", dereddened=True)
    ('i_cModelMag_dered', 'i_cModelMagErr_dered')
    >>> magnitude_columns("cModel", "i", dereddened=True, naming="rail")
    ('mag_i_lsst', 'mag_err_i_lsst')
    """
    if naming == "rail":
        return rail_band_columns(band)
    return band_columns(flux_type, band).magnitude(dereddened=dereddened)


def flux_columns(flux_type: str, bands: Iterable[str]) -> list[str]:
    """The flux and flux-error columns of a flux type, band by band (what a run reads).

    Examples
    --------
    >>> flux_columns("psf", "gr")
    ['g_psfFlux', 'g_psfFluxErr', 'r_psfFlux', 'r_psfFluxErr']
    """
    names = []
    for band in bands:
        columns = band_columns(flux_type, band)
        names += [columns.flux, columns.flux_err]
    return names


def photometry_columns(
    flux_type: str | None, bands: Sequence[str], *, magnitudes: bool, dereddened: bool,
    naming: str = "rubin",
) -> list[str]:
    """The photometry columns a run adds, in the product's order.

    The dereddened fluxes of every band (with a dust source), then the magnitudes of
    every band (from the dereddened fluxes with a dust source), named in ``naming``.

    Examples
    --------
    >>> photometry_columns("cModel", "gr", magnitudes=True, dereddened=False)
    ['g_cModelMag', 'g_cModelMagErr', 'r_cModelMag', 'r_cModelMagErr']
    >>> photometry_columns("psf", "g", magnitudes=False, dereddened=True)
    ['g_psfFlux_dered', 'g_psfFluxErr_dered']
    >>> photometry_columns("psf", "g", magnitudes=True, dereddened=False, naming="rail")
    ['mag_g_lsst', 'mag_err_g_lsst']
    """
    if flux_type is None:
        return []
    names = [band_columns(flux_type, band) for band in bands]
    added: list[str] = []
    if dereddened:
        for columns in names:
            added += columns.dereddened_flux()
    if magnitudes:
        for band in bands:
            added += magnitude_columns(flux_type, band, dereddened=dereddened, naming=naming)
    return added


def added_columns(
    flux_type: str | None, bands: Sequence[str], *, magnitudes: bool, dereddened: bool,
    naming: str = "rubin",
) -> set[str]:
    """Every name tsmaker may add to a product (a redshift column with one is renamed)."""
    return {
        MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN, SPLIT_COLUMN, EBV_COLUMN, HEALPIX_COLUMN,
        *photometry_columns(flux_type, bands, magnitudes=magnitudes, dereddened=dereddened,
                            naming=naming),
    }


def reserved_redshift_renames(
    redshift_columns: Sequence[str], taken_names: set[str]
) -> dict[str, str]:
    """Renames that give a redshift column the ``_specz`` suffix where its name is taken.

    ``taken_names`` holds the object columns read and the columns tsmaker adds.

    Examples
    --------
    >>> reserved_redshift_renames(["ra", "ebv", "ebv_specz"], {"ebv"})
    {'ebv': 'ebv_specz_specz'}
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


def file_column(product_column: str, file_columns: Sequence[str]) -> str | None:
    """The spec-z file's name of a product column (undoing ``_specz`` renames), or None.

    Examples
    --------
    >>> file_column("ebv_specz", ["ra", "ebv"])
    'ebv'
    """
    name = product_column
    while name not in file_columns and name.endswith(SPECZ_SUFFIX):
        name = name[: -len(SPECZ_SUFFIX)]
    return name if name in file_columns else None


def product_units(
    *,
    file_units: Mapping[str, str],
    redshift_coordinates: tuple[str, str],
    object_coordinates: tuple[str, str],
    flux_type: str | None,
    bands: Sequence[str],
    naming: str = "rubin",
) -> dict[str, str]:
    """The unit of each product column that has one: deg, arcsec, nJy, mag.

    ``file_units`` are the units the redshift file gave its own columns (FITS
    ``TUNIT``); the coordinates are in degrees once read; fluxes are in nJy and
    magnitudes in AB mag, dereddened or not.
    """
    units = {name: unit for name, unit in file_units.items() if unit}
    for name in (*redshift_coordinates, *object_coordinates):
        units[name] = UNIT_DEGREE
    units[MATCH_DISTANCE_COLUMN] = UNIT_ARCSEC
    units[EBV_COLUMN] = UNIT_MAG
    if flux_type is not None:
        for band in bands:
            columns = band_columns(flux_type, band)
            for name in (columns.flux, columns.flux_err, *columns.dereddened_flux()):
                units[name] = UNIT_NJY
            for dereddened in (False, True):
                for name in magnitude_columns(flux_type, band, dereddened=dereddened,
                                              naming=naming):
                    units[name] = UNIT_MAG
    return units
