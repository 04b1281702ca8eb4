"""Object-catalog profiles (dp1, dp02, lsstcam, generic) and flux-type discovery.

A profile says what a release looks like: its id and coordinate columns, its bands,
its default flux type, where E(B-V) lives, which rows to keep, and its extinction
coefficients R_band = A_band / E(B-V). Flux types are never hard-coded: they are
discovered from the catalog's own schema.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tsmaker.errors import CatalogError, InputError

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
    row_filters: tuple[tuple[str, str, Any], ...] = field(default=())
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

#: Built-in object catalog names and the profile each uses.
BUILTIN_OBJECT_CATALOGS: dict[str, str] = {"dp1": "dp1", "dp02": "dp02", "demo": "dp1"}

_ID_CANDIDATES = ("objectId", "object_id", "objectid", "id", "source_id", "ID")


def get_profile(name: str) -> ObjectProfile:
    """Return the profile called ``name``.

    Raises
    ------
    InputError
        If no profile has that name.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(
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


def flux_columns(flux_type: str, bands: Iterable[str]) -> list[str]:
    """The flux and flux-error column names of one flux type, band by band."""
    columns = []
    for band in bands:
        columns += [f"{band}_{flux_type}Flux", f"{band}_{flux_type}FluxErr"]
    return columns


def guess_id_column(column_names: Iterable[str], profile: ObjectProfile) -> str | None:
    """The object id column: the profile's if present, else the first common name found."""
    names = set(column_names)
    if profile.id_column and profile.id_column in names:
        return profile.id_column
    return next((candidate for candidate in _ID_CANDIDATES if candidate in names), None)


@dataclass(frozen=True)
class ObjectCatalogInfo:
    """What the HATS metadata says about an object catalog (no rows read)."""

    location: str
    """Path or URL as given."""
    catalog_path: str
    """The main catalog's folder inside a collection (or ``location`` itself)."""
    columns: tuple[str, ...]
    """All column names in the schema."""
    ra_column: str
    dec_column: str
    total_rows: int | None
    margin_path: str | None
    """The default margin cache's folder, if any."""
    margin_threshold_arcsec: float | None
    fingerprint: dict[str, Any]
    """Properties that change when the catalog does (rows, creation date, size)."""
    schema: Any = None
    """The catalog's pyarrow schema (column types), as its metadata gives it."""
    files: Any = None
    """The catalog's files (:class:`tsmaker.inputs.hats_files.ObjectCatalogFiles`)."""


def read_object_catalog_info(location: str) -> ObjectCatalogInfo:
    """Read the HATS metadata of an object catalog or collection.

    Parameters
    ----------
    location : str
        Local path or URL of a HATS catalog or collection.

    Raises
    ------
    CatalogError
        If the location does not exist, does not answer, or is not HATS.
    """
    from tsmaker.inputs.hats_files import open_object_catalog

    try:
        files = open_object_catalog(location)
        catalog = files.main
        margin_threshold_arcsec = (
            files.margin.margin_threshold_arcsec if files.margin is not None else None
        )
        schema = catalog.schema()
    except CatalogError:
        raise
    except FileNotFoundError as error:
        raise CatalogError(
            f"object catalog {location!r} was not found or does not answer "
            f"({_first_line(error)}); check the path or URL"
        ) from error
    except Exception as error:  # pyarrow, fsspec and aiohttp raise several types
        raise CatalogError(
            f"{location!r} is not a readable HATS catalog or collection "
            f"({_first_line(error)}); point --object at the folder holding "
            "collection.properties or hats.properties"
        ) from error
    if catalog.properties.get("dataproduct_type") not in ("object", "source", None) or (
        catalog.ra_column is None
    ):
        kind = catalog.properties.get("dataproduct_type", "catalog")
        raise CatalogError(
            f"{location!r} is a HATS {kind} catalog without sky coordinates; "
            "an object catalog must be a HATS object catalog or collection"
        )
    properties = catalog.properties
    fingerprint = {
        "hats_nrows": catalog.total_rows,
        "hats_creation_date": properties.get("hats_creation_date"),
        "hats_estsize": int(properties["hats_estsize"]) if properties.get("hats_estsize")
        else None,
        "partitions": len(catalog.pixels),
    }
    return ObjectCatalogInfo(
        location=location,
        catalog_path=catalog.location.describe(),
        columns=tuple(schema.names) if schema is not None else (),
        ra_column=catalog.ra_column,
        dec_column=catalog.dec_column,
        total_rows=catalog.total_rows,
        margin_path=files.margin.location.describe() if files.margin is not None else None,
        margin_threshold_arcsec=margin_threshold_arcsec,
        fingerprint=fingerprint,
        schema=schema,
        files=files,
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def is_reachable(location: str) -> bool:
    """True when a local path exists, or a URL answers a HEAD/GET within a few seconds."""
    if "://" not in location or location.startswith("file://"):
        from pathlib import Path

        return Path(location.removeprefix("file://")).expanduser().exists()
    import urllib.error
    import urllib.request

    for properties in ("collection.properties", "hats.properties"):
        url = location.rstrip("/") + "/" + properties
        try:
            with urllib.request.urlopen(url, timeout=3):
                return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def require_flux_type(
    flux_type: str, available: Mapping[str, tuple[str, ...]], location: str
) -> tuple[str, ...]:
    """The bands of ``flux_type``, or a clear error listing the flux types found."""
    if flux_type in available:
        return available[flux_type]
    choices = ", ".join(available) or "none"
    raise CatalogError(
        f"flux type {flux_type!r} is not in object catalog {location!r}; "
        f"found: {choices} (see `tsmaker catalogs flux-types`)"
    )
