"""Planning a run: every input resolved and checked before anything is registered.

The object catalog's metadata is read (no rows), the flux type, the dust source and
the radius are checked against it, the output folder is tried, then the redshift
catalog is read and cleaned. Whatever can fail on bad input fails here, in one line,
before the product exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import settings
from tsmaker.columns import (
    EBV_COLUMN,
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    SPLIT_COLUMN,
    added_columns,
    flux_columns,
    photometry_columns,
    product_units,
    reserved_redshift_renames,
)
from tsmaker.errors import CatalogError
from tsmaker.inputs.object_catalog import ObjectCatalogInfo, read_object_catalog_info
from tsmaker.inputs.profiles import (
    ObjectProfile,
    discover_flux_types,
    get_profile,
    guess_id_column,
    require_flux_type,
)
from tsmaker.inputs.redshift import NO_COLUMN, RedshiftCatalog
from tsmaker.inputs.resolve import file_fingerprint
from tsmaker.parameters import RunParameters, parameter_error
from tsmaker.run.execution import ExecutionSettings
from tsmaker.run.partition import PartitionRecipe
from tsmaker.run.rerun import EarlierProduct, check_inputs, resolve_object, resolve_redshift
from tsmaker.science.dust import DustSource, dust_source

if TYPE_CHECKING:
    import pandas as pd

    from tsmaker.registry import Registry

Reporter = Callable[..., None]
"""``report(event, **info)``: events ``step`` (text), ``notice`` (text), ``partitions``
(total), ``advance`` (rows, partitions: how many partitions those rows finish) and
``done`` (summary). The front ends render them."""


def silent(event: str, **info: Any) -> None:
    """A reporter that shows nothing."""
    return None


@dataclass
class RunPlan:
    """Everything resolved and checked, before the product is registered."""

    parameters: RunParameters
    execution: ExecutionSettings
    redshift: RedshiftCatalog
    redshift_location: str
    object_info: ObjectCatalogInfo
    profile: ObjectProfile
    object_columns: list[str]
    """The object columns read (id, coordinates, fluxes, ebv, filter columns)."""
    recipe: PartitionRecipe
    output_dir: Path
    units: dict[str, str]
    string_widths: dict[str, int]
    """Fixed widths of string columns (FITS, HDF5): the longest of the whole catalog."""
    inputs: dict[str, Any]
    """What the product records about its inputs: locations, columns, fingerprints."""
    notices: list[str] = field(default_factory=list)


def plan_run(parameters: RunParameters, registry: Registry, report: Reporter,
             earlier: EarlierProduct | None = None) -> RunPlan:
    """Resolve and check every input; read the redshift catalog. Nothing is registered.

    With ``earlier`` (the product of ``--like``), inputs that changed since that product
    are refused unless accepted, and references no longer registered fall back to the
    locations it recorded (:mod:`tsmaker.run.rerun`).

    Raises
    ------
    TsmakerError
        The first problem found, in one line.
    """
    from tsmaker.inputs.cleaning import load_redshift_catalog
    from tsmaker.matching.crossmatch import check_margin

    execution = ExecutionSettings.from_mapping(parameters.execution)
    execution.validate()
    if execution.starts_local_cluster:
        from tsmaker.run.execution import start_worker_server

        start_worker_server()  # imports in the background while the inputs are read
    report("step", text="Checking the object catalog")
    notices: list[str] = []
    reference = resolve_object(parameters.object_catalog, registry, earlier, notices)
    object_location = reference.location
    profile = get_profile(reference.profile)
    object_info = read_object_catalog_info(object_location)
    check_margin(parameters.radius_arcsec, object_info.margin_threshold_arcsec, object_location)
    source = dust_source(parameters.dust)
    flux_type, bands = choose_flux_type(
        parameters.flux_type, source, profile, discover_flux_types(object_info.columns),
        object_location, notices,
    )
    source = source.validate(object_info.columns, object_location, parameters.dust_dir)
    coefficients = dict(profile.extinction_coeffs)
    coefficients.update(parameters.extinction_coeffs or {})
    if source.dereddens and flux_type is not None:
        missing = [band for band in bands if band not in coefficients]
        if missing:
            raise parameter_error(
                "extinction_coeffs", f"no extinction coefficient for band(s) "
                f"{', '.join(missing)}; give them with {{set}}band=value,..."
            )
    id_column = guess_id_column(object_info.columns, profile)
    if parameters.unique == "closest" and id_column is None:
        raise CatalogError(
            f"--unique closest needs an object id column, and {object_location!r} has none "
            "of objectId/object_id/id; use --unique none"
        )
    object_columns = columns_to_read(object_info, profile, id_column, flux_type, bands, source)
    output_dir = check_output_dir(parameters.output_dir)

    report("step", text="Reading the redshift catalog")
    redshift_reference = resolve_redshift(parameters.redshift_catalog, registry, earlier,
                                          notices)
    overrides = column_overrides(redshift_reference.columns, parameters)
    redshift = load_redshift_catalog(
        Path(redshift_reference.location),
        overrides,
        coord_unit=parameters.coord_unit,
        z_min=parameters.z_min,
        z_max=parameters.z_max,
        where=parameters.where,
        drop_sentinels=not parameters.keep_sentinels,
    )
    notices += redshift.notices
    # The file's columns (before any rename below), and the roles turned off ("none"),
    # so that a rerun from the recorded inputs chooses the same.
    file_columns = dict(redshift.roles) | {
        role: NO_COLUMN for role, column in overrides.items()
        if column and column.lower() == NO_COLUMN and role not in redshift.roles}
    taken = set(object_columns) | added_columns(
        flux_type, bands, magnitudes=parameters.magnitudes, dereddened=source.dereddens
    )
    renames = reserved_redshift_renames(list(redshift.frame.columns), taken)
    if renames:
        redshift.frame = redshift.frame.rename(columns=renames)
        redshift.roles = {role: renames.get(col, col) for role, col in redshift.roles.items()}
        notices.append(
            "redshift columns renamed to avoid clashes: "
            + ", ".join(f"{old} -> {new}" for old, new in renames.items())
        )
    notices += cleaning_notices(redshift.report)

    filter_columns = [column for column, _, _ in profile.row_filters]
    column_order = (
        list(redshift.frame.columns)
        + [c for c in object_columns if c not in filter_columns]
        + ([EBV_COLUMN] if source.adds_ebv_column else [])
        + [MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN]
        + photometry_columns(flux_type, bands, magnitudes=parameters.magnitudes,
                             dereddened=source.dereddens)
        + ([SPLIT_COLUMN] if parameters.split_fraction is not None else [])
    )
    recipe = PartitionRecipe(
        key_column=redshift.key_column,
        object_id_column=id_column,
        object_ra_column=object_info.ra_column,
        object_dec_column=object_info.dec_column,
        flux_type=flux_type,
        bands=bands,
        magnitudes=parameters.magnitudes,
        zero_point=float(parameters.zero_point),
        dust=source,
        extinction_coeffs=coefficients,
        split_fraction=parameters.split_fraction,
        seed=int(parameters.seed),
        column_order=tuple(dict.fromkeys(column_order)),
    )
    units = product_units(
        file_units=redshift.units,
        redshift_coordinates=(redshift.roles["ra"], redshift.roles["dec"]),
        object_coordinates=(object_info.ra_column, object_info.dec_column),
        flux_type=flux_type,
        bands=bands,
    )
    # Fixed-width strings (FITS, HDF5) take the longest value of the whole catalog;
    # Parquet records it for astropy's reader.
    string_widths = (measure_string_widths(redshift.frame)
                     if parameters.output_format != "csv" else {})
    inputs = {
        "redshift": {
            "reference": parameters.redshift_catalog,
            "location": redshift_reference.location,
            "columns": file_columns,
            "fingerprint": file_fingerprint(Path(redshift_reference.location)),
            "cleaning": redshift.report,
        },
        "object": {
            "reference": parameters.object_catalog,
            "location": object_location,
            "profile": profile.name,
            "fingerprint": object_info.fingerprint,
            "margin_threshold_arcsec": object_info.margin_threshold_arcsec,
        },
    }
    if earlier is not None:
        notices += check_inputs(inputs, parameters.to_dict(), earlier)
    return RunPlan(
        parameters=parameters,
        execution=execution,
        redshift=redshift,
        redshift_location=redshift_reference.location,
        object_info=object_info,
        profile=profile,
        object_columns=object_columns,
        recipe=recipe,
        output_dir=output_dir,
        units=units,
        string_widths=string_widths,
        inputs=inputs,
        notices=notices,
    )


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


def measure_string_widths(frame: pd.DataFrame) -> dict[str, int]:
    """Longest UTF-8 length of each string column (fixed-width FITS/HDF5 strings).

    Examples
    --------
    >>> import pandas as pd
    >>> measure_string_widths(pd.DataFrame({"name": ["Zoë", None], "z": [0.1, 0.2]}))
    {'name': 4}
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    widths = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind in "biufcmMb":
            continue
        values = column.dropna()
        if len(values) and isinstance(values.iloc[0], str):
            try:
                array = pa.array(values.to_numpy(dtype=object), type=pa.large_string())
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                continue  # mixed values: the writers say what they cannot store
            widths[name] = max(1, int(pc.max(pc.binary_length(array)).as_py() or 0))
    return widths


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


CLEANING_NOTICES: dict[str, str] = {
    "dropped_nan_coordinates": "rows with NaN coordinates dropped",
    "ra_wrapped_into_0_360": "RA values wrapped into [0, 360)",
    "dropped_missing_redshift": "rows with missing-redshift sentinels (NaN, <= -0.5, >= 99) "
    "dropped",
    "dropped_z_min": "rows below --z-min dropped",
    "dropped_z_max": "rows above --z-max dropped",
    "dropped_where": "rows failing --where dropped",
}


def cleaning_notices(cleaning: dict[str, int]) -> list[str]:
    """The redshift cleaning counts as notices (steps that changed nothing are left out)."""
    return [f"{cleaning[key]} {label}" for key, label in CLEANING_NOTICES.items()
            if cleaning.get(key)]

