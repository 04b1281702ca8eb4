"""The catalogs the registry knows: list, show, add, remove, and an object catalog's flux types.

Each function takes an open registry (or opens the default one) and returns plain
JSON-safe data for the front ends to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker.errors import CatalogError, InputError, ParameterError, about
from tsmaker.inputs.builtin import BUILTIN_CATALOGS, provide, registration_hint
from tsmaker.inputs.profiles import PROFILES, ObjectProfile, get_profile
from tsmaker.registry import using_registry

if TYPE_CHECKING:
    from tsmaker.registry import CatalogRecord, Registry


def list_catalogs(
    registry: Registry | None = None, *, check_reachable: bool = True
) -> list[dict[str, object]]:
    """Registered catalogs, plus the built-in names not registered yet.

    Each row: id, name, kind, profile, location, rows (where known), reachable (now;
    None when ``check_reachable`` is false, which asks no remote catalog anything),
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
            "reachable": is_reachable(record.location) if check_reachable else None,
            "description": record.description,
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


def show_catalog(reference: str, registry: Registry | None = None) -> dict[str, object]:
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


def profile_summary(profile: ObjectProfile) -> dict[str, object]:
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
) -> dict[str, object]:
    """Register a HATS object catalog or collection after reading its metadata."""
    from tsmaker.inputs.object_catalog import read_object_catalog_info

    with about("profile"):
        get_profile(profile)
    with about("location"):
        if "://" not in location:
            path = Path(location).expanduser()
            if not path.exists():
                raise CatalogError(f"object catalog path {location!r} does not exist; check it")
            location = str(path.resolve())
        info = read_object_catalog_info(location)
    with using_registry(registry) as opened:
        with about("name"):
            record = opened.add_catalog(
                kind="object", name=name, location=location, profile=profile,
                description=description or PROFILES[profile].description,
                row_count=info.total_rows, fingerprint=info.fingerprint,
                columns={"ra": info.ra_column, "dec": info.dec_column},
            )
    return record.to_dict()


def add_redshift_catalog(
    name: str, path: Path, overrides: dict[str, str | None], *, description: str = "",
    detect: bool = True, registry: Registry | None = None,
) -> dict[str, Any]:
    """Register a redshift catalog: read it, choose its columns, count its rows.

    ``overrides`` names the column of some roles; the others are detected from the
    names real releases use, unless ``detect`` is false (columns confirmed on a form):
    then the roles named are all there is, and ra, dec and z must be among them.

    Returns the catalog's record, plus ``detection``: for each role the column chosen
    (or none) and why (``reasons``), and what the user should know (``notices``). A
    role given as ``"none"`` is registered as such, so runs do not detect it.
    """
    from tsmaker.formats.tables import read_table
    from tsmaker.inputs.crd import crd_role_overrides
    from tsmaker.inputs.redshift import (
        NO_COLUMN,
        REQUIRED_ROLES,
        ROLE_PARAMETERS,
        ROLES,
        choose_columns,
    )
    from tsmaker.inputs.resolve import file_fingerprint
    from tsmaker.parameters import parameter_error

    if not detect:
        for role in REQUIRED_ROLES:
            if not overrides.get(role):
                raise parameter_error(ROLE_PARAMETERS[role], f"no {role} column chosen; choose "
                                      "one with {set}COLUMN")
        overrides = {role: overrides.get(role) or NO_COLUMN for role in ROLES}

    path = Path(path).expanduser()
    with about("file"):
        frame = read_table(path)
        if frame.empty:
            raise InputError(
                f"redshift catalog {str(path)!r} has no rows; give a non-empty catalog"
            )
    choice = choose_columns(
        list(frame.columns), crd_role_overrides(frame.columns, overrides), frame
    )
    columns = dict(choice.roles)
    columns.update({role: NO_COLUMN for role, column in overrides.items()
                    if column and column.lower() == NO_COLUMN and role not in columns})
    with using_registry(registry) as opened:
        with about("name"):
            record = opened.add_catalog(
                kind="redshift", name=name, location=str(path.resolve()), columns=columns,
                description=description, row_count=len(frame),
                fingerprint=file_fingerprint(path.resolve()),
            )
    return {**record.to_dict(),
            "detection": {"reasons": choice.reasons, "notices": choice.notices}}


def inspect_redshift_file(path: Path, *, read_rows: bool = True) -> dict[str, Any]:
    """What registering a redshift file would use: its columns and the detected roles.

    For a front end that shows the detected RA/Dec/z/id/flag/error columns for
    confirmation before :func:`add_redshift_catalog`. The detection is the one a run
    and ``catalogs add-redshift`` use (:func:`tsmaker.inputs.redshift.choose_columns`).

    Parameters
    ----------
    path : Path
        A Parquet, CSV, FITS or HDF5 file, or a HATS folder.
    read_rows : bool
        Read the whole table (proving it readable, counting its rows, and checking
        candidates by value: an id column only when unique), or only its header.

    Returns
    -------
    dict
        ``columns`` (names in file order), ``rows`` (None with ``read_rows=False``),
        ``detected`` (role -> column, or None where none was chosen), ``reasons`` (role
        -> why), ``notices`` and ``problems`` (role -> message, for a required role that
        has no single column).

    Raises
    ------
    InputError
        The file is not a readable table, or (read) it has no rows.
    """
    from tsmaker.formats.tables import REDSHIFT_TABLE, read_table, table_columns
    from tsmaker.inputs.crd import crd_role_overrides
    from tsmaker.inputs.redshift import REQUIRED_ROLES, ROLES, choose_columns, column_candidates

    path = Path(path)
    rows: int | None = None
    frame = None
    if read_rows:
        frame = read_table(path)
        if frame.empty:
            raise InputError(f"redshift catalog {str(path)!r} has no rows; give a non-empty "
                             "catalog")
        columns, rows = [str(name) for name in frame.columns], len(frame)
    else:
        columns = table_columns(path, REDSHIFT_TABLE)
    overrides = crd_role_overrides(columns, {})
    detected: dict[str, str | None] = dict.fromkeys(ROLES)
    problems: dict[str, str] = {}
    try:
        choice = choose_columns(columns, overrides, frame)
    except ParameterError as error:
        # A required role without a single column: offer the unambiguous ones.
        role = error.parameter.removesuffix("_column") if error.parameter else "ra"
        problems[role] = error.message("cli")  # as `catalogs add-redshift` says it
        for other in ROLES:
            candidates = column_candidates(
                columns, other, taken={c for c in detected.values() if c})
            if len(candidates) == 1 and other not in problems:
                detected[other] = candidates[0]
        for required in REQUIRED_ROLES:
            if detected[required] is None and required not in problems:
                problems[required] = f"no single {required} column found; choose one"
        return {"columns": columns, "rows": rows, "detected": detected, "reasons": {},
                "notices": [], "problems": problems}
    detected.update(choice.roles)
    return {"columns": columns, "rows": rows, "detected": detected,
            "reasons": choice.reasons, "notices": choice.notices, "problems": problems}


def remove_catalog(reference: str, registry: Registry | None = None) -> dict[str, object]:
    """Forget a registered catalog (its files are not touched); its last record."""
    with using_registry(registry) as opened:
        return opened.remove_catalog(reference).to_dict()
