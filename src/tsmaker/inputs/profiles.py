"""Object-catalog profiles (dp1, dp02, lsstcam, generic) and flux-type discovery.

A profile says what a release looks like: its id and coordinate columns, its bands,
its default flux type, where E(B-V) lives, which rows to keep, and its extinction
coefficients R_band = A_band / E(B-V). Flux types are never hard-coded: they are
discovered from the catalog's own schema.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tsmaker.errors import ChoiceError

BANDS: tuple[str, ...] = ("u", "g", "r", "i", "z", "y")

#: R_band = A_band / E(B-V) for LSSTComCam (DP1) and DC2 (DP0.2); no 0.86 rescaling.
COMCAM_DC2_EXTINCTION_COEFFS: dict[str, float] = {
    "u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31,
}
#: R_band = A_band / E(B-V) for LSSTCam (DR1 and later); no 0.86 rescaling.
LSSTCAM_EXTINCTION_COEFFS: dict[str, float] = {
    "u": 4.78, "g": 3.65, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31,
}

_FLUX_COLUMN = re.compile(r"^(?P<band>[a-zA-Z]+)_(?P<flux_type>.+)Flux$")


@dataclass(frozen=True)
class ObjectProfile:
    """What an object-catalog release looks like."""

    name: str
    """Profile name used on the command line (``--profile``)."""
    description: str
    """One line shown by ``catalogs show``."""
    id_column: str | None
    """Object identifier column; None means: guess from common names."""
    bands: tuple[str, ...]
    """Bands in wavelength order."""
    default_flux_type: str
    """Flux type used when ``--flux-type`` is not given."""
    ebv_column: str | None
    """Column holding E(B-V), used by ``--dust catalog``."""
    extinction_coeffs: Mapping[str, float]
    """R_band = A_band / E(B-V) per band."""
    row_filters: tuple[tuple[str, str, object], ...] = field(default=())
    """Parquet filters applied when reading (e.g. DP0.2's ``detect_isPrimary == True``)."""


PROFILES: dict[str, ObjectProfile] = {
    "dp1": ObjectProfile(
        name="dp1",
        description="Rubin DP1 Object (LSSTComCam), HATS collection with a 5 arcsec margin",
        id_column="objectId",
        bands=BANDS,
        default_flux_type="cModel",
        ebv_column="ebv",
        extinction_coeffs=COMCAM_DC2_EXTINCTION_COEFFS,
    ),
    "dp02": ObjectProfile(
        name="dp02",
        description="Rubin DP0.2 Object (DC2 simulation); keeps detect_isPrimary rows",
        id_column="objectId",
        bands=BANDS,
        default_flux_type="cModel",
        ebv_column=None,
        extinction_coeffs=COMCAM_DC2_EXTINCTION_COEFFS,
        row_filters=(("detect_isPrimary", "==", True),),
    ),
    "lsstcam": ObjectProfile(
        name="lsstcam",
        description="LSSTCam Object catalog (DR1 and later), DP1-like schema",
        id_column="objectId",
        bands=BANDS,
        default_flux_type="cModel",
        ebv_column="ebv",
        extinction_coeffs=LSSTCAM_EXTINCTION_COEFFS,
    ),
    "generic": ObjectProfile(
        name="generic",
        description="any HATS catalog: coordinates from its properties, flux types discovered",
        id_column=None,
        bands=BANDS,
        default_flux_type="cModel",
        ebv_column="ebv",
        extinction_coeffs=LSSTCAM_EXTINCTION_COEFFS,
    ),
}

_ID_CANDIDATES = ("objectId", "object_id", "objectid", "id", "source_id", "ID")


def get_profile(name: str) -> ObjectProfile:
    """Return the profile called ``name``.

    Raises
    ------
    ChoiceError
        If no profile has that name (an InputError; a usage error, exit code 2).
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ChoiceError(
            f"unknown catalog profile {name!r}; choose one of: {', '.join(PROFILES)}"
        ) from None


def discover_flux_types(column_names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Find the flux types in a schema and the bands each has.

    A flux type counts for a band where both ``{band}_{type}Flux`` and
    ``{band}_{type}FluxErr`` exist.

    Parameters
    ----------
    column_names : iterable of str
        The catalog's column names.

    Returns
    -------
    dict of str to tuple of str
        Flux type -> bands (in u..y order, unknown bands after), sorted by flux type.

    Examples
    --------
    >>> discover_flux_types(["g_psfFlux", "g_psfFluxErr", "r_psfFlux", "r_kronFlux"])
    {'psf': ('g',)}
    """
    names = set(column_names)
    bands_by_type: dict[str, list[str]] = {}
    for name in names:
        found = _FLUX_COLUMN.match(name)
        if found and f"{name}Err" in names:
            bands_by_type.setdefault(found["flux_type"], []).append(found["band"])
    order = {band: index for index, band in enumerate(BANDS)}
    return {
        flux_type: tuple(sorted(bands, key=lambda band: (order.get(band, 99), band)))
        for flux_type, bands in sorted(bands_by_type.items())
    }


def guess_id_column(column_names: Iterable[str], profile: ObjectProfile) -> str | None:
    """The object id column: the profile's if present, else the first common name found."""
    names = set(column_names)
    if profile.id_column and profile.id_column in names:
        return profile.id_column
    return next((candidate for candidate in _ID_CANDIDATES if candidate in names), None)


def require_flux_type(
    flux_type: str, available: Mapping[str, tuple[str, ...]], location: str
) -> tuple[str, ...]:
    """The bands of ``flux_type``, or a clear error listing the flux types found."""
    if flux_type in available:
        return available[flux_type]
    from tsmaker.parameters import parameter_error

    choices = ", ".join(available) or "none"
    raise parameter_error(
        "flux_type", f"flux type {flux_type!r} is not in object catalog {location!r}; "
        f"found: {choices} (see `tsmaker catalogs flux-types`)"
    )
