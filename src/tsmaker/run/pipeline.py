"""The training-set pipeline: resolve inputs, check them, match, finish, stream to disk.

Every check that can fail on bad input runs before the product is registered and
before any object data is read. Each partition is read, matched and finished
(ranking, E(B-V), photometry, split, sort) on a thread or a Dask worker; the driver
only receives finished partitions, in HEALPix order, and streams them to a temporary
file that is renamed when complete. A product is marked done only after its files are complete.
"""

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsmaker.inputs.profiles import (
    ObjectCatalogInfo,
    ObjectProfile,
    discover_flux_types,
    get_profile,
    guess_id_column,
    read_object_catalog_info,
)
from tsmaker.matching.crossmatch import (
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    MatchParameters,
    reserved_redshift_renames,
)
from tsmaker.errors import CatalogError, InputError, RunInterrupted
from tsmaker.parameters import RunParameters
from tsmaker.run.partition import EBV_COLUMN, SPLIT_COLUMN, PartitionRecipe
from tsmaker.inputs.redshift import RedshiftCatalog
from tsmaker.inputs.resolve import (
    check_dust,
    check_output_dir,
    choose_flux_type,
    column_units,
    columns_to_read,
    execution_settings,
    file_fingerprint,
    generated_columns,
    load_redshift,
    measure_string_widths,
    photometry_columns,
    report_cleaning,
    resolve_object_catalog,
)

Reporter = Callable[..., None]
"""``report(event, **info)``: events ``step`` (text), ``notice`` (text), ``partitions``
(total), ``advance`` (rows, partitions: how many partitions those rows finish) and
``done`` (summary). The CLI renders them."""


def _silent(event: str, **info: Any) -> None:
    return None


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
    registry : tsmaker.registry.database.Registry, optional
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
    tsmaker.registry.records.ProductRecord
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
    from tsmaker.registry.database import Registry

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
    settings = execution_settings(parameters.execution)
    settings.validate()
    if settings.starts_local_cluster:
        from tsmaker.run.execution import start_worker_server

        start_worker_server()  # imports in the background while the inputs are read
    report("step", text="Checking the object catalog")
    object_location, profile_name = resolve_object_catalog(parameters.object_catalog, registry)
    profile = get_profile(profile_name)
    object_info = read_object_catalog_info(object_location)
    MatchParameters(parameters.radius_arcsec, int(parameters.n_neighbors)).validate(
        object_info.margin_threshold_arcsec, object_location
    )
    notices: list[str] = []
    available = discover_flux_types(object_info.columns)
    flux_type, bands = choose_flux_type(parameters, profile, available, object_location, notices)
    dust_location = check_dust(parameters, profile, object_info, object_location)
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
    object_columns = columns_to_read(
        object_info, profile, id_column, flux_type, bands, parameters.dust
    )
    output_dir = check_output_dir(parameters.output_dir)

    report("step", text="Reading the redshift catalog")
    redshift_location, redshift = load_redshift(parameters, registry)
    taken = set(object_columns) | generated_columns(flux_type, bands, parameters)
    renames = reserved_redshift_renames(list(redshift.frame.columns), taken)
    if renames:
        redshift.frame = redshift.frame.rename(columns=renames)
        redshift.roles = {role: renames.get(col, col) for role, col in redshift.roles.items()}
        notices.append(
            "redshift columns renamed to avoid clashes: "
            + ", ".join(f"{old} -> {new}" for old, new in renames.items())
        )
    report_cleaning(redshift.report, notices)

    filter_columns = [column for column, _, _ in profile.row_filters]
    column_order = (
        list(redshift.frame.columns)
        + [c for c in object_columns if c not in filter_columns]
        + ([EBV_COLUMN] if parameters.dust not in ("none", "catalog") else [])
        + [MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN]
        + photometry_columns(flux_type, bands, parameters)
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
    )
    units = column_units(redshift, object_info, recipe)
    # Fixed-width strings (FITS, HDF5) take the longest value of the whole catalog.
    fixed_width = parameters.output_format in ("fits", "hdf5")
    string_widths = measure_string_widths(redshift.frame) if fixed_width else {}
    inputs = {
        "redshift": {
            "reference": parameters.redshift_catalog,
            "location": redshift_location,
            "columns": redshift.roles,
            "fingerprint": file_fingerprint(Path(redshift_location)),
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
    from tsmaker.registry.records import safe_file_stem

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
    from tsmaker.run.output import write_product

    return write_product(plan, data_path, report)


def product_paths(plan: RunPlan, stem: str) -> tuple[Path, Path]:
    """The product's data file (or HATS folder) and its sidecar JSON."""
    if plan.parameters.output_format == "hats":
        suffix = ".hats"
    else:
        from tsmaker.formats import writer_for

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


__all__ = ["make_training_set", "run", "RunParameters"]
