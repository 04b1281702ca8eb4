"""Resolving and checking a run's inputs before anything is registered or matched.

Catalog references become locations and profiles, the flux type and dust source are
checked against the object catalog's schema, the output folder is tried, and the list
of object columns to read is worked out.
"""

import hashlib
import time
from pathlib import Path
from typing import Any

from tsmaker import settings
from tsmaker.inputs.profiles import (
    BUILTIN_OBJECT_CATALOGS,
    ObjectCatalogInfo,
    ObjectProfile,
    flux_columns,
)
from tsmaker.matching.crossmatch import MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN
from tsmaker.errors import CatalogError, InputError
from tsmaker.parameters import RunParameters
from tsmaker.run.partition import EBV_COLUMN, SPLIT_COLUMN, PartitionRecipe
from tsmaker.inputs.redshift import RedshiftCatalog


def resolve_object_catalog(reference: str, registry: Any) -> tuple[str, str]:
    """Location and profile name of an object catalog reference."""
    record = registry.find_catalog(reference, kind="object")
    if record is not None:
        return record.location, record.profile or "generic"
    if reference == "demo":
        from tsmaker.demo.builtin import register_demo

        object_record, _ = register_demo(registry)
        return object_record.location, object_record.profile or "dp1"
    if reference in BUILTIN_OBJECT_CATALOGS:
        raise CatalogError(
            f"object catalog {reference!r} has no location registered here; it is reachable "
            "where you have Rubin data rights (Rubin Science Platform, NERSC, CANFAR, IDAC): "
            f"register it with `tsmaker catalogs add-object {reference} PATH_OR_URL "
            f"--profile {BUILTIN_OBJECT_CATALOGS[reference]}`"
        )
    if "://" in reference or Path(reference).expanduser().exists():
        location = reference if "://" in reference else str(Path(reference).expanduser().resolve())
        return location, "generic"
    known = ", ".join(r.name for r in registry.list_catalogs(kind="object")) or "none registered"
    raise CatalogError(
        f"object catalog {reference!r} is neither a registered name ({known}) nor an existing "
        "path or URL; see `tsmaker catalogs list`"
    )


def load_redshift(parameters: RunParameters, registry: Any) -> tuple[str, RedshiftCatalog]:
    """Resolve the redshift reference, then read, check and clean the catalog."""
    from tsmaker.inputs.redshift import load_redshift_catalog

    reference = parameters.redshift_catalog
    record = registry.find_catalog(reference, kind="redshift")
    if record is None and reference == "demo-specz":
        from tsmaker.demo.builtin import register_demo

        _, record = register_demo(registry)
    overrides: dict[str, str | None] = dict(record.columns) if record else {}
    for role, value in (
        ("ra", parameters.ra_column), ("dec", parameters.dec_column),
        ("z", parameters.z_column), ("z_err", parameters.z_err_column),
        ("z_flag", parameters.z_flag_column), ("id", parameters.id_column),
    ):
        if value:
            overrides[role] = value
    if record is not None:
        location = record.location
    else:
        path = Path(reference).expanduser()
        if not path.exists():
            known = ", ".join(r.name for r in registry.list_catalogs(kind="redshift"))
            raise InputError(
                f"redshift catalog {reference!r} is neither a registered name "
                f"({known or 'none registered'}) nor an existing file; check the path or "
                "register it with `tsmaker catalogs add-redshift`"
            )
        location = str(path.resolve())
    catalog = load_redshift_catalog(
        Path(location),
        overrides,
        coord_unit=parameters.coord_unit,
        z_min=parameters.z_min,
        z_max=parameters.z_max,
        where=parameters.where,
        drop_sentinels=not parameters.keep_sentinels,
    )
    return location, catalog


