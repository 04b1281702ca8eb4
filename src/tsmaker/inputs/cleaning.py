"""Reading and cleaning a redshift catalog before it is matched; every step counted.

Steps, in this order:
    1. ``specz_row`` (0-based row number in the file) is added, so every spec-z keeps
       an identity even without an id column. A Combine Redshift Catalogs product
       keeps the rows ``crd_duplicates`` chooses (:mod:`tsmaker.inputs.crd`).
    2. sexagesimal text coordinates (RA in hours, Dec in degrees) become degrees;
       rows with NaN or infinite coordinates are dropped; Dec outside [-90, 90] is refused;
       RA outside [0, 360) is wrapped into it; RA in hours or radians is refused
       (obvious cases) unless ``coord_unit`` says so, in which case it is converted.
    3. missing-redshift sentinels are dropped: NaN, z <= -0.5 (-1, -9.999, -99) and
       z >= 99 (99, 999). Stars with slightly negative z are kept.
    4. ``z_min`` / ``z_max`` (inclusive), then the ``--where`` expression. A catalog
       left with no row is refused (with the count each step dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker.columns import SPECZ_ROW_COLUMN
from tsmaker.errors import InputError
from tsmaker.inputs.redshift import ROLE_PARAMETERS, RedshiftCatalog
from tsmaker.parameters import COORD_UNITS, flag_of, parameter_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def clean_redshift_catalog(
    catalog: RedshiftCatalog,
    *,
    source: str,
    coord_unit: str = "auto",
    z_min: float | None = None,
    z_max: float | None = None,
    where: str | None = None,
    drop_sentinels: bool = True,
    crd_duplicates: str = "keep-ties",
) -> RedshiftCatalog:
    """Apply the cleaning steps of the module docstring to ``catalog`` (a new object)."""
    import numpy as np

    from tsmaker.inputs.crd import is_crd_catalog, select_crd_rows

    # A shallow copy: every step below replaces whole columns or selects rows, and never
    # writes into the caller's arrays, so a deep copy (one more catalog in memory) is
    # not needed to leave the caller's frame as it was.
    frame = catalog.frame.copy(deep=False)
    roles = catalog.roles
    report: dict[str, int] = {"rows_read": len(frame)}
    if frame.empty:
        raise InputError(f"redshift catalog {source!r} has no rows; give a non-empty catalog")
    if coord_unit not in COORD_UNITS:
        raise parameter_error(
            "coord_unit", f"{{name}} {coord_unit!r} is not one of: {', '.join(COORD_UNITS)}",
            choice=True,
        )
    if SPECZ_ROW_COLUMN in frame.columns:
        frame = frame.rename(columns={SPECZ_ROW_COLUMN: f"{SPECZ_ROW_COLUMN}_file"})
    frame[SPECZ_ROW_COLUMN] = np.arange(len(frame), dtype=np.int64)
    if is_crd_catalog(list(frame.columns)):
        keep, counts = select_crd_rows(frame, crd_duplicates)
        report.update(counts)
        frame = _keep_rows(frame, keep)

    ra_name, dec_name, z_name = roles["ra"], roles["dec"], roles["z"]
    notices = list(catalog.notices)
    sexagesimal = _sexagesimal_coordinates(frame, ra_name, dec_name)
    if sexagesimal:
        notices.append(
            f"RA {ra_name!r} and Dec {dec_name!r} are sexagesimal text (RA in hours, Dec in "
            "degrees): converted to degrees")
    for role in ("ra", "dec", "z"):
        column = roles[role]
        try:
            frame[column] = frame[column].astype("float64")
        except (TypeError, ValueError):
            raise InputError(
                f"{role} column {column!r} is not numeric (e.g. {frame[column].iloc[0]!r}); "
                f"convert it, or pick another with {flag_of(ROLE_PARAMETERS[role])}"
            ) from None
    # Infinite coordinates are as unusable as NaN ones (np.mod(inf, 360) is NaN).
    bad_coords = ~(np.isfinite(frame[ra_name].to_numpy()) & np.isfinite(frame[dec_name].to_numpy()))
    report["dropped_nan_coordinates"] = int(bad_coords.sum())
    frame = _keep_rows(frame, ~bad_coords)
    if frame.empty:
        raise InputError(f"redshift catalog {source!r} has no row with finite RA and Dec")

    unit = coord_unit if coord_unit != "auto" else _unit_from_metadata(catalog.units, ra_name)
    if sexagesimal:
        pass  # already degrees
    elif unit == "auto":
        _refuse_non_degrees(frame[ra_name].to_numpy(), frame[dec_name].to_numpy(), ra_name)
    elif unit == "hour":
        frame[ra_name] = frame[ra_name] * 15.0
    elif unit == "rad":
        frame[ra_name] = np.degrees(frame[ra_name])
        frame[dec_name] = np.degrees(frame[dec_name])

    dec = frame[dec_name].to_numpy()
    outside = (dec < -90.0) | (dec > 90.0)
    if outside.any():
        first = dec[outside][0]
        raise InputError(
            f"dec column {dec_name!r} has {int(outside.sum())} values outside [-90, 90] "
            f"(e.g. {first}); fix them or pick another column with --dec"
        )
    ra = frame[ra_name].to_numpy()
    wrapped = (ra < 0.0) | (ra >= 360.0)
    report["ra_wrapped_into_0_360"] = int(wrapped.sum())
    if wrapped.any():
        frame[ra_name] = np.mod(ra, 360.0)
        # np.mod can return exactly 360.0 for tiny negative inputs.
        frame.loc[frame[ra_name] >= 360.0, ra_name] = 0.0

    if drop_sentinels:
        z = frame[z_name].to_numpy()
        sentinel = np.isnan(z) | (z <= -0.5) | (z >= 99.0)
        report["dropped_missing_redshift"] = int(sentinel.sum())
        frame = _keep_rows(frame, ~sentinel)
    if z_min is not None:
        below = frame[z_name] < z_min
        report["dropped_z_min"] = int(below.sum())
        frame = _keep_rows(frame, ~below.to_numpy())
    if z_max is not None:
        above = frame[z_name] > z_max
        report["dropped_z_max"] = int(above.sum())
        frame = _keep_rows(frame, ~above.to_numpy())
    if where:
        from tsmaker.inputs.filters import evaluate_where

        keep = evaluate_where(where, frame)
        report["dropped_where"] = int((~keep).sum())
        frame = _keep_rows(frame, np.asarray(keep, dtype=bool))

    if "id" in roles:
        ids = frame[roles["id"]]
        duplicated = ids.duplicated(keep=False)
        if duplicated.any():
            example = ids[duplicated].iloc[0]
            example = example.item() if hasattr(example, "item") else example
            raise InputError(
                f"id column {roles['id']!r} has {int(duplicated.sum())} rows with repeated "
                f"ids (e.g. {example!r}); give a unique column with --id, key the spec-z by "
                "their row with --id none, or remove duplicates"
            )
    report["rows_kept"] = len(frame)
    if frame.empty:
        dropped = ", ".join(
            f"{key.removeprefix('dropped_').replace('_', ' ')}: {count}"
            for key, count in report.items() if key.startswith("dropped_") and count
        )
        raise InputError(
            f"no spec-z left in {source!r} after cleaning ({report['rows_read']} rows read; "
            f"dropped by {dropped}); loosen --z-min/--z-max/--where, or keep missing-redshift "
            "sentinels with --keep-sentinels"
        )
    return RedshiftCatalog(
        frame=frame.reset_index(drop=True), roles=dict(roles), report=report,
        units=catalog.units, notices=notices,
    )


def _sexagesimal_coordinates(frame: pd.DataFrame, ra_name: str, dec_name: str) -> bool:
    """Turn sexagesimal text RA (hours) and Dec (degrees) into degrees, in place.

    Returns True when they were sexagesimal (both must be).
    """
    from tsmaker.inputs.sexagesimal import looks_sexagesimal, sexagesimal_to_degrees

    if not (looks_sexagesimal(frame[ra_name]) and looks_sexagesimal(frame[dec_name])):
        return False
    frame[ra_name] = sexagesimal_to_degrees(frame[ra_name], hours=True)
    frame[dec_name] = sexagesimal_to_degrees(frame[dec_name], hours=False)
    return True


def _keep_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of `frame` where `keep` (a numpy bool array) is True.

    The frame itself when every row is kept: selecting rows copies every column, and
    most catalogs lose no row at most steps.
    """
    return frame if keep.all() else frame[keep]


