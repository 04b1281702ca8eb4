"""The training-set pipeline: resolve inputs, check them, match, finish, stream to disk.

Every check that can fail on bad input runs before the product is registered and
before any object data is read. Each partition is finished (ranking, E(B-V),
photometry, split, sort) inside the Dask graph; the driver only receives finished
partitions, in HEALPix order, and streams them to a temporary file that is renamed
when complete. A product is marked done only after its files are complete.
"""

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsmaker import settings
from tsmaker.catalogs import (
    BUILTIN_OBJECT_CATALOGS,
    ObjectCatalogInfo,
    ObjectProfile,
    discover_flux_types,
    flux_columns,
    get_profile,
    guess_id_column,
    read_object_catalog_info,
)
from tsmaker.crossmatch import (
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    MatchParameters,
    rank_matches,
    reserved_redshift_renames,
    sort_rows,
)
from tsmaker.errors import CatalogError, InputError, RunInterrupted
from tsmaker.parameters import RunParameters
from tsmaker.redshift import SPECZ_ROW_COLUMN, RedshiftCatalog

Reporter = Callable[..., None]
"""``report(event, **info)``: events ``step`` (text), ``notice`` (text), ``partitions``
(total), ``advance`` (rows) and ``done`` (summary). The CLI renders them."""

SPLIT_COLUMN = "is_training"
EBV_COLUMN = "ebv"


def _silent(event: str, **info: Any) -> None:
    return None


@dataclass(frozen=True)
class PartitionRecipe:
    """What the per-partition step does; shipped to the Dask workers."""

    key_column: str
    object_id_column: str | None
    object_ra_column: str
    object_dec_column: str
    flux_type: str | None
    bands: tuple[str, ...]
    magnitudes: bool
    zero_point: float
    dust: str
    dust_location: Any
    extinction_coeffs: dict[str, float]
    split_fraction: float | None
    seed: int
    column_order: tuple[str, ...] = ()
    redshift_dtypes: tuple[tuple[str, str], ...] = ()
    """The redshift columns' dtypes in the file, restored after LSDB's Arrow types."""


def finish_partition(frame: Any, recipe: PartitionRecipe, keep_index: bool = False) -> Any:
    """Rank, deredden, add magnitudes, flag the split, sort: one partition of matches.

    Returns a plain pandas DataFrame in the documented row order, index dropped (or
    kept as the spec-z ``_healpix_29`` index with ``keep_index``, for HATS output).
    """
    import numpy as np
    import pandas as pd

    from tsmaker.photometry import add_photometry
    from tsmaker.split import training_flags

    frame = pd.DataFrame(frame)
    frame = rank_matches(frame, recipe.key_column, recipe.object_id_column)
    ebv = None
    if recipe.dust == "catalog":
        ebv = frame[EBV_COLUMN].to_numpy(dtype=np.float64, na_value=np.nan)
    elif recipe.dust != "none":
        from tsmaker.dust import ebv_at

        ebv = ebv_at(
            recipe.dust,
            frame[recipe.object_ra_column].to_numpy(dtype=np.float64),
            frame[recipe.object_dec_column].to_numpy(dtype=np.float64),
            recipe.dust_location,
        )
        frame[EBV_COLUMN] = ebv
    if recipe.flux_type is not None:
        add_photometry(
            frame,
            flux_type=recipe.flux_type,
            bands=recipe.bands,
            magnitudes=recipe.magnitudes,
            zero_point=recipe.zero_point,
            ebv=ebv,
            extinction_coeffs=recipe.extinction_coeffs,
        )
    if recipe.split_fraction is not None:
        frame[SPLIT_COLUMN] = training_flags(
            frame[recipe.key_column], recipe.split_fraction, recipe.seed
        )
    frame = sort_rows(frame, recipe.key_column, keep_index=keep_index)
    if recipe.column_order:
        frame = frame[[c for c in recipe.column_order if c in frame.columns]]
    return numpy_dtypes(frame, dict(recipe.redshift_dtypes))


def numpy_dtypes(frame: Any, known: dict[str, str]) -> Any:
    """Replace LSDB's Arrow-backed dtypes by the plain ones users get from pandas.

    Redshift columns get back their dtype in the input file; other Arrow columns become
    numpy floats/ints/bools (object columns are never missing in a match), strings ``str``.
    Every partition therefore has the same dtypes, whatever its values.
    """
    import pandas as pd
    import pyarrow as pa

    converted = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if name in known:
            if str(dtype) != known[name]:
                converted[name] = known[name]
            continue
        if not isinstance(dtype, pd.ArrowDtype):
            continue
        arrow_type = dtype.pyarrow_dtype
        if pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type) or (
            pa.types.is_boolean(arrow_type)
        ):
            has_missing = bool(frame[name].isna().any())
            if pa.types.is_floating(arrow_type) or not has_missing:
                converted[name] = arrow_type.to_pandas_dtype()
            else:
                converted[name] = "Int64" if pa.types.is_integer(arrow_type) else "boolean"
        elif pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            converted[name] = "str"
    if not converted:
        return frame
    result = frame.astype({k: v for k, v in converted.items()
                           if not _is_float_dtype(v)})
    for name, target in converted.items():
        if _is_float_dtype(target):
            result[name] = frame[name].to_numpy(dtype=target, na_value=float("nan"))
    return result


