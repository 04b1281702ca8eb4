"""The ``tsmaker`` command line: parse, call one library function, render. No logic here.

Heavy libraries (pandas, lsdb, dask) are imported inside the commands that need them,
so ``tsmaker --help`` and ``tsmaker catalogs list`` start quickly.
"""

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tsmaker import __version__, settings
from tsmaker.errors import RunInterrupted, TsmakerError

_ENV_HELP = "\n\n".join(
    f"[bold]{name}[/bold]: {text}" for name, text in settings.ENVIRONMENT_VARIABLES.items()
)

app = typer.Typer(
    name="tsmaker",
    help="Training Set Maker: spec-z catalogs crossmatched with LSST Object photometry.\n\n"
    "Environment variables:\n\n" + _ENV_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
catalogs_app = typer.Typer(help="Register, list and inspect object and redshift catalogs.",
                           no_args_is_help=True)
products_app = typer.Typer(help="List, inspect, locate, plot and remove products.",
                           no_args_is_help=True)
dust_app = typer.Typer(help="Dust maps: where they are, and fetching them.", no_args_is_help=True)
app.add_typer(catalogs_app, name="catalogs")
app.add_typer(products_app, name="products")
app.add_typer(dust_app, name="dust")

JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tsmaker {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Training Set Maker."""


def _registry() -> Any:
    from tsmaker.registry.database import Registry

    return Registry.open_default()


# ---------------------------------------------------------------------------- run

_RUN = "Run"
_MATCH = "Matching"
_PHOT = "Photometry and dust"
_SELECT = "Selection"
_COLUMNS = "Redshift columns"
_EXEC = "Execution"


@app.command()
def run(
    name: Annotated[str | None, typer.Option(help="Product name (registered as NAME_<id>).",
                                             rich_help_panel=_RUN)] = None,
    description: Annotated[str | None, typer.Option(help="Free text stored with the product.",
                                                    rich_help_panel=_RUN)] = None,
    redshift: Annotated[str | None, typer.Option(
        help="Registered redshift catalog (name or id) or a Parquet/CSV/FITS/HDF5/HATS path.",
        rich_help_panel=_RUN)] = None,
    object_: Annotated[str | None, typer.Option(
        "--object", help="Registered object catalog (dp1, dp02, demo, ...) or a HATS path/URL.",
        rich_help_panel=_RUN)] = None,
    output_format: Annotated[str | None, typer.Option(
        "--format", help="parquet, csv, fits, hdf5 or hats. [default: parquet]",
        rich_help_panel=_RUN)] = None,
    output_dir: Annotated[Path | None, typer.Option(
        help="Folder for the files. [default: $TSMAKER_HOME/products]",
        rich_help_panel=_RUN)] = None,
    radius: Annotated[float | None, typer.Option(
        help="Match radius in arcsec. [default: 1.0]", rich_help_panel=_MATCH)] = None,
    neighbors: Annotated[int | None, typer.Option(
        help="Nearest objects kept per spec-z. [default: 1]", rich_help_panel=_MATCH)] = None,
    flux_type: Annotated[str | None, typer.Option(
        help="Flux type, e.g. cModel, gaap1p0, psf. [default: the profile's]",
        rich_help_panel=_PHOT)] = None,
    mag: Annotated[bool | None, typer.Option(
        "--mag/--flux", help="Add AB magnitudes, or keep fluxes only. [default: --mag]",
        rich_help_panel=_PHOT)] = None,
    zero_point: Annotated[float | None, typer.Option(
        help="AB zero point of the fluxes (31.4 for nJy). [default: 31.4]",
        rich_help_panel=_PHOT)] = None,
    dust: Annotated[str | None, typer.Option(
        help="E(B-V) for dereddening: none, catalog, sfd, csfd, planck, planck-gnilc. "
        "[default: none]", rich_help_panel=_PHOT)] = None,
    dust_dir: Annotated[Path | None, typer.Option(
        help="Folder holding dust-map files.", rich_help_panel=_PHOT)] = None,
    extinction_coeffs: Annotated[str | None, typer.Option(
        help="R_band overrides, e.g. u=4.81,g=3.64.", rich_help_panel=_PHOT)] = None,
    unique: Annotated[str | None, typer.Option(
        help="none, or closest: each object and each spec-z at most once. [default: none]",
        rich_help_panel=_SELECT)] = None,
    z_flag_better: Annotated[str | None, typer.Option(
        help="Better quality flags are higher (2dFLenS, OzDES) or lower (DESI ZWARN); breaks "
        "--unique ties. [default: higher]", rich_help_panel=_SELECT)] = None,
    split: Annotated[float | None, typer.Option(
        help="Fraction of spec-z flagged is_training (0-1).", rich_help_panel=_SELECT)] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the split. [default: 0]", rich_help_panel=_SELECT)] = None,
    where: Annotated[str | None, typer.Option(
        help='Filter on the redshift catalog, e.g. "z_flag >= 3 and z > 0".',
        rich_help_panel=_SELECT)] = None,
    z_min: Annotated[float | None, typer.Option(help="Keep z >= this.",
                                                rich_help_panel=_SELECT)] = None,
    z_max: Annotated[float | None, typer.Option(help="Keep z <= this.",
                                                rich_help_panel=_SELECT)] = None,
    keep_sentinels: Annotated[bool | None, typer.Option(
        "--keep-sentinels", help="Keep missing-redshift sentinels (NaN, <= -0.5, >= 99).",
        rich_help_panel=_SELECT)] = None,
    ra: Annotated[str | None, typer.Option(help="RA column (degrees).",
                                           rich_help_panel=_COLUMNS)] = None,
    dec: Annotated[str | None, typer.Option(help="Dec column (degrees).",
                                            rich_help_panel=_COLUMNS)] = None,
    z: Annotated[str | None, typer.Option(help="Redshift column.",
                                          rich_help_panel=_COLUMNS)] = None,
    z_err: Annotated[str | None, typer.Option(help="Redshift error column.",
                                              rich_help_panel=_COLUMNS)] = None,
    z_flag: Annotated[str | None, typer.Option(help="Quality flag column (see --z-flag-better).",
                                               rich_help_panel=_COLUMNS)] = None,
    id_: Annotated[str | None, typer.Option("--id", help="Unique spec-z id column.",
                                            rich_help_panel=_COLUMNS)] = None,
    coord_unit: Annotated[str | None, typer.Option(
        help="auto, deg, hour (RA in hours) or rad. [default: auto]",
        rich_help_panel=_COLUMNS)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes of a local Dask cluster. [default: threads in this process]",
        rich_help_panel=_EXEC)] = None,
    threads_per_worker: Annotated[int | None, typer.Option(rich_help_panel=_EXEC,
                                                           help="Threads per worker.")] = None,
    memory_limit: Annotated[str | None, typer.Option(
        help="Memory limit per worker, e.g. 4GB.", rich_help_panel=_EXEC)] = None,
    scheduler: Annotated[str | None, typer.Option(
        envvar=settings.ENV_SCHEDULER, help="Address of an existing Dask scheduler.",
        rich_help_panel=_EXEC)] = None,
    slurm: Annotated[bool, typer.Option(
        "--slurm", help="Run workers as SLURM jobs (pip install 'tsmaker[hpc]').",
        rich_help_panel=_EXEC)] = False,
    slurm_queue: Annotated[str | None, typer.Option(rich_help_panel=_EXEC,
                                                    help="SLURM partition.")] = None,
    slurm_account: Annotated[str | None, typer.Option(rich_help_panel=_EXEC,
                                                      help="SLURM account.")] = None,
    slurm_cores: Annotated[int, typer.Option(rich_help_panel=_EXEC,
                                             help="Cores per SLURM job.")] = 4,
    slurm_memory: Annotated[str, typer.Option(rich_help_panel=_EXEC,
                                              help="Memory per SLURM job.")] = "16GB",
    slurm_walltime: Annotated[str, typer.Option(rich_help_panel=_EXEC,
                                                help="Walltime per job.")] = "01:00:00",
    slurm_jobs: Annotated[int, typer.Option(rich_help_panel=_EXEC,
                                            help="Number of SLURM jobs.")] = 2,
    slurm_print_script: Annotated[bool, typer.Option(
        "--slurm-print-script", help="Print the SLURM job script and exit.",
        rich_help_panel=_EXEC)] = False,
    config: Annotated[Path | None, typer.Option(
        help="TOML file of run parameters (keys = flag names); flags override it.",
        rich_help_panel=_RUN)] = None,
    save_config: Annotated[Path | None, typer.Option(
        help="Write the run's parameters to this TOML file.", rich_help_panel=_RUN)] = None,
    like: Annotated[str | None, typer.Option(
        help="Start from the parameters of this product (name or id).",
        rich_help_panel=_RUN)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Crossmatch a redshift catalog with an object catalog and write a training set."""
    from tsmaker.parameters import RunParameters, load_config
    from tsmaker.parameters import save_config as write_config

    flags = {
        "name": name, "description": description, "redshift": redshift, "object": object_,
        "format": output_format, "output_dir": str(output_dir) if output_dir else None,
        "radius": radius, "neighbors": neighbors, "flux_type": flux_type, "mag": mag,
        "zero_point": zero_point, "dust": dust,
        "dust_dir": str(dust_dir) if dust_dir else None, "unique": unique, "split": split,
        "z_flag_better": z_flag_better,
        "seed": seed, "where": where, "z_min": z_min, "z_max": z_max,
        "keep_sentinels": keep_sentinels, "ra": ra, "dec": dec, "z": z, "z_err": z_err,
        "z_flag": z_flag, "id": id_, "coord_unit": coord_unit,
    }
    if extinction_coeffs is not None:
        from tsmaker.science.photometry import parse_extinction_coeffs

        flags["extinction_coeffs"] = parse_extinction_coeffs(extinction_coeffs)
    execution = {
        "workers": workers, "threads_per_worker": threads_per_worker,
        "memory_limit": memory_limit, "scheduler": scheduler,
    }
    slurm_settings = {
        "queue": slurm_queue, "account": slurm_account, "cores": slurm_cores,
        "memory": slurm_memory, "walltime": slurm_walltime, "jobs": slurm_jobs,
    }
    if slurm_print_script:
        from tsmaker.run.execution import SlurmSettings, slurm_job_script

        sys.stdout.write(slurm_job_script(SlurmSettings(**slurm_settings)) + "\n")
        return
    values: dict[str, Any] = {}
    if like:
        with _registry() as registry:
            stored = dict(registry.get_product(like).parameters)
        known = RunParameters.__dataclass_fields__
        values.update({k: v for k, v in stored.items() if k in known})
    if config:
        loaded = load_config(config)
        execution.update({k: loaded.pop(k) for k in list(loaded) if k in execution
                          and execution[k] is None})
        values.update(loaded)
    values.update({k: v for k, v in flags.items() if v is not None})
    values["execution"] = {k: v for k, v in execution.items() if v is not None}
    if slurm:
        values["execution"]["slurm"] = slurm_settings
    parameters = RunParameters.from_mapping(values)
    if save_config:
        write_config(parameters, save_config)
    from tsmaker.run.pipeline import run as run_pipeline
    from tsmaker.cli.render import ProgressReporter, print_json, summary_lines

    reporter = ProgressReporter(quiet=quiet or json_output)
    try:
        product = run_pipeline(parameters, report=reporter).to_dict()
    finally:
        reporter.close()
    if json_output:
        print_json(product)
        return
    lines = list(summary_lines(product))
    sys.stdout.write(lines[0] + "\n")
    if not quiet:
        for line in lines[1:]:
            sys.stderr.write(line + "\n")


# ----------------------------------------------------------------------- catalogs


@catalogs_app.command("list")
def catalogs_list(json_output: JsonOption = False) -> None:
    """Object and redshift catalogs: kind, location, rows, reachable now."""
    from tsmaker.manage.catalogs import list_catalogs
    from tsmaker.cli.render import print_json, print_table

    rows = list_catalogs()
    if json_output:
        print_json(rows)
    else:
        print_table(rows, ["name", "kind", "profile", "rows", "reachable", "location"],
                    "Catalogs")


@catalogs_app.command("show")
def catalogs_show(
    ref: Annotated[str, typer.Argument(help="Catalog name or id.")],
    json_output: JsonOption = False,
) -> None:
    """Everything known about one catalog (profile, columns, extinction coefficients)."""
    from tsmaker.manage.catalogs import show_catalog
    from tsmaker.cli.render import print_json, print_record

    record = show_catalog(ref)
    if json_output:
        print_json(record)
    else:
        print_record(record, f"Catalog {record['name']}")


@catalogs_app.command("remove")
def catalogs_remove(ref: Annotated[str, typer.Argument(help="Catalog name or id.")]) -> None:
    """Forget a registered catalog (its files are not touched)."""
    from tsmaker.cli.render import message

    with _registry() as registry:
        record = registry.remove_catalog(ref)
    message(f"Removed {record.kind} catalog {record.name!r} ({record.location})")


@catalogs_app.command("flux-types")
def catalogs_flux_types(
    ref: Annotated[str, typer.Argument(help="Object catalog name, id, or HATS path/URL.")],
    json_output: JsonOption = False,
) -> None:
    """Flux types found in the catalog's schema ({band}_{type}Flux and ...FluxErr)."""
    from tsmaker.manage.catalogs import flux_types
    from tsmaker.cli.render import print_json, print_table

    found = flux_types(ref)
    if json_output:
        print_json(found)
    else:
        rows = [{"flux_type": key, "bands": "".join(bands)} for key, bands in found.items()]
        print_table(rows, ["flux_type", "bands"], f"Flux types in {ref}")


@catalogs_app.command("add-object")
def catalogs_add_object(
    name: Annotated[str, typer.Argument(help="Name to register.")],
    location: Annotated[str, typer.Argument(help="HATS catalog or collection: path or URL.")],
    profile: Annotated[str, typer.Option(help="dp1, dp02, lsstcam or generic.")] = "generic",
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Register a HATS object catalog or collection."""
    from tsmaker.manage.catalogs import add_object_catalog
    from tsmaker.cli.render import message, print_json

    record = add_object_catalog(name, location, profile=profile, description=description)
    if json_output:
        print_json(record)
    else:
        message(f"Registered object catalog {record['name']!r}: {record['location']}")


@catalogs_app.command("add-redshift")
def catalogs_add_redshift(
    name: Annotated[str, typer.Argument(help="Name to register.")],
    file: Annotated[Path, typer.Argument(help="Parquet, CSV, FITS, HDF5 file or HATS folder.")],
    ra: Annotated[str | None, typer.Option(help="RA column (degrees).")] = None,
    dec: Annotated[str | None, typer.Option(help="Dec column (degrees).")] = None,
    z: Annotated[str | None, typer.Option(help="Redshift column.")] = None,
    z_err: Annotated[str | None, typer.Option(help="Redshift error column.")] = None,
    z_flag: Annotated[str | None, typer.Option(help="Quality flag column.")] = None,
    id_: Annotated[str | None, typer.Option("--id", help="Unique id column.")] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Register a redshift catalog; columns are detected from common names."""
    from tsmaker.manage.catalogs import add_redshift_catalog
    from tsmaker.cli.render import message, print_json

    overrides = {"ra": ra, "dec": dec, "z": z, "z_err": z_err, "z_flag": z_flag, "id": id_}
    record = add_redshift_catalog(name, file, overrides, description=description)
    if json_output:
        print_json(record)
    else:
        roles = ", ".join(f"{role}={column}" for role, column in record["columns"].items())
        message(f"Registered redshift catalog {record['name']!r} ({record['row_count']} rows; "
                f"{roles})")


# ----------------------------------------------------------------------- products


@products_app.command("list")
def products_list(json_output: JsonOption = False) -> None:
    """All products, newest first."""
    from tsmaker.run.pipeline import reap_interrupted_products
    from tsmaker.cli.render import print_json, print_table

    with _registry() as registry:
        reap_interrupted_products(registry)
        products = [p.to_dict() for p in registry.list_products()]
    if json_output:
        print_json(products)
    else:
        print_table(products, ["id", "full_name", "status", "rows", "created_at", "description"],
                    "Products")


@products_app.command("show")
def products_show(
    ref: Annotated[str, typer.Argument(help="Product id, NAME_<id>, or a unique name.")],
    json_output: JsonOption = False,
) -> None:
    """Everything recorded about one product."""
    from tsmaker.run.pipeline import reap_interrupted_products
    from tsmaker.cli.render import print_json, print_record

    with _registry() as registry:
        reap_interrupted_products(registry)
        product = registry.get_product(ref).to_dict()
    if json_output:
        print_json(product)
    else:
        print_record(product, f"Product {product['full_name']}")


@products_app.command("path")
def products_path(
    ref: Annotated[str, typer.Argument(help="Product id, NAME_<id>, or a unique name.")],
) -> None:
    """Print the product's data file path (for scripts)."""
    from tsmaker.errors import ProductError

    with _registry() as registry:
        product = registry.get_product(ref)
    if not product.files:
        raise ProductError(f"product {product.full_name} has no files (status {product.status})")
    sys.stdout.write(product.files[0] + "\n")


@products_app.command("rm")
def products_rm(
    ref: Annotated[str, typer.Argument(help="Product id, NAME_<id>, or a unique name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Remove even if still running.")] = False,
) -> None:
    """Remove a product's files and its record together."""
    from tsmaker.manage.catalogs import remove_product
    from tsmaker.cli.render import message

    with _registry() as registry:
        product = registry.get_product(ref)
    if not yes:
        if not sys.stdin.isatty():
            from tsmaker.errors import InputError

            raise InputError(f"refusing to remove {product.full_name} without confirmation; "
                             "add --yes")
        typer.confirm(f"Remove {product.full_name} and {len(product.files)} file(s)?",
                      abort=True)
    removed = remove_product(ref, force=force)
    message(f"Removed {removed['full_name']} ({len(removed['files'])} file(s))")


@products_app.command("plot")
def products_plot(
    ref: Annotated[str, typer.Argument(help="Product id, NAME_<id>, or a unique name.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="PNG file to write.")]
    = None,
) -> None:
    """Redshift, magnitude and match-distance histograms, and the sky (PNG)."""
    from tsmaker.formats.plots import plot_product

    path = plot_product(ref, output)
    sys.stdout.write(str(path) + "\n")


# --------------------------------------------------------------------------- dust


@dust_app.command("status")
def dust_status(
    dust_dir: Annotated[Path | None, typer.Option(help="Also look in this folder first.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Each dust map: where it was looked for, found or not, size."""
    from tsmaker.science.dust import dust_status as status
    from tsmaker.cli.render import print_json, print_table

    rows = []
    for location in status(dust_dir):
        rows.append({
            "map": location.name,
            "found": location.found,
            "directory": str(location.directory) if location.directory else None,
            "size_mb": round(location.size_bytes / 1e6, 1),
            "files": [str(p) for p in location.files],
            "searched": [f"{label}: {folder}" for label, folder in location.searched],
        })
    if json_output:
        print_json(rows)
    else:
        print_table(rows, ["map", "found", "size_mb", "directory", "searched"], "Dust maps")


@dust_app.command("fetch")
def dust_fetch(
    name: Annotated[str, typer.Argument(help="sfd, csfd, planck or planck-gnilc.")],
    dust_dir: Annotated[Path | None, typer.Option(
        help="Download into this folder. [default: $TSMAKER_HOME/dustmaps]")] = None,
    base_url: Annotated[str | None, typer.Option(help="Mirror to download from.")] = None,
) -> None:
    """Download a dust map (with dustmaps' URLs and checksums)."""
    from tsmaker.science.dust_fetch import fetch_map
    from tsmaker.cli.render import message, stderr

    progress_bar = None
    if stderr.is_terminal:
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        progress_bar = Progress(*Progress.get_default_columns(), DownloadColumn(),
                                TransferSpeedColumn(), console=stderr, transient=True)
        progress_bar.start()
        task = progress_bar.add_task(name, total=None)

    def progress(done: int, total: int | None) -> None:
        if progress_bar is not None:
            progress_bar.update(task, completed=done, total=total)

    try:
        location = fetch_map(name, dust_dir, base_url=base_url, progress=progress)
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    message(f"{name}: {location.size_bytes / 1e6:.1f} MB in {location.directory}")


# --------------------------------------------------------------------------- main


def _on_sigterm(signum: int, frame: Any) -> None:
    raise RunInterrupted("stopped by SIGTERM")


def main() -> None:
    """Console entry point: run the app, turn domain errors into one line and an exit code."""
    from tsmaker.cli.render import error

    signal.signal(signal.SIGTERM, _on_sigterm)
    if not settings.debug_enabled():
        _silence_library_chatter()
    try:
        code = app(standalone_mode=False)
    except TsmakerError as problem:
        if settings.debug_enabled():
            raise
        error(str(problem))
        sys.exit(problem.exit_code)
    except KeyboardInterrupt:
        if settings.debug_enabled():
            raise
        error("interrupted")
        sys.exit(130)
    except typer.Abort:
        error("aborted")
        sys.exit(1)
    except _usage_exceptions() as problem:
        if hasattr(problem, "show"):
            problem.show()
        else:
            error(problem.format_message())
        sys.exit(problem.exit_code)
    except Exception as problem:  # an unexpected failure: one line unless debugging
        if settings.debug_enabled():
            raise
        error(f"{type(problem).__name__}: {problem} (set {settings.ENV_DEBUG}=1 for a traceback)")
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C into a returned exit code
        error("interrupted")
    sys.exit(code if isinstance(code, int) else 0)


def _silence_library_chatter() -> None:
    """Keep third-party warnings and Dask's logs off stderr (they are not the user's to act on).

    Replacing the display function works across Dask's threads, where filters set by
    one library can race with another; worker processes get the same through
    PYTHONWARNINGS. Dask's own logging (``distributed.worker - ERROR - Compute
    Failed`` and its traceback before our one-line error, or a heartbeat that races a
    closing scheduler after a successful run) is turned down to critical here and, by
    the environment, in local workers. ``TSMAKER_DEBUG=1`` shows everything.
    """
    import os
    import warnings

    warnings.showwarning = lambda *args, **kwargs: None
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")


def _usage_exceptions() -> tuple[type[BaseException], ...]:
    """Usage errors: typer's own (it vendors click) and click's, exit code 2."""
    from typer.exceptions import TyperException

    try:
        import click
    except ImportError:  # pragma: no cover - typer without click
        return (TyperException,)
    return (TyperException, click.exceptions.ClickException)


if __name__ == "__main__":  # pragma: no cover
    main()
