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

from tsmaker.columns import (
    EBV_COLUMN,
    MATCH_DISTANCE_COLUMN,
    MATCH_RANK_COLUMN,
    RAIL_REDSHIFT_COLUMN,
    SPLIT_COLUMN,
    added_columns,
    photometry_columns,
    product_units,
    reserved_redshift_renames,
)
from tsmaker.errors import about
from tsmaker.inputs.crd import CRD_NOTICES
from tsmaker.inputs.in_memory import stored_table_description
from tsmaker.inputs.object_catalog import ObjectCatalogInfo
from tsmaker.inputs.profiles import ObjectProfile
from tsmaker.inputs.redshift import NO_COLUMN, RedshiftCatalog
from tsmaker.inputs.resolve import file_fingerprint
from tsmaker.parameters import RunParameters
from tsmaker.run.checks import check_object_catalog, check_output_dir, column_overrides
from tsmaker.run.execution import ExecutionSettings
from tsmaker.run.partition import PartitionRecipe
from tsmaker.run.rerun import EarlierProduct, check_inputs, resolve_redshift
from tsmaker.science.representativeness import sample_rate

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tsmaker.registry import Registry

Reporter = Callable[..., None]
"""``report(event, **info)``: events ``step`` (text), ``notice`` (text), ``partitions``
(total), ``advance`` (rows, partitions: how many partitions those rows finish),
``finishing`` (the complete files start moving into place: from now on the product
ends done unless that fails) and ``done`` (summary). The front ends render them."""


def silent(event: str, **info: object) -> None:
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
    redshift_healpix: np.ndarray | None = None
    """Order-29 index of each spec-z (planning reuses it; dropped once it has)."""


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

    execution = ExecutionSettings.from_mapping(parameters.execution)
    execution.validate()
    if execution.starts_local_cluster:
        from tsmaker.run.worker_server import start_worker_server

        start_worker_server()  # imports in the background while the inputs are read
    report("step", text="Checking the object catalog")
    notices: list[str] = []
    checked = check_object_catalog(parameters, registry, notices, earlier=earlier)
    object_info, profile, source = checked.info, checked.profile, checked.dust
    flux_type, bands, id_column = checked.flux_type, checked.bands, checked.id_column
    object_columns, object_location = checked.columns, checked.info.location
    coefficients = checked.extinction_coeffs
    with about("output_dir"):
        output_dir = check_output_dir(parameters.output_dir)

    report("step", text="Reading the redshift catalog")
    with about("redshift_catalog"):
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
        crd_duplicates=parameters.crd_duplicates,
    )
    notices += redshift.notices
    # The file's columns (before any rename below), and the roles turned off ("none"),
    # so that a rerun from the recorded inputs chooses the same.
    file_columns = dict(redshift.roles) | {
        role: NO_COLUMN for role, column in overrides.items()
        if column and column.lower() == NO_COLUMN and role not in redshift.roles}
    taken = set(object_columns) | added_columns(
        flux_type, bands, magnitudes=parameters.magnitudes, dereddened=source.dereddens,
        naming=parameters.naming,
    )
    renames = naming_redshift_renames(redshift, taken, parameters.naming)
    if renames:
        redshift.frame = redshift.frame.rename(columns=renames)
        redshift.roles = {role: renames.get(col, col) for role, col in redshift.roles.items()}
        clashes = {old: new for old, new in renames.items() if new != RAIL_REDSHIFT_COLUMN}
        if clashes:
            notices.append(
                "redshift columns renamed to avoid clashes: "
                + ", ".join(f"{old} -> {new}" for old, new in clashes.items())
            )
    notices += cleaning_notices(redshift.report)

    filter_columns = [column for column, _, _ in profile.row_filters]
    column_order = (
        list(redshift.frame.columns)
        + [c for c in object_columns if c not in filter_columns]
        + ([EBV_COLUMN] if source.adds_ebv_column else [])
        + [MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN]
        + photometry_columns(flux_type, bands, magnitudes=parameters.magnitudes,
                             dereddened=source.dereddens, naming=parameters.naming)
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
        naming=parameters.naming,
        sample_rate=sample_rate(object_info.total_rows) if flux_type is not None else 0.0,
    )
    from tsmaker.formats import writer_for

    writer_for(parameters.output_format).check_column_names(recipe.column_order)
    redshift_healpix = None
    if object_info.files is not None:
        from tsmaker.matching.planning import healpix_meeting_catalog

        redshift_healpix = healpix_meeting_catalog(
            redshift.frame, ra_column=redshift.roles["ra"], dec_column=redshift.roles["dec"],
            object_files=object_info.files, radius_arcsec=float(parameters.radius_arcsec),
            redshift_source=redshift_reference.location, object_location=object_location,
        )
    units = product_units(
        file_units=redshift.units,
        redshift_coordinates=(redshift.roles["ra"], redshift.roles["dec"]),
        object_coordinates=(object_info.ra_column, object_info.dec_column),
        flux_type=flux_type,
        bands=bands,
        naming=parameters.naming,
    )
    # Fixed-width strings (FITS, HDF5) take the longest value of the whole catalog;
    # Parquet records it for astropy's reader.
    string_widths = (measure_string_widths(redshift.frame)
                     if parameters.output_format != "csv" else {})
    inputs = {
        "redshift": {
            "reference": parameters.redshift_catalog,
            "location": redshift_reference.location,
            "columns": redshift.roles,
            "fingerprint": file_fingerprint(Path(redshift_reference.location)),
            "cleaning": redshift.report,
            "file_columns": file_columns,
        },
        "object": {
            "reference": parameters.object_catalog,
            "location": object_location,
            "profile": profile.name,
            "fingerprint": object_info.fingerprint,
            "margin_threshold_arcsec": object_info.margin_threshold_arcsec,
        },
    }
    in_memory = stored_table_description(redshift_reference.location)
    if in_memory is not None:
        inputs["redshift"]["in_memory"] = in_memory
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
        redshift_healpix=redshift_healpix,
    )


def naming_redshift_renames(
    redshift: RedshiftCatalog, taken: set[str], naming: str
) -> dict[str, str]:
    """The redshift columns' renames: ``_specz`` where a name is taken.

    Under ``--naming rail`` the redshift column also becomes ``redshift`` (RAIL's
    ``redshift_col``).
    """
    columns = list(redshift.frame.columns)
    z_column = redshift.roles["z"]
    if naming != "rail" or z_column == RAIL_REDSHIFT_COLUMN:
        return reserved_redshift_renames(columns, taken)
    # The redshift takes the name; a column already called so steps aside.
    renames = reserved_redshift_renames(columns, taken | {RAIL_REDSHIFT_COLUMN})
    renames[z_column] = RAIL_REDSHIFT_COLUMN
    return renames


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


CLEANING_NOTICES: dict[str, str] = {
    **CRD_NOTICES,
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