def _unit_from_metadata(units: Mapping[str, str], ra_name: str) -> str:
    unit = units.get(ra_name, "").strip().lower()
    if unit in {"h", "hour", "hourangle", "hr"}:
        return "hour"
    if unit in {"rad", "radian", "radians"}:
        return "rad"
    return "auto"


def _refuse_non_degrees(ra: np.ndarray, dec: np.ndarray, ra_name: str) -> None:
    """Refuse the obvious cases of RA/Dec not in degrees (only with enough rows to tell)."""
    import numpy as np

    if len(ra) < 20:
        return
    ra_min, ra_max = float(np.min(ra)), float(np.max(ra))
    dec_span = float(np.max(dec) - np.min(dec))
    two_pi, half_pi = 2 * np.pi, np.pi / 2
    if ra_min >= -two_pi and ra_max <= two_pi and np.all(np.abs(dec) <= half_pi) and (
        ra_max - ra_min > 1.0
    ):
        raise InputError(
            f"RA ({ra_name!r}) spans {ra_min:.3g}..{ra_max:.3g} and |Dec| <= pi/2: these look "
            "like radians; convert to degrees or pass --coord-unit rad "
            "(--coord-unit deg if they really are degrees)"
        )
    if ra_min >= 0 and ra_max <= 24.0 and ra_max - ra_min > 12.0 and dec_span > 30.0:
        raise InputError(
            f"RA ({ra_name!r}) spans {ra_min:.3g}..{ra_max:.3g} while Dec spans {dec_span:.3g} "
            "deg: RA looks like hours; convert to degrees or pass --coord-unit hour "
            "(--coord-unit deg if they really are degrees)"
        )


