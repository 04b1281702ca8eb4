"""``tsmaker run``: the options of a run, handed to :func:`tsmaker.make_training_set`."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from tsmaker import settings
from tsmaker.cli.app import SIGNALS, JsonOption, app

_RUN = "Run"
_MATCH = "Matching"
_PHOT = "Photometry and dust"
_SELECT = "Selection"
_COLUMNS = "Redshift columns"
_EXEC = "Execution"


def _number(parameter: str, *, whole: bool = False) -> dict[str, object]:
    """Option settings of a number parameter: read as every front end reads it.

    ``--radius abc`` says what the web form says for ``abc``
    (:func:`tsmaker.flags.parse_number`), a usage error.
    """
    from tsmaker.flags import parse_number

    def parse(text: str) -> float | int:
        return parse_number(parameter, str(text), whole=whole)

    return {"parser": parse, "metavar": "<int>" if whole else "<float>"}


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
        "--format", help="parquet, csv, fits, hdf5 or hats. \\[default: parquet]",
        rich_help_panel=_RUN)] = None,
    hdf5_layout: Annotated[str | None, typer.Option(
        help="HDF5 layout: columns (group 'photometry', one dataset per column: tables_io, "
        "RAIL) or table (one compound dataset 'training_set': astropy). \\[default: columns]",
        rich_help_panel=_RUN)] = None,
    hdf5_group: Annotated[str | None, typer.Option(
        help="Group of the columns layout (RAIL's hdf5_groupname). \\[default: photometry]",
        rich_help_panel=_RUN)] = None,
    output_dir: Annotated[Path | None, typer.Option(
        help="Folder for the files. \\[default: $TSMAKER_HOME/products]",
        rich_help_panel=_RUN)] = None,
    radius: Annotated[float | None, typer.Option(
        **_number("radius_arcsec"), help="Match radius in arcsec. \\[default: 1.0]",
        rich_help_panel=_MATCH)] = None,
    neighbors: Annotated[int | None, typer.Option(
        **_number("n_neighbors", whole=True),
        help="Nearest objects kept per spec-z. \\[default: 1]", rich_help_panel=_MATCH)] = None,
    flux_type: Annotated[str | None, typer.Option(
        help="Flux type, e.g. cModel, gaap1p0, psf. \\[default: the profile's]",
        rich_help_panel=_PHOT)] = None,
    mag: Annotated[bool | None, typer.Option(
        "--mag/--flux", help="Add AB magnitudes ({band}_{type}Mag/MagErr; with --dust only the "
        "dereddened ones, ..Mag_dered), or keep fluxes only. \\[default: --mag]",
        rich_help_panel=_PHOT)] = None,
    zero_point: Annotated[float | None, typer.Option(
        **_number("zero_point"),
        help="AB zero point of the fluxes (31.4 for nJy). \\[default: 31.4]",
        rich_help_panel=_PHOT)] = None,
    naming: Annotated[str | None, typer.Option(
        help="Column names: rubin (g_cModelMag) or rail (mag_g_lsst, mag_err_g_lsst, "
        "redshift; non-detections as 99). \\[default: rubin]", rich_help_panel=_PHOT)] = None,
    dust: Annotated[str | None, typer.Option(
        help="E(B-V) for dereddening: none, catalog, sfd, csfd, planck, planck-gnilc; with "
        "a source, ebv and ..Flux_dered/FluxErr_dered are added. \\[default: none]",
        rich_help_panel=_PHOT)] = None,
    dust_dir: Annotated[Path | None, typer.Option(
        help="Folder holding dust-map files.", rich_help_panel=_PHOT)] = None,
    extinction_coeffs: Annotated[str | None, typer.Option(
        help="R_band overrides, e.g. u=4.81,g=3.64.", rich_help_panel=_PHOT)] = None,
    unique: Annotated[str | None, typer.Option(
        help="none, or closest: each object and each spec-z at most once. \\[default: none]",
        rich_help_panel=_SELECT)] = None,
    z_flag_better: Annotated[str | None, typer.Option(
        help="Better quality flags are higher (2dFLenS, OzDES) or lower (DESI ZWARN); breaks "
        "--unique ties. \\[default: higher]", rich_help_panel=_SELECT)] = None,
    split: Annotated[float | None, typer.Option(
        **_number("split_fraction"), help="Fraction of spec-z flagged is_training (0-1).",
        rich_help_panel=_SELECT)] = None,
    seed: Annotated[int | None, typer.Option(
        **_number("seed", whole=True), help="Seed of the split. \\[default: 0]",
        rich_help_panel=_SELECT)] = None,
    where: Annotated[str | None, typer.Option(
        help='Filter on the redshift catalog, e.g. "z_flag >= 3 and z > 0".',
        rich_help_panel=_SELECT)] = None,
    z_min: Annotated[float | None, typer.Option(**_number("z_min"), help="Keep z >= this.",
                                                rich_help_panel=_SELECT)] = None,
    z_max: Annotated[float | None, typer.Option(**_number("z_max"), help="Keep z <= this.",
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
    z_err: Annotated[str | None, typer.Option(
        help="Redshift error column; none: no error column.", rich_help_panel=_COLUMNS)] = None,
    z_flag: Annotated[str | None, typer.Option(
        help="Quality flag column (see --z-flag-better); none: no flag column.",
        rich_help_panel=_COLUMNS)] = None,
    id_: Annotated[str | None, typer.Option(
        "--id", help="Unique spec-z id column; none: no id column (spec-z keyed by "
        "specz_row).", rich_help_panel=_COLUMNS)] = None,
    coord_unit: Annotated[str | None, typer.Option(
        help="auto, deg, hour (RA in hours) or rad. \\[default: auto]",
        rich_help_panel=_COLUMNS)] = None,
    crd_duplicates: Annotated[str | None, typer.Option(
        help="Combine-Redshift-Catalogs files: keep-ties (drop tie_result 0 and 3 stars, keep "
        "2), drop-ties (keep only 1) or keep-all. \\[default: keep-ties]",
        rich_help_panel=_SELECT)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes of a local Dask cluster. \\[default: threads in this process]",
        rich_help_panel=_EXEC)] = None,
    threads_per_worker: Annotated[int | None, typer.Option(rich_help_panel=_EXEC,
                                                           help="Threads per worker.")] = None,
    memory_limit: Annotated[str | None, typer.Option(
        help="Memory limit per worker, e.g. 4GB.", rich_help_panel=_EXEC)] = None,
    scheduler: Annotated[str | None, typer.Option(
        envvar=settings.ENV_SCHEDULER, help="Address of an existing Dask scheduler.",
        rich_help_panel=_EXEC)] = None,
    slurm: Annotated[bool, typer.Option(
        "--slurm", help="Run workers as SLURM jobs (pip install 'tsmaker\\[hpc]').",
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
        help="Start from the parameters of this product (name or id); its catalogs must "
        "not have changed since.", rich_help_panel=_RUN)] = None,
    accept_changed_inputs: Annotated[bool, typer.Option(
        "--accept-changed-inputs", help="With --like: use catalogs that changed since that "
        "product was made, and record the change.", rich_help_panel=_RUN)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Crossmatch a redshift catalog with an object catalog and write a training set."""
    from tsmaker.parameters import parse_extinction_coeffs

    slurm_settings = {
        "queue": slurm_queue, "account": slurm_account, "cores": slurm_cores,
        "memory": slurm_memory, "walltime": slurm_walltime, "jobs": slurm_jobs,
    }
    if slurm_print_script:
        from tsmaker.run.execution import SlurmSettings, slurm_job_script

        sys.stdout.write(slurm_job_script(SlurmSettings(**slurm_settings)) + "\n")
        return
    from tsmaker.cli.render import ProgressReporter, print_json, summary_lines
    from tsmaker.run.pipeline import make_training_set

    execution = {
        "workers": workers, "threads_per_worker": threads_per_worker,
        "memory_limit": memory_limit, "scheduler": scheduler,
        "slurm": slurm_settings if slurm else None,
    }
    reporter = ProgressReporter(quiet=quiet or json_output)

    def report(event: str, **info: object) -> None:
        if event == "finishing":  # the files move into place: the product will be done
            SIGNALS.hold()
        reporter(event, **info)

    try:
        product = make_training_set(
            name, redshift, object_, description=description, flux_type=flux_type,
            magnitudes=mag, zero_point=zero_point, radius_arcsec=radius,
            n_neighbors=neighbors, output_format=output_format, hdf5_layout=hdf5_layout,
            hdf5_group=hdf5_group,
            output_dir=output_dir,
            dust=dust, dust_dir=dust_dir,
            extinction_coeffs=parse_extinction_coeffs(extinction_coeffs)
            if extinction_coeffs is not None else None,
            unique=unique, z_flag_better=z_flag_better, split_fraction=split, seed=seed,
            where=where, z_min=z_min, z_max=z_max, keep_sentinels=keep_sentinels,
            ra_column=ra, dec_column=dec, z_column=z, z_err_column=z_err,
            z_flag_column=z_flag, id_column=id_, coord_unit=coord_unit, naming=naming,
            crd_duplicates=crd_duplicates,
            execution={k: v for k, v in execution.items() if v is not None},
            like=like, accept_changed_inputs=accept_changed_inputs, config=config,
            save_config=save_config, report=report,
        ).to_dict()
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
