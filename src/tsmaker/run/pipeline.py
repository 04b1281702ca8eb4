"""The training-set pipeline: plan and check, register, match, finish, stream to disk.

Every check that can fail on bad input runs before the product is registered and
before any object data is read (:mod:`tsmaker.run.plan`). Each partition is read,
matched and finished (ranking, E(B-V), photometry, split, sort) on a thread or a Dask
worker; the driver only receives finished partitions, in HEALPix order, and streams
them to a temporary file that is renamed when complete (:mod:`tsmaker.run.output`).
A product is marked done only after its files are complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import atomic
from tsmaker.config_file import save_config as write_config
from tsmaker.parameters import RunParameters
from tsmaker.run.cancellation import CancellationWatch
from tsmaker.run.ending import failed, finish, recorded_done
from tsmaker.run.plan import Reporter, RunPlan, plan_run, silent
from tsmaker.run.progress import PROGRESS_KEY, ProgressRecorder
from tsmaker.run.provenance import SORT_ORDER, resolved_parameters, software_versions

if TYPE_CHECKING:
    import pandas as pd
    from astropy.table import Table
    from lsdb import Catalog

    from tsmaker.registry import ProductRecord, Registry
    from tsmaker.run.rerun import EarlierProduct

__all__ = ["SORT_ORDER", "execute_plan", "make_training_set", "run", "software_versions"]


def make_training_set(
    name: str | None = None,
    redshift_catalog: str | Path | pd.DataFrame | Table | Catalog | None = None,
    object_catalog: str | Path | None = None,
    *,
    description: str | None = None,
    flux_type: str | None = None,
    magnitudes: bool | None = None,
    zero_point: float | None = None,
    radius_arcsec: float | None = None,
    n_neighbors: int | None = None,
    output_format: str | None = None,
    hdf5_layout: str | None = None,
    hdf5_group: str | None = None,
    output_dir: str | Path | None = None,
    dust: str | None = None,
    dust_dir: str | Path | None = None,
    extinction_coeffs: Mapping[str, float] | None = None,
    unique: str | None = None,
    z_flag_better: str | None = None,
    split_fraction: float | None = None,
    seed: int | None = None,
    where: str | None = None,
    z_min: float | None = None,
    z_max: float | None = None,
    keep_sentinels: bool | None = None,
    ra_column: str | None = None,
    dec_column: str | None = None,
    z_column: str | None = None,
    z_err_column: str | None = None,
    z_flag_column: str | None = None,
    id_column: str | None = None,
    coord_unit: str | None = None,
    naming: str | None = None,
    crd_duplicates: str | None = None,
    execution: Mapping[str, Any] | None = None,
    like: str | int | None = None,
    accept_changed_inputs: bool = False,
    config: str | Path | None = None,
    save_config: str | Path | None = None,
    registry: Registry | None = None,
    report: Reporter | None = None,
) -> ProductRecord:
    """Build a training set and register it as a product.

    Every parameter left as None takes its value from ``like``, then ``config``, then
    the default of :class:`tsmaker.parameters.RunParameters`.

    Parameters
    ----------
    name : str
        Product name; registered as ``NAME_<id>``.
    redshift_catalog : str, Path, pandas.DataFrame, astropy.table.Table or lsdb.Catalog
        A registered redshift catalog (name or id), a Parquet/CSV/FITS/HDF5/HATS path,
        or a table in memory: it is stored once under its content fingerprint in
        ``$TSMAKER_HOME/inputs`` (:mod:`tsmaker.inputs.in_memory`) and the product
        records that file and the fingerprint.
    object_catalog : str or Path
        A registered object catalog (``dp1``, ``dp02``, ``demo``, ...) or a HATS path/URL.
    description : str, optional
        Free text stored with the product.
    flux_type : str, optional
        e.g. ``cModel``, ``gaap1p0``, ``psf``; default the catalog profile's.
    magnitudes : bool, optional
        Add AB magnitudes (default) or keep fluxes only.
    zero_point : float, optional
        AB zero point of the fluxes; 31.4 for nJy.
    radius_arcsec : float, optional
        Match radius, arcsec (default 1.0); at most the catalog's margin.
    n_neighbors : int, optional
        Nearest objects kept per spec-z (default 1).
    output_format : str, optional
        ``parquet`` (default), ``csv``, ``fits``, ``hdf5`` or ``hats``.
    hdf5_layout : str, optional
        ``columns`` (default: a group ``photometry`` of column datasets, as tables_io
        and RAIL read) or ``table`` (one compound dataset, as astropy reads).
    hdf5_group : str, optional
        Group of the ``columns`` layout (default ``photometry``, RAIL's default
        ``hdf5_groupname``).
    output_dir : str or Path, optional
        Folder for the files; default ``$TSMAKER_HOME/products``.
    dust : str, optional
        E(B-V) source: ``none`` (default), ``catalog``, ``sfd``, ``csfd``, ``planck``,
        ``planck-gnilc``.
    dust_dir : str or Path, optional
        Folder searched first for dust-map files.
    extinction_coeffs : mapping, optional
        R_band overrides, e.g. ``{"u": 4.81}``.
    unique : str, optional
        ``closest``: each object and each spec-z at most once; default ``none``.
    z_flag_better : str, optional
        ``higher`` (default) or ``lower`` quality flags are better, for ``unique`` ties.
    split_fraction : float, optional
        Fraction of spec-z flagged ``is_training``.
    seed : int, optional
        Seed of the split (default 0).
    where : str, optional
        Filter on the redshift catalog, e.g. ``"z_flag >= 3 and z > 0"``.
    z_min, z_max : float, optional
        Keep spec-z within these redshifts (inclusive).
    keep_sentinels : bool, optional
        Keep missing-redshift sentinels (NaN, <= -0.5, >= 99).
    ra_column, dec_column, z_column, z_err_column, z_flag_column, id_column : str, optional
        Columns of the redshift catalog; detected from common names when not given.
    coord_unit : str, optional
        ``auto`` (default), ``deg``, ``hour`` (RA in hours) or ``rad``.
    naming : str, optional
        Column names: ``rubin`` (default: ``g_cModelMag``, ...) or ``rail``
        (``mag_g_lsst``, ``mag_err_g_lsst``, the redshift as ``redshift``, non-detections
        as 99 with their 1-sigma limiting magnitude as error), as RAIL reads them.
    crd_duplicates : str, optional
        For a Combine-Redshift-Catalogs file: ``keep-ties`` (default: drop losing
        duplicates and stars, keep unresolved ties), ``drop-ties`` (keep only the winners,
        ``tie_result`` 1) or ``keep-all``.
    execution : mapping, optional
        ``{"workers": 2}``, ``{"scheduler": "tcp://..."}``, ``{"slurm": {...}}``.
    like : str or int, optional
        Start from the parameters of this product (name or id). When the run uses the
        same catalogs, they must not have changed since that product was made (their
        fingerprints are compared); a catalog no longer registered is found where the
        product recorded it.
    accept_changed_inputs : bool
        With ``like``: use catalogs that changed since that product was made, and
        record the change, instead of refusing them.
    config : str or Path, optional
        A TOML/JSON file of parameters keyed by ``tsmaker run`` flag names.
    save_config : str or Path, optional
        Write the run's parameters there as TOML, once they validate against the
        inputs (the catalogs resolve, the columns and the filter are found), before
        anything is computed; a refused run writes nothing.
    registry : tsmaker.registry.Registry, optional
        Defaults to the registry in ``$TSMAKER_HOME``.
    report : callable, optional
        Progress callback ``report(event, **info)``.

    Returns
    -------
    tsmaker.registry.ProductRecord
        The finished product (``status == "done"``).

    Raises
    ------
    tsmaker.errors.ParameterError
        A parameter with a value it cannot take (``str(error)`` names the keyword).
    tsmaker.errors.TsmakerError
        Any other problem with the inputs, or a failed run.

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
    from tsmaker.inputs.in_memory import in_memory_kind, store_table
    from tsmaker.registry import using_registry

    if in_memory_kind(redshift_catalog) is not None:
        redshift_catalog = store_table(redshift_catalog).path
    explicit = {
        "name": name, "redshift_catalog": _text(redshift_catalog),
        "object_catalog": _text(object_catalog), "description": description,
        "flux_type": flux_type, "magnitudes": magnitudes, "zero_point": zero_point,
        "radius_arcsec": radius_arcsec, "n_neighbors": n_neighbors,
        "output_format": output_format, "hdf5_layout": hdf5_layout,
        "hdf5_group": hdf5_group,
        "output_dir": _text(output_dir), "dust": dust,
        "dust_dir": _text(dust_dir),
        "extinction_coeffs": dict(extinction_coeffs) if extinction_coeffs else None,
        "unique": unique, "z_flag_better": z_flag_better, "split_fraction": split_fraction,
        "seed": seed, "where": where, "z_min": z_min, "z_max": z_max,
        "keep_sentinels": keep_sentinels, "ra_column": ra_column, "dec_column": dec_column,
        "z_column": z_column, "z_err_column": z_err_column, "z_flag_column": z_flag_column,
        "id_column": id_column, "coord_unit": coord_unit, "naming": naming,
        "crd_duplicates": crd_duplicates,
        "execution": dict(execution) if execution else None,
    }
    from tsmaker.run.rerun import EarlierProduct

    with using_registry(registry) as opened:
        earlier = EarlierProduct.of(opened.get_product(like),
                                    accept_changed_inputs=accept_changed_inputs) if (
            like is not None) else None
        parameters = RunParameters.from_sources(
            explicit, like=earlier.parameters if earlier else None,
            config=Path(config) if config else None,
        )
        return run(parameters, registry=opened, report=report, earlier=earlier,
                   save_config=Path(save_config) if save_config else None)