def _is_float_dtype(dtype: Any) -> bool:
    import numpy as np

    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return False


@dataclass
class RunPlan:
    """Everything resolved and checked, before the product is registered."""

    parameters: RunParameters
    redshift: RedshiftCatalog
    redshift_location: str
    object_info: ObjectCatalogInfo
    profile: ObjectProfile
    object_columns: list[str]
    recipe: PartitionRecipe
    output_dir: Path
    units: dict[str, str]
    string_widths: dict[str, int]
    inputs: dict[str, Any]
    notices: list[str] = field(default_factory=list)


def make_training_set(
    name: str,
    redshift_catalog: str | Path,
    object_catalog: str | Path,
    *,
    registry: Any = None,
    report: Reporter | None = None,
    **options: Any,
) -> Any:
    """Build a training set and register it as a product.

    Parameters
    ----------
    name : str
        Product name; registered as ``NAME_<id>``.
    redshift_catalog : str or Path
        A registered redshift catalog (name or id) or a Parquet/CSV/FITS/HDF5/HATS path.
    object_catalog : str or Path
        A registered object catalog (``dp1``, ``dp02``, ``demo``, ...) or a HATS path/URL.
    registry : tsmaker.registry.Registry, optional
        Defaults to the registry in ``$TSMAKER_HOME``.
    report : callable, optional
        Progress callback ``report(event, **info)``.
    **options
        Any other :class:`tsmaker.parameters.RunParameters` field, e.g.
        ``radius_arcsec=1.0, n_neighbors=1, flux_type="cModel", output_format="parquet",
        dust="none", unique="none", split_fraction=None, where=None``, and execution
        settings under ``execution={"workers": 2}``.

    Returns
    -------
    tsmaker.registry.ProductRecord
        The finished product (``status == "done"``).

    Examples
    --------
    The built-in demo (generated on first use in ``$TSMAKER_HOME/demo``):

    >>> getfixture("monkeypatch").setenv("TSMAKER_HOME", str(getfixture("tmp_path")))
    >>> from tsmaker import make_training_set
    >>> product = make_training_set("demo_train", "demo-specz", "demo", n_neighbors=2)
    >>> product.full_name, product.status
    ('demo_train_1', 'done')
    >>> product.summary["matched_specz"] <= product.rows <= 2 * product.summary["matched_specz"]
    True
    """
    parameters = RunParameters(
        name=name,
        redshift_catalog=str(redshift_catalog),
        object_catalog=str(object_catalog),
        **options,
    )
    return run(parameters, registry=registry, report=report)


def run(parameters: RunParameters, *, registry: Any = None, report: Reporter | None = None) -> Any:
    """Run a training set from a :class:`RunParameters` (the CLI's entry point)."""
    from tsmaker.registry import Registry

    report = report or _silent
    parameters.validate()
    own_registry = registry is None
    registry = registry or Registry.open_default()
    try:
        reap_interrupted_products(registry)
        plan = plan_run(parameters, registry, report)
        return execute_plan(plan, registry, report)
    finally:
        if own_registry:
            registry.close()


