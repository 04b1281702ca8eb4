"""The catalogs the registry knows: list, show, add, remove, and an object catalog's flux types.

Each function takes an open registry (or opens the default one) and returns plain
JSON-safe data for the front ends to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker.errors import CatalogError, InputError
from tsmaker.inputs.builtin import BUILTIN_CATALOGS, provide, registration_hint
from tsmaker.inputs.profiles import PROFILES, ObjectProfile, get_profile
from tsmaker.registry import using_registry

if TYPE_CHECKING:
    from tsmaker.registry import CatalogRecord, Registry


def list_catalogs(registry: Registry | None = None) -> list[dict[str, Any]]:
    """Registered catalogs, plus the built-in names not registered yet.

    Each row: id, name, kind, profile, location, rows (where known), reachable (now),
    description.
    """
    from tsmaker.inputs.object_catalog import is_reachable

    with using_registry(registry) as opened:
        records = opened.list_catalogs()
    rows = []
    for record in records:
        rows.append({
            "id": record.id, "name": record.name, "kind": record.kind,
            "profile": record.profile, "location": record.location, "rows": record.row_count,
            "reachable": is_reachable(record.location), "description": record.description,
        })
    registered = {record.name for record in records}
    for builtin in BUILTIN_CATALOGS.values():
        if builtin.name in registered:
            continue
        provided = builtin.provider is not None
        rows.append({
            "id": None, "name": builtin.name, "kind": builtin.kind, "profile": builtin.profile,
            "location": "generated on first use" if provided else "not registered",
            "rows": None, "reachable": provided,
            "description": builtin.description if provided else registration_hint(builtin),
        })
    return rows


def find_catalog(reference: str, registry: Registry, kind: str | None = None
                 ) -> CatalogRecord | None:
    """A registered catalog, or a built-in one made available now; None when unknown."""
    return registry.find_catalog(reference, kind=kind) or provide(reference, registry, kind)


def show_catalog(reference: str, registry: Registry | None = None) -> dict[str, Any]:
    """One catalog's record, with its profile and flux types for object catalogs."""
    with using_registry(registry) as opened:
        record = find_catalog(reference, opened)
        if record is None:
            builtin = BUILTIN_CATALOGS.get(reference)
            if builtin is not None and builtin.profile is not None:
                return {
                    "name": reference, "kind": builtin.kind, "location": None,
                    "registered": False, **profile_summary(get_profile(builtin.profile)),
                }
            record = opened.get_catalog(reference)
    shown = record.to_dict()
    if record.kind == "object":
        from tsmaker.inputs.object_catalog import read_object_catalog_info
        from tsmaker.inputs.profiles import discover_flux_types

        shown.update(profile_summary(get_profile(record.profile or "generic")))
        shown["flux_types"] = None
        try:
            info = read_object_catalog_info(record.location)
            shown["flux_types"] = {k: "".join(v) for k, v in
                                   discover_flux_types(info.columns).items()}
            shown["margin_threshold_arcsec"] = info.margin_threshold_arcsec
        except CatalogError as error:
            shown["unreachable"] = str(error)
    return shown


def profile_summary(profile: ObjectProfile) -> dict[str, Any]:
    """What ``catalogs show`` says about a profile."""
    return {
        "profile": profile.name,
        "profile_description": profile.description,
        "bands": "".join(profile.bands),
        "default_flux_type": profile.default_flux_type,
        "extinction_coeffs": dict(profile.extinction_coeffs),
        "ebv_column": profile.ebv_column,
        "row_filters": [list(f) for f in profile.row_filters],
    }


def flux_types(reference: str, registry: Registry | None = None) -> dict[str, list[str]]:
    """Flux types (and their bands) in an object catalog's schema."""
    from tsmaker.inputs.object_catalog import read_object_catalog_info
    from tsmaker.inputs.profiles import discover_flux_types
    from tsmaker.inputs.resolve import resolve_object_catalog

    with using_registry(registry) as opened:
        location = resolve_object_catalog(reference, opened).location
    info = read_object_catalog_info(location)
    return {key: list(value) for key, value in discover_flux_types(info.columns).items()}


def add_object_catalog(
    name: str, location: str, *, profile: str = "generic", description: str = "",
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Register a HATS object catalog or collection after reading its metadata."""
    from tsmaker.inputs.object_catalog import read_object_catalog_info

    get_profile(profile)
    if "://" not in location:
        path = Path(location).expanduser()
        if not path.exists():
            raise CatalogError(f"object catalog path {location!r} does not exist; check it")
        location = str(path.resolve())
    info = read_object_catalog_info(location)
    with using_registry(registry) as opened:
        record = opened.add_catalog(
            kind="object", name=name, location=location, profile=profile,
            description=description or PROFILES[profile].description,
            row_count=info.total_rows, fingerprint=info.fingerprint,
            columns={"ra": info.ra_column, "dec": info.dec_column},
        )
    return record.to_dict()


def add_redshift_catalog(
    name: str, path: Path, overrides: dict[str, str | None], *, description: str = "",
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Register a redshift catalog: read it, choose its columns, count its rows.

    Returns the catalog's record, plus ``detection``: for each role the column chosen
    (or none) and why (``reasons``), and what the user should know (``notices``). A
    role given as ``"none"`` is registered as such, so runs do not detect it.
    """
    from tsmaker.formats.tables import read_table
    from tsmaker.inputs.redshift import NO_COLUMN, choose_columns
    from tsmaker.inputs.resolve import file_fingerprint

    path = Path(path).expanduser()
    frame = read_table(path)
    if frame.empty:
        raise InputError(f"redshift catalog {str(path)!r} has no rows; give a non-empty catalog")
    choice = choose_columns(list(frame.columns), overrides, frame)
    columns = dict(choice.roles)
    columns.update({role: NO_COLUMN for role, column in overrides.items()
                    if column and column.lower() == NO_COLUMN and role not in columns})
    with using_registry(registry) as opened:
        record = opened.add_catalog(
            kind="redshift", name=name, location=str(path.resolve()), columns=columns,
            description=description, row_count=len(frame),
            fingerprint=file_fingerprint(path.resolve()),
        )
    return {**record.to_dict(),
            "detection": {"reasons": choice.reasons, "notices": choice.notices}}


def remove_catalog(reference: str, registry: Registry | None = None) -> dict[str, Any]:
    """Forget a registered catalog (its files are not touched); its last record."""
    with using_registry(registry) as opened:
        return opened.remove_catalog(reference).to_dict()
