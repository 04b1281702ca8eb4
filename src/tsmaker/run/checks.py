"""The checks a run's inputs get before anything is registered, shared by planning and preflight.

:func:`tsmaker.run.plan.plan_run` runs them on its way to reading the redshift catalog,
and :func:`tsmaker.run.preflight.preflight_run` runs them for a form or an API call
that wants to know whether a run can start, without reading any rows. Each error says
which run parameter it is about (:func:`tsmaker.errors.about`), so that a form shows it
beside the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker import settings
from tsmaker.columns import EBV_COLUMN, flux_columns
from tsmaker.errors import CatalogError, ParameterError, about
from tsmaker.inputs.object_catalog import ObjectCatalogInfo, read_object_catalog_info
from tsmaker.inputs.profiles import (
    ObjectProfile,
    discover_flux_types,
    get_profile,
    guess_id_column,
    require_flux_type,
)
from tsmaker.parameters import RunParameters, parameter_error
from tsmaker.run.rerun import EarlierProduct, resolve_object
from tsmaker.science.dust import DustSource, dust_source

if TYPE_CHECKING:
    from tsmaker.registry import Registry


@dataclass
class ObjectSide:
    """The object catalog as a run reads it, checked against the run's parameters."""

    info: ObjectCatalogInfo
    profile: ObjectProfile
    dust: DustSource
    """The dust source, validated (a map's files found)."""
    flux_type: str | None
    bands: tuple[str, ...]
    extinction_coeffs: dict[str, float]
    """The profile's coefficients with the run's overrides."""
    id_column: str | None
    columns: list[str]
    """The object columns read (id, coordinates, fluxes, ebv, filter columns)."""


def check_object_catalog(
    parameters: RunParameters, registry: Registry, notices: list[str],
    earlier: EarlierProduct | None = None,
) -> ObjectSide:
    """Resolve the object catalog, read its metadata (no rows) and check the run against it.

    The radius against the margin, the flux type against the schema, the dust source
    (the catalog's ``ebv`` column, or a map's files), the extinction coefficients and
    the id column ``--unique closest`` needs. Each error names the parameter it is
    about (:func:`tsmaker.errors.about`). With ``earlier`` (the product of ``--like``), a
    catalog no longer registered is found where that product recorded it.

    Raises
    ------
    TsmakerError
        The first problem found.
    """
    from tsmaker.matching.crossmatch import check_margin

    with about("object_catalog"):
        reference = resolve_object(parameters.object_catalog, registry, earlier, notices)
        location = reference.location
        profile = get_profile(reference.profile)
        info = read_object_catalog_info(location)
        check_margin(parameters.radius_arcsec, info.margin_threshold_arcsec, location)
    with about("dust"):
        source = dust_source(parameters.dust)
    with about("flux_type"):
        flux_type, bands = choose_flux_type(
            parameters.flux_type, source, profile, discover_flux_types(info.columns),
            location, notices,
        )
    with about("dust"):
        source = source.validate(info.columns, location, parameters.dust_dir)
    coefficients = dict(profile.extinction_coeffs)
    coefficients.update(parameters.extinction_coeffs or {})
    if source.dereddens and flux_type is not None:
        missing = [band for band in bands if band not in coefficients]
        if missing:
            bands_text = ", ".join(missing)
            raise ParameterError("extinction_coeffs", {
                "cli": f"no extinction coefficient for band(s) {bands_text}; give them with "
                "--extinction-coeffs band=value,...",
                "python": f"no extinction coefficient for band(s) {bands_text}; give them "
                "with extinction_coeffs={'band': value, ...}",
            })
    id_column = guess_id_column(info.columns, profile)
    if parameters.unique == "closest" and id_column is None:
        with about("unique"):
            raise CatalogError(
                f"--unique closest needs an object id column, and {location!r} has none "
                "of objectId/object_id/id; use --unique none"
            )
    with about("object_catalog"):
        columns = columns_to_read(info, profile, id_column, flux_type, bands, source)
    return ObjectSide(info, profile, source, flux_type, bands, coefficients, id_column, columns)


def column_overrides(
    registered: dict[str, str], parameters: RunParameters
) -> dict[str, str | None]:
    """The redshift columns to use: those registered, then those the run names."""
    from tsmaker.inputs.redshift import ROLE_PARAMETERS

    overrides: dict[str, str | None] = dict(registered)
    for role, parameter in ROLE_PARAMETERS.items():
        value = getattr(parameters, parameter)
        if value:
            overrides[role] = value
    return overrides


def choose_flux_type(
    wanted: str | None,
    source: DustSource,
    profile: ObjectProfile,
    available: dict[str, tuple[str, ...]],
    location: str,
    notices: list[str],
) -> tuple[str | None, tuple[str, ...]]:
    """The flux type and its bands: the one asked for, else the profile's, else the first found."""
    if wanted:
        return wanted, require_flux_type(wanted, available, location)
    if profile.default_flux_type in available:
        return profile.default_flux_type, available[profile.default_flux_type]
    if available:
        chosen = next(iter(available))
        notices.append(
            f"flux type {profile.default_flux_type!r} not found; using {chosen!r} "
            f"(found: {', '.join(available)})"
        )
        return chosen, available[chosen]
    if source.dereddens:
        raise CatalogError(
            f"--dust {source.name} needs fluxes to correct, and {location!r} has no "
            "{band}_{type}Flux/FluxErr columns; use --dust none"
        )
    notices.append("no {band}_{type}Flux/FluxErr columns found: photometry was skipped")
    return None, ()


def columns_to_read(
    info: ObjectCatalogInfo,
    profile: ObjectProfile,
    id_column: str | None,
    flux_type: str | None,
    bands: tuple[str, ...],
    source: DustSource,
) -> list[str]:
    """The only object columns the run reads: id, coordinates, fluxes, ebv, filters.

    The catalog's ``ebv`` is read unless a dust map replaces it.
    """
    columns = [c for c in (id_column, info.ra_column, info.dec_column) if c]
    if EBV_COLUMN in info.columns and not source.adds_ebv_column:
        columns.append(EBV_COLUMN)
    if flux_type is not None:
        columns += flux_columns(flux_type, bands)
    for column, _, _ in profile.row_filters:
        if column not in info.columns:
            raise CatalogError(
                f"profile {profile.name!r} filters on {column!r}, which object catalog "
                f"{info.location!r} does not have; register it with --profile generic"
            )
        columns.append(column)
    return list(dict.fromkeys(columns))


def check_output_dir(output_dir: str | None) -> Path:
    """Create and try the output folder; return its absolute path."""
    import tempfile

    folder = Path(output_dir).expanduser() if output_dir else settings.products_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tsmaker-write-test-"):
            pass
    except OSError as error:
        raise parameter_error(
            "output_dir", f"output folder {str(folder)!r} is not writable "
            f"({error.strerror or error}); choose another with {{name}}"
        ) from None
    return folder.resolve()