def _text(value: str | Path | None) -> str | None:
    return None if value is None else str(value)


def run(
    parameters: RunParameters, *, registry: Registry | None = None,
    report: Reporter | None = None, earlier: EarlierProduct | None = None,
    save_config: Path | None = None,
) -> ProductRecord:
    """Run a training set from a :class:`RunParameters`.

    ``earlier`` is the product the parameters came from (``like``), whose inputs are
    compared with today's (:mod:`tsmaker.run.rerun`). ``save_config`` is written once
    the run is planned: its parameters checked against its inputs.
    """
    from tsmaker.registry import using_registry
    from tsmaker.run.reaping import reap_interrupted_products

    report = report or silent
    parameters.validate()
    with using_registry(registry) as opened:
        reap_interrupted_products(opened)
        plan = plan_run(parameters, opened, report, earlier)
        if save_config is not None:
            write_config(parameters, save_config)
        return execute_plan(plan, opened, report)


def execute_plan(
    plan: RunPlan, registry: Registry, report: Reporter, *, queued_id: int | None = None
) -> ProductRecord:
    """Register the product, compute and stream it to disk, then mark it done.

    With ``queued_id`` the run is that queued product's (:mod:`tsmaker.run.jobs`),
    started now instead of a new product registered.
    """
    from tsmaker.registry.records import safe_file_stem
    from tsmaker.run.files import claim_product_files, renamed_notice
    from tsmaker.run.output import write_product

    parameters = plan.parameters
    stored_parameters = resolved_parameters(plan)
    if queued_id is None:
        product = registry.create_product(
            name=parameters.name,
            description=parameters.description,
            parameters=stored_parameters,
            inputs=plan.inputs,
            versions=software_versions(),
        )
    else:
        product = registry.start_product(
            queued_id, parameters=stored_parameters, inputs=plan.inputs,
            versions=software_versions(),
        )
    progress = ProgressRecorder(registry, product.id, report)
    report = CancellationWatch(registry, product, progress)
    for notice in plan.notices:
        report("notice", text=notice)
    started = time.monotonic()
    stem = safe_file_stem(parameters.name, product.id)
    claim = None
    planned: list[Path] = []
    try:
        claim, data_path, sidecar = claim_product_files(plan, stem)
        renamed = renamed_notice(claim, stem)
        if renamed is not None:
            plan.notices.append(renamed)
            report("notice", text=renamed)
        planned = [data_path, sidecar]
        registry.update_product_summary(
            product.id, {"planned_files": [str(path) for path in planned]}
        )
        summary, pending = write_product(plan, data_path, report)
        summary["elapsed_seconds"] = round(time.monotonic() - started, 3)
        summary[PROGRESS_KEY] = progress.snapshot()
        if summary["rows"] == 0:
            notice = (
                f"no spec-z has an object within {parameters.radius_arcsec:g} arcsec: the "
                "product is empty (check that the catalogs overlap on the sky, or the radius)"
            )
            plan.notices.append(notice)
            report("notice", text=notice)
        summary["notices"] = plan.notices
        finished = finish(registry, product, pending, sidecar, summary, report)
    except BaseException as error:
        # Whatever this process left under a temporary name (a complete file that could
        # not take its name, a scratch folder): as the next command would for a killed run.
        for path in planned:
            for leftover in atomic.leftovers(path, os.getpid()):
                atomic.remove(leftover)
        if recorded_done(registry, product.id):  # too late to undo: the product stays done
            raise
        replacement = failed(registry, product, plan, error)
        if replacement is error:
            raise
        raise replacement from error
    finally:
        if claim is not None:
            claim.release()
    report("done", summary=summary, product=finished)
    return finished