def execution_settings(execution: dict[str, Any]) -> Any:
    """Build ExecutionSettings from a product's ``execution`` mapping, with clear errors."""
    from dataclasses import fields

    from tsmaker.run.execution import ExecutionSettings, SlurmSettings

    values = dict(execution)
    slurm = values.pop("slurm", None)
    known = {f.name for f in fields(ExecutionSettings)} - {"slurm"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(
            f"unknown execution setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if isinstance(slurm, dict):
        slurm_known = {f.name for f in fields(SlurmSettings)}
        if set(slurm) - slurm_known:
            raise InputError(
                f"unknown SLURM setting(s) {', '.join(sorted(set(slurm) - slurm_known))}; "
                f"known: {', '.join(sorted(slurm_known))}"
            )
        slurm = SlurmSettings(**slurm)
    return ExecutionSettings(**values, slurm=slurm)


def choose_flux_type(
    parameters: RunParameters,
    profile: ObjectProfile,
    available: dict[str, tuple[str, ...]],
    location: str,
    notices: list[str],
) -> tuple[str | None, tuple[str, ...]]:
    """The flux type and its bands: the one asked for, else the profile's, else the first found."""
    from tsmaker.inputs.profiles import require_flux_type

    if parameters.flux_type:
        return parameters.flux_type, require_flux_type(parameters.flux_type, available, location)
    if profile.default_flux_type in available:
        return profile.default_flux_type, available[profile.default_flux_type]
    if available:
        chosen = next(iter(available))
        notices.append(
            f"flux type {profile.default_flux_type!r} not found; using {chosen!r} "
            f"(found: {', '.join(available)})"
        )
        return chosen, available[chosen]
    if parameters.dust != "none":
        raise CatalogError(
            f"--dust {parameters.dust} needs fluxes to correct, and {location!r} has no "
            "{band}_{type}Flux/FluxErr columns; use --dust none"
        )
    notices.append("no {band}_{type}Flux/FluxErr columns found: photometry was skipped")
    return None, ()


def check_dust(
    parameters: RunParameters, profile: ObjectProfile, info: ObjectCatalogInfo, location: str
) -> Any:
    """Check the E(B-V) source now; return the dust-map location for map sources."""
    if parameters.dust == "none":
        return None
    if parameters.dust == "catalog":
        if EBV_COLUMN not in info.columns:
            raise CatalogError(
                f"--dust catalog needs an {EBV_COLUMN!r} column, and object catalog "
                f"{location!r} has none; use a dust map instead (--dust sfd)"
            )
        return None
    from tsmaker.science.dust import require_map

    return require_map(parameters.dust, Path(parameters.dust_dir) if parameters.dust_dir else None)


def columns_to_read(
    info: ObjectCatalogInfo,
    profile: ObjectProfile,
    id_column: str | None,
    flux_type: str | None,
    bands: tuple[str, ...],
    dust: str,
) -> list[str]:
    """The only object columns the run reads: id, coordinates, fluxes, ebv, filters."""
    columns = [c for c in (id_column, info.ra_column, info.dec_column) if c]
    if EBV_COLUMN in info.columns and dust in ("none", "catalog"):
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


def generated_columns(
    flux_type: str | None, bands: tuple[str, ...], parameters: RunParameters
) -> set[str]:
    """Names tsmaker adds to the product (a redshift column with one gets ``_specz``)."""
    return {
        MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN, SPLIT_COLUMN, EBV_COLUMN,
        "_healpix_29", *photometry_columns(flux_type, bands, parameters),
    }


def photometry_columns(
    flux_type: str | None, bands: tuple[str, ...], parameters: RunParameters
) -> list[str]:
    """Magnitude and dereddened columns the run adds, in output order."""
    if flux_type is None:
        return []
    columns = []
    dered = parameters.dust != "none"
    for band in bands:
        if dered:
            columns += [f"{band}_{flux_type}Flux_dered", f"{band}_{flux_type}FluxErr_dered"]
    if parameters.magnitudes:
        suffix = "_dered" if dered else ""
        for band in bands:
            columns += [f"{band}_{flux_type}Mag{suffix}", f"{band}_{flux_type}MagErr{suffix}"]
    return columns


def column_units(
    redshift: RedshiftCatalog, info: ObjectCatalogInfo, recipe: PartitionRecipe
) -> dict[str, str]:
    """Unit of each product column: deg, arcsec, nJy, mag."""
    units = {name: unit for name, unit in redshift.units.items() if unit}
    units.update({redshift.roles["ra"]: "deg", redshift.roles["dec"]: "deg"})
    units.update({info.ra_column: "deg", info.dec_column: "deg"})
    units.update({MATCH_DISTANCE_COLUMN: "arcsec", EBV_COLUMN: "mag"})
    for column in recipe.column_order:
        if column.endswith(("Flux", "FluxErr", "Flux_dered", "FluxErr_dered")) and "_" in column:
            units[column] = "nJy"
        elif column.endswith(("Mag", "MagErr", "Mag_dered", "MagErr_dered")) and "_" in column:
            units[column] = "mag"
    return units


def measure_string_widths(frame: Any) -> dict[str, int]:
    """Longest UTF-8 length of each string column (fixed-width FITS/HDF5 strings)."""
    widths = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind in "biufcmMb":
            continue
        values = column.dropna()
        if len(values) and isinstance(values.iloc[0], str):
            widths[name] = max(1, int(values.str.encode("utf-8").str.len().max()))
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
        raise InputError(
            f"output folder {str(folder)!r} is not writable ({error.strerror or error}); "
            "choose another with --output-dir"
        ) from None
    return folder.resolve()


def report_cleaning(cleaning: dict[str, int], notices: list[str]) -> None:
    """Turn the redshift cleaning counts into notices."""
    labels = {
        "dropped_nan_coordinates": "rows with NaN coordinates dropped",
        "ra_wrapped_into_0_360": "RA values wrapped into [0, 360)",
        "dropped_missing_redshift": "rows with missing-redshift sentinels (NaN, <= -0.5, >= 99) "
        "dropped",
        "dropped_z_min": "rows below --z-min dropped",
        "dropped_z_max": "rows above --z-max dropped",
        "dropped_where": "rows failing --where dropped",
    }
    for key, label in labels.items():
        if cleaning.get(key):
            notices.append(f"{cleaning[key]} {label}")


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Size, SHA-256 and date of a file (or the properties of a HATS folder)."""
    if path.is_dir():
        properties = path / "hats.properties"
        if not properties.exists():
            properties = path / "collection.properties"
        text = properties.read_text() if properties.exists() else ""
        return {"hats_properties_sha256": hashlib.sha256(text.encode()).hexdigest()}
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    stat = path.stat()
    return {"size_bytes": stat.st_size, "sha256": digest.hexdigest(),
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stat.st_mtime))}