def plan_run(parameters: RunParameters, registry: Any, report: Reporter) -> RunPlan:
    """Resolve and check every input; read the redshift catalog. Nothing is registered."""
    execution_settings(parameters.execution).validate()
    report("step", text="Checking the object catalog")
    object_location, profile_name = resolve_object_catalog(parameters.object_catalog, registry)
    profile = get_profile(profile_name)
    object_info = read_object_catalog_info(object_location)
    MatchParameters(parameters.radius_arcsec, int(parameters.n_neighbors)).validate(
        object_info.margin_threshold_arcsec, object_location
    )
    notices: list[str] = []
    available = discover_flux_types(object_info.columns)
    flux_type, bands = _choose_flux_type(parameters, profile, available, object_location, notices)
    dust_location = _check_dust(parameters, profile, object_info, object_location)
    coefficients = dict(profile.extinction_coeffs)
    coefficients.update(parameters.extinction_coeffs or {})
    if parameters.dust != "none" and flux_type is not None:
        missing = [band for band in bands if band not in coefficients]
        if missing:
            raise InputError(
                f"no extinction coefficient for band(s) {', '.join(missing)}; "
                "give them with --extinction-coeffs band=value,..."
            )
    id_column = guess_id_column(object_info.columns, profile)
    if parameters.unique == "closest" and id_column is None:
        raise CatalogError(
            f"--unique closest needs an object id column, and {object_location!r} has none "
            "of objectId/object_id/id; use --unique none"
        )
    object_columns = _object_columns(
        object_info, profile, id_column, flux_type, bands, parameters.dust
    )
    output_dir = _check_output_dir(parameters.output_dir)

    report("step", text="Reading the redshift catalog")
    redshift_location, redshift = load_redshift(parameters, registry)
    taken = set(object_columns) | _generated_columns(flux_type, bands, parameters)
    renames = reserved_redshift_renames(list(redshift.frame.columns), taken)
    if renames:
        redshift.frame = redshift.frame.rename(columns=renames)
        redshift.roles = {role: renames.get(col, col) for role, col in redshift.roles.items()}
        notices.append(
            "redshift columns renamed to avoid clashes: "
            + ", ".join(f"{old} -> {new}" for old, new in renames.items())
        )
    _report_cleaning(redshift.report, notices)

    filter_columns = [column for column, _, _ in profile.row_filters]
    column_order = (
        list(redshift.frame.columns)
        + [c for c in object_columns if c not in filter_columns]
        + ([EBV_COLUMN] if parameters.dust not in ("none", "catalog") else [])
        + [MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN]
        + _photometry_columns(flux_type, bands, parameters)
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
        dust=parameters.dust,
        dust_location=dust_location,
        extinction_coeffs=coefficients,
        split_fraction=parameters.split_fraction,
        seed=int(parameters.seed),
        column_order=tuple(dict.fromkeys(column_order)),
        redshift_dtypes=tuple((name, str(dtype)) for name, dtype in
                              redshift.frame.dtypes.items()),
    )
    units = _units(redshift, object_info, recipe)
    string_widths = _string_widths(redshift.frame)
    inputs = {
        "redshift": {
            "reference": parameters.redshift_catalog,
            "location": redshift_location,
            "columns": redshift.roles,
            "fingerprint": _file_fingerprint(Path(redshift_location)),
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
    return RunPlan(
        parameters=parameters,
        redshift=redshift,
        redshift_location=redshift_location,
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


def execute_plan(plan: RunPlan, registry: Any, report: Reporter) -> Any:
    """Register the product, compute and stream it to disk, then mark it done."""
    from tsmaker.registry import safe_file_stem

    parameters = plan.parameters
    stored_parameters = parameters.to_dict()
    stored_parameters["flux_type"] = plan.recipe.flux_type
    stored_parameters["bands"] = list(plan.recipe.bands)
    stored_parameters["extinction_coeffs"] = (
        plan.recipe.extinction_coeffs if parameters.dust != "none" else None
    )
    stored_parameters["sort_order"] = "spec-z HEALPix order-29 index, spec-z key, match_rank"
    product = registry.create_product(
        name=parameters.name,
        description=parameters.description,
        parameters=stored_parameters,
        inputs=plan.inputs,
        versions=software_versions(),
    )
    for notice in plan.notices:
        report("notice", text=notice)
    started = time.monotonic()
    stem = safe_file_stem(parameters.name, product.id)
    data_path, sidecar = product_paths(plan, stem)
    try:
        registry.update_product_summary(
            product.id, {"planned_files": [str(data_path), str(sidecar)]}
        )
        summary = _compute_and_write(plan, data_path, report)
        summary["elapsed_seconds"] = round(time.monotonic() - started, 3)
        if summary["rows"] == 0:
            notice = (
                f"no spec-z has an object within {parameters.radius_arcsec:g} arcsec: the "
                "product is empty (check that the catalogs overlap on the sky, or the radius)"
            )
            plan.notices.append(notice)
            report("notice", text=notice)
        summary["notices"] = plan.notices
        record = product.to_dict()
        record.update(status="done", rows=summary["rows"], summary=summary)
        record["files"] = [str(data_path), str(sidecar)]
        _write_json_atomically(sidecar, record)
        finished = registry.finish_product(
            product.id, rows=summary["rows"], files=[str(data_path), str(sidecar)],
            summary=summary,
        )
    except BaseException as error:
        interrupted = isinstance(error, KeyboardInterrupt | RunInterrupted)
        message = "interrupted" if interrupted else f"{type(error).__name__}: {error}"
        registry.fail_product(
            product.id, status="interrupted" if interrupted else "failed", message=message[:2000]
        )
        raise
    report("done", summary=summary, product=finished)
    return finished


def _compute_and_write(plan: RunPlan, data_path: Path, report: Reporter) -> dict[str, Any]:
    from tsmaker.output import write_product

    return write_product(plan, data_path, report)


def product_paths(plan: RunPlan, stem: str) -> tuple[Path, Path]:
    """The product's data file (or HATS folder) and its sidecar JSON."""
    if plan.parameters.output_format == "hats":
        suffix = ".hats"
    else:
        from tsmaker.writers import writer_for

        suffix = writer_for(plan.parameters.output_format).suffix
    return plan.output_dir / f"{stem}{suffix}", plan.output_dir / f"{stem}.json"


def reap_interrupted_products(registry: Any) -> list[int]:
    """Mark products whose process died as interrupted and delete their partial files.

    A run killed with SIGKILL cannot clean up after itself; the next command does. Only
    hidden temporary names (``.<file>.partial-<pid>``, ``.<file>.parts``) are removed,
    never a file under its final name.
    """
    import shutil

    reaped = registry.reap_stale_products()
    for product_id in reaped:
        product = registry.get_product(product_id)
        for planned in (product.summary or {}).get("planned_files", []):
            path = Path(planned)
            for leftover in path.parent.glob(f".{path.name}.partial-{product.pid}"):
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
            shutil.rmtree(path.parent / f".{path.name}.parts", ignore_errors=True)
    return reaped


def resolve_object_catalog(reference: str, registry: Any) -> tuple[str, str]:
    """Location and profile name of an object catalog reference."""
    record = registry.find_catalog(reference, kind="object")
    if record is not None:
        return record.location, record.profile or "generic"
    if reference == "demo":
        from tsmaker.demo import register_demo

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
    from tsmaker.redshift import load_redshift_catalog

    reference = parameters.redshift_catalog
    record = registry.find_catalog(reference, kind="redshift")
    if record is None and reference == "demo-specz":
        from tsmaker.demo import register_demo

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

    from tsmaker.execution import ExecutionSettings, SlurmSettings

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


def _choose_flux_type(
    parameters: RunParameters,
    profile: ObjectProfile,
    available: dict[str, tuple[str, ...]],
    location: str,
    notices: list[str],
) -> tuple[str | None, tuple[str, ...]]:
    from tsmaker.catalogs import require_flux_type

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


def _check_dust(
    parameters: RunParameters, profile: ObjectProfile, info: ObjectCatalogInfo, location: str
) -> Any:
    if parameters.dust == "none":
        return None
    if parameters.dust == "catalog":
        if EBV_COLUMN not in info.columns:
            raise CatalogError(
                f"--dust catalog needs an {EBV_COLUMN!r} column, and object catalog "
                f"{location!r} has none; use a dust map instead (--dust sfd)"
            )
        return None
    from tsmaker.dust import require_map

    return require_map(parameters.dust, Path(parameters.dust_dir) if parameters.dust_dir else None)


def _object_columns(
    info: ObjectCatalogInfo,
    profile: ObjectProfile,
    id_column: str | None,
    flux_type: str | None,
    bands: tuple[str, ...],
    dust: str,
) -> list[str]:
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


def _generated_columns(
    flux_type: str | None, bands: tuple[str, ...], parameters: RunParameters
) -> set[str]:
    return {
        MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN, SPLIT_COLUMN, EBV_COLUMN, "_dist_arcsec",
        "_healpix_29", *_photometry_columns(flux_type, bands, parameters),
    }


def _photometry_columns(
    flux_type: str | None, bands: tuple[str, ...], parameters: RunParameters
) -> list[str]:
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


def _units(redshift: RedshiftCatalog, info: ObjectCatalogInfo, recipe: PartitionRecipe) -> dict:
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


def _string_widths(frame: Any) -> dict[str, int]:
    widths = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind in "biufcmMb":
            continue
        values = column.dropna()
        if len(values) and isinstance(values.iloc[0], str):
            widths[name] = max(1, int(values.str.encode("utf-8").str.len().max()))
    return widths


def _check_output_dir(output_dir: str | None) -> Path:
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


def _report_cleaning(cleaning: dict[str, int], notices: list[str]) -> None:
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


def _file_fingerprint(path: Path) -> dict[str, Any]:
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


def software_versions() -> dict[str, str | None]:
    """Versions of tsmaker and the libraries that shape its results."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for package in ("tsmaker", "lsdb", "hats", "dustmaps", "nested-pandas", "dask", "pandas",
                    "pyarrow", "numpy", "astropy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    temporary.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


__all__ = ["make_training_set", "run", "RunParameters", "SPECZ_ROW_COLUMN"]
