"""Managing the registry's entries: list, show and add catalogs; remove products.

Each function returns plain JSON-safe data for the CLI to render.
"""

from pathlib import Path
from typing import Any

from tsmaker.inputs.profiles import BUILTIN_OBJECT_CATALOGS, PROFILES, get_profile
from tsmaker.errors import CatalogError, InputError


def _registry() -> Any:
    from tsmaker.registry.database import Registry

    return Registry.open_default()


def list_catalogs() -> list[dict[str, Any]]:
    """Registered catalogs, plus the built-in names not registered yet.

    Each row: name, kind, profile, location, rows (where known), reachable (now).
    """
    from tsmaker.inputs.profiles import is_reachable

    with _registry() as registry:
        records = registry.list_catalogs()
    rows = []
    for record in records:
        rows.append({
            "id": record.id, "name": record.name, "kind": record.kind,
            "profile": record.profile, "location": record.location, "rows": record.row_count,
            "reachable": is_reachable(record.location), "description": record.description,
        })
    registered = {record.name for record in records}
    for name, profile in BUILTIN_OBJECT_CATALOGS.items():
        if name in registered:
            continue
        generated = name == "demo"
        rows.append({
            "id": None, "name": name, "kind": "object", "profile": profile,
            "location": "generated on first use" if generated else "not registered",
            "rows": None, "reachable": generated,
            "description": "built-in offline demo (DP1-shaped)" if generated else
            f"register with `tsmaker catalogs add-object {name} PATH --profile {profile}`",
        })
    if "demo-specz" not in registered:
        rows.append({
            "id": None, "name": "demo-specz", "kind": "redshift", "profile": None,
            "location": "generated on first use", "rows": None, "reachable": True,
            "description": "built-in demo spec-z catalog",
        })
    return rows


def show_catalog(reference: str) -> dict[str, Any]:
    """One catalog's record, with its profile and extinction coefficients for object catalogs."""
    with _registry() as registry:
        record = registry.find_catalog(reference)
        if record is None and reference in ("demo", "demo-specz"):
            from tsmaker.demo.builtin import register_demo

            demo_object, demo_specz = register_demo(registry)
            record = demo_object if reference == "demo" else demo_specz
        if record is None:
            if reference in BUILTIN_OBJECT_CATALOGS:
                profile = get_profile(BUILTIN_OBJECT_CATALOGS[reference])
                return {
                    "name": reference, "kind": "object", "location": None,
                    "registered": False, **_profile_dict(profile),
                }
            record = registry.get_catalog(reference)
    shown = record.to_dict()
    if record.kind == "object":
        shown.update(_profile_dict(get_profile(record.profile or "generic")))
        shown["flux_types"] = None
        try:
            from tsmaker.inputs.profiles import discover_flux_types, read_object_catalog_info

            info = read_object_catalog_info(record.location)
            shown["flux_types"] = {k: "".join(v) for k, v in
                                   discover_flux_types(info.columns).items()}
            shown["margin_threshold_arcsec"] = info.margin_threshold_arcsec
        except CatalogError as error:
            shown["unreachable"] = str(error)
    return shown


def _profile_dict(profile: Any) -> dict[str, Any]:
    return {
        "profile": profile.name,
        "profile_description": profile.description,
        "bands": "".join(profile.bands),
        "default_flux_type": profile.default_flux_type,
        "extinction_coeffs": dict(profile.extinction_coeffs),
        "ebv_column": profile.ebv_column,
        "row_filters": [list(f) for f in profile.row_filters],
    }


def flux_types(reference: str) -> dict[str, list[str]]:
    """Flux types (and their bands) in an object catalog's schema."""
    from tsmaker.inputs.profiles import discover_flux_types, read_object_catalog_info

    location = _object_location(reference)
    info = read_object_catalog_info(location)
    return {key: list(value) for key, value in discover_flux_types(info.columns).items()}


def _object_location(reference: str) -> str:
    with _registry() as registry:
        from tsmaker.inputs.resolve import resolve_object_catalog

        location, _ = resolve_object_catalog(reference, registry)
    return location


def add_object_catalog(
    name: str, location: str, *, profile: str = "generic", description: str = ""
) -> dict[str, Any]:
    """Register a HATS object catalog or collection after reading its metadata."""
    from tsmaker.inputs.profiles import read_object_catalog_info

    get_profile(profile)
    if "://" not in location:
        path = Path(location).expanduser()
        if not path.exists():
            raise CatalogError(f"object catalog path {location!r} does not exist; check it")
        location = str(path.resolve())
    info = read_object_catalog_info(location)
    with _registry() as registry:
        record = registry.add_catalog(
            kind="object", name=name, location=location, profile=profile,
            description=description or PROFILES[profile].description,
            row_count=info.total_rows, fingerprint=info.fingerprint,
            columns={"ra": info.ra_column, "dec": info.dec_column},
        )
    return record.to_dict()


def add_redshift_catalog(
    name: str, path: Path, overrides: dict[str, str | None], *, description: str = ""
) -> dict[str, Any]:
    """Register a redshift catalog: read it, detect its columns, count its rows."""
    from tsmaker.inputs.redshift import detect_columns, read_table

    path = path.expanduser()
    frame = read_table(path)
    if frame.empty:
        raise InputError(f"redshift catalog {str(path)!r} has no rows; give a non-empty catalog")
    roles = detect_columns(list(frame.columns), overrides)
    with _registry() as registry:
        record = registry.add_catalog(
            kind="redshift", name=name, location=str(path.resolve()), columns=roles,
            description=description, row_count=len(frame),
            fingerprint={"size_bytes": path.stat().st_size} if path.is_file() else {},
        )
    return record.to_dict()


def remove_product(reference: str, *, force: bool = False) -> dict[str, Any]:
    """Delete a product's files, then its record."""
    import shutil

    with _registry() as registry:
        product = registry.get_product(reference)
        if product.status == "running" and not force:
            from tsmaker.errors import ProductError

            raise ProductError(
                f"product {product.full_name} is still running; wait for it, or add --force"
            )
        for name in product.files:
            path = Path(name)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        removed = registry.remove_product(product.id, force=True)
    return removed.to_dict()