def load_redshift_catalog(
    path: Path,
    overrides: Mapping[str, str | None],
    *,
    coord_unit: str = "auto",
    z_min: float | None = None,
    z_max: float | None = None,
    where: str | None = None,
    drop_sentinels: bool = True,
    crd_duplicates: str = "keep-ties",
) -> RedshiftCatalog:
    """Read, check and clean a redshift catalog (:mod:`tsmaker.inputs.cleaning`).

    Raises
    ------
    InputError
        For unreadable files, missing or ambiguous columns, bad coordinates, duplicated
        ids, an empty catalog, or a bad filter.
    """
    from tsmaker.formats.tables import read_table
    from tsmaker.inputs.crd import crd_role_overrides
    from tsmaker.inputs.redshift import choose_columns

    frame = read_table(path)
    units = dict(frame.attrs.get("units", {}))
    choice = choose_columns(
        list(frame.columns), crd_role_overrides(frame.columns, overrides), frame
    )
    catalog = RedshiftCatalog(frame=frame, roles=choice.roles, units=units,
                              notices=choice.notices)
    cleaned = clean_redshift_catalog(
        catalog, source=str(path), coord_unit=coord_unit, z_min=z_min, z_max=z_max,
        where=where, drop_sentinels=drop_sentinels, crd_duplicates=crd_duplicates,
    )
    release_arrow_memory()
    return cleaned


def release_arrow_memory() -> None:
    """Give the memory Arrow freed back to the system.

    Arrow's allocator keeps freed memory for reuse: after a large catalog is read and
    converted to pandas, the process would go on holding twice the catalog's size.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
