"""Spectroscopic-redshift catalogs: reading, column roles, validation and quality cuts.

Column roles
    ``ra``, ``dec`` (degrees), ``z``, and the optional ``z_err``, ``z_flag``, ``id``.
    They are detected from common names where exactly one candidate exists; otherwise
    the user names them (``--ra COL`` ...).

Cleaning, in this order, each step counted in the report:
    1. ``specz_row`` (0-based row number in the file) is added, so every spec-z keeps
       an identity even without an id column.
    2. rows with NaN or infinite coordinates are dropped; Dec outside [-90, 90] is refused;
       RA outside [0, 360) is wrapped into it; RA in hours or radians is refused
       (obvious cases) unless ``coord_unit`` says so, in which case it is converted.
    3. missing-redshift sentinels are dropped: NaN, z <= -0.5 (-1, -9.999, -99) and
       z >= 99 (99, 999). Stars with slightly negative z are kept.
    4. ``z_min`` / ``z_max`` (inclusive), then the ``--where`` expression. A catalog
       left with no row is refused (with the count each step dropped).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsmaker.errors import InputError

ROLES: tuple[str, ...] = ("ra", "dec", "z", "z_err", "z_flag", "id")
REQUIRED_ROLES: tuple[str, ...] = ("ra", "dec", "z")
ROLE_FLAGS: dict[str, str] = {
    "ra": "--ra", "dec": "--dec", "z": "--z", "z_err": "--z-err", "z_flag": "--z-flag",
    "id": "--id",
}
ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "ra": ("ra", "ra_deg", "radeg", "target_ra", "alpha_j2000", "raj2000", "ra_j2000",
           "ra_icrs", "ra_obj", "alpha", "ra_gal", "ra_spec", "coord_ra"),
    "dec": ("dec", "dec_deg", "decdeg", "target_dec", "delta_j2000", "dej2000", "decj2000",
            "dec_j2000", "de_icrs", "dec_icrs", "dec_obj", "delta", "dec_gal", "dec_spec",
            "coord_dec"),
    "z": ("z", "z_spec", "zspec", "specz", "spec_z", "redshift", "z_best", "zbest",
          "z_helio", "zhelio", "z_cmb"),
    "z_err": ("z_err", "zerr", "z_error", "zerror", "e_z", "err_z", "z_spec_err",
              "zspec_err", "redshift_err", "sigma_z", "zsigma"),
    "z_flag": ("z_flag", "zflag", "qual", "quality", "qop", "z_qual", "zqual", "q_z",
               "flag_z", "zconf", "z_conf", "zwarning", "zwarn", "nq"),
    "id": ("id", "specz_id", "objid", "obj_id", "targetid", "target_id", "specobjid",
           "ozdes_id", "unique_id", "source_id", "galaxy_id", "cataid"),
}

SPECZ_ROW_COLUMN = "specz_row"
COORD_UNITS: tuple[str, ...] = ("auto", "deg", "hour", "rad")
SUFFIXES_BY_FORMAT: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet", ".parq", ".pq"),
    "csv": (".csv", ".csv.gz", ".txt", ".tsv"),
    "fits": (".fits", ".fit", ".fits.gz", ".fz"),
    "hdf5": (".hdf5", ".h5", ".hdf"),
}


def format_from_suffix(path: Path) -> str | None:
    """The table format a file name ends in (``SUFFIXES_BY_FORMAT``), or None."""
    name = path.name.lower()
    for format_name, suffixes in SUFFIXES_BY_FORMAT.items():
        if name.endswith(suffixes):
            return format_name
    return None


def file_format(path: Path) -> str:
    """The format of a redshift file: ``parquet``, ``csv``, ``fits``, ``hdf5`` or ``hats``."""
    if path.is_dir():
        if (path / "hats.properties").exists() or (path / "collection.properties").exists():
            return "hats"
        raise InputError(
            f"{str(path)!r} is a folder but not a HATS catalog (no hats.properties); "
            "give a Parquet, CSV, FITS or HDF5 file or a HATS folder"
        )
    format_name = format_from_suffix(path)
    if format_name is not None:
        return format_name
    raise InputError(
        f"cannot tell the format of {str(path)!r} from its name; use a file ending in "
        ".parquet, .csv, .fits or .hdf5"
    )


def read_table(path: Path, columns: list[str] | None = None) -> Any:
    """Read a redshift table into a pandas DataFrame.

    Raises
    ------
    InputError
        If the file is missing, unreadable, corrupt, or holds no table.
    """
    import pandas as pd

    if not path.exists():
        raise InputError(f"redshift file {str(path)!r} does not exist; check the path")
    format_name = file_format(path)
    try:
        if format_name == "parquet":
            frame = pd.read_parquet(path, columns=columns)
        elif format_name == "csv":
            _refuse_binary_text(path)
            separator = "\t" if path.name.lower().endswith(".tsv") else ","
            frame = pd.read_csv(path, sep=separator, usecols=columns, comment="#")
        elif format_name == "fits":
            frame = _read_fits(path, columns)
        elif format_name == "hdf5":
            frame = _read_hdf5(path, columns)
        else:
            import lsdb

            catalog = lsdb.open_catalog(path, columns=columns)
            frame = pd.DataFrame(catalog.compute(progress_bar=False))
            frame = frame.reset_index(drop=True)
    except InputError:
        raise
    except Exception as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(
            f"cannot read {format_name} file {str(path)!r}: {message}; check that the file "
            "is complete and in that format"
        ) from error
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("__index_level_")])
    return frame.reset_index(drop=True)


def _keep_rows(frame: Any, keep: Any) -> Any:
    """The rows of `frame` where `keep` (a numpy bool array) is True.

    The frame itself when every row is kept: selecting rows copies every column, and
    most catalogs lose no row at most steps.
    """
    return frame if keep.all() else frame[keep]


def _refuse_binary_text(path: Path) -> None:
    """Refuse a "CSV" file that holds binary data before pandas turns it into odd columns.

    Without this, garbage bytes parse as one column with an unprintable name, and the
    user is told that no RA column was found instead of that the file is not text.
    """
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        sample = handle.read(1 << 16)
    control = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r")
    if b"\x00" in sample or control > max(8, len(sample) // 100):
        raise InputError(
            f"{str(path)!r} is not a text CSV file (it holds binary bytes such as NUL or "
            "control characters); give a comma-separated text file, or a Parquet, FITS "
            "or HDF5 file with the matching extension"
        )


def _read_fits(path: Path, columns: list[str] | None) -> Any:
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=True) as hdus:
        table_index = next(
            (i for i, hdu in enumerate(hdus) if isinstance(hdu, fits.BinTableHDU | fits.TableHDU)),
            None,
        )
        if table_index is None:
            raise InputError(
                f"FITS file {str(path)!r} has no table extension (only images); "
                "give a FITS binary table"
            )
    table = Table.read(path, hdu=table_index, memmap=True, character_as_bytes=False)
    if columns is not None:
        table = table[columns]
    units = {name: str(table[name].unit) for name in table.colnames if table[name].unit}
    multidim = [name for name in table.colnames if len(table[name].shape) > 1]
    table.remove_columns(multidim)
    frame = table.to_pandas()
    frame.attrs["units"] = units
    return frame


def _read_hdf5(path: Path, columns: list[str] | None) -> Any:
    import h5py
    import pandas as pd

    with h5py.File(path, "r") as handle:
        datasets = []
        handle.visititems(
            lambda name, obj: datasets.append(name)
            if isinstance(obj, h5py.Dataset) and obj.dtype.names else None
        )
        if not datasets:
            # A pandas/PyTables file stores its table differently: let pandas read it.
            return pd.read_hdf(path, columns=columns)
        data = handle[datasets[0]][()]
    frame = pd.DataFrame.from_records(data, columns=columns)
    for name in frame.columns:
        if frame[name].dtype == object and len(frame) and isinstance(frame[name].iloc[0], bytes):
            frame[name] = frame[name].str.decode("utf-8")
    return frame


def detect_columns(columns: list[str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Assign column roles from explicit overrides, else from common names.

    Parameters
    ----------
    columns : list of str
        The file's column names.
    overrides : mapping of role to column name
        Columns the user named; ``None`` means detect.

    Returns
    -------
    dict of str to str
        Role -> column name, for every role that was found.

    Raises
    ------
    InputError
        When a named column does not exist, or a required role (ra, dec, z) has no
        candidate or several.
    """
    by_lower: dict[str, list[str]] = {}
    for name in columns:
        by_lower.setdefault(str(name).lower(), []).append(str(name))
    roles: dict[str, str] = {}
    for role in ROLES:
        wanted = overrides.get(role)
        if wanted:
            if wanted not in columns:
                raise InputError(
                    f"{ROLE_FLAGS[role]} {wanted!r}: no such column; columns are: "
                    f"{', '.join(map(str, columns))}"
                )
            roles[role] = wanted
            continue
        taken = set(roles.values())
        candidates = [
            name
            for candidate in ROLE_CANDIDATES[role]
            for name in by_lower.get(candidate, [])
            if name not in taken
        ]
        if len(candidates) == 1:
            roles[role] = candidates[0]
        elif role in REQUIRED_ROLES:
            if candidates:
                raise InputError(
                    f"several columns could be the {role} column ({', '.join(candidates)}); "
                    f"choose one with {ROLE_FLAGS[role]} COLUMN"
                )
            raise InputError(
                f"no {role} column found among: {', '.join(map(str, columns))}; "
                f"name it with {ROLE_FLAGS[role]} COLUMN"
            )
    return roles


@dataclass
class RedshiftCatalog:
    """A cleaned redshift catalog ready to be matched."""

    frame: Any
    """pandas DataFrame: the file's columns plus ``specz_row``."""
    roles: dict[str, str]
    """Role -> column name."""
    report: dict[str, int] = field(default_factory=dict)
    """Rows read, and rows dropped or changed by each cleaning step."""
    units: dict[str, str] = field(default_factory=dict)
    """Column units from the file, where it had them."""

    @property
    def key_column(self) -> str:
        """The column identifying a spec-z: the id column, else ``specz_row``."""
        return self.roles.get("id", SPECZ_ROW_COLUMN)


def load_redshift_catalog(
    path: Path,
    overrides: Mapping[str, str | None],
    *,
    coord_unit: str = "auto",
    z_min: float | None = None,
    z_max: float | None = None,
    where: str | None = None,
    drop_sentinels: bool = True,
) -> RedshiftCatalog:
    """Read, check and clean a redshift catalog (see the module docstring for the steps).

    Raises
    ------
    InputError
        For unreadable files, missing or ambiguous columns, bad coordinates, duplicated
        ids, an empty catalog, or a bad filter.
    """
    frame = read_table(path)
    units = dict(frame.attrs.get("units", {}))
    roles = detect_columns(list(frame.columns), overrides)
    catalog = RedshiftCatalog(frame=frame, roles=roles, units=units)
    cleaned = clean_redshift_catalog(
        catalog, source=str(path), coord_unit=coord_unit, z_min=z_min, z_max=z_max,
        where=where, drop_sentinels=drop_sentinels,
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


def clean_redshift_catalog(
    catalog: RedshiftCatalog,
    *,
    source: str,
    coord_unit: str = "auto",
    z_min: float | None = None,
    z_max: float | None = None,
    where: str | None = None,
    drop_sentinels: bool = True,
) -> RedshiftCatalog:
    """Apply the cleaning steps of the module docstring to ``catalog`` (a new object)."""
    import numpy as np

    # A shallow copy: every step below replaces whole columns or selects rows, and never
    # writes into the caller's arrays, so a deep copy (one more catalog in memory) is
    # not needed to leave the caller's frame as it was.
    frame = catalog.frame.copy(deep=False)
    roles = catalog.roles
    report: dict[str, int] = {"rows_read": len(frame)}
    if frame.empty:
        raise InputError(f"redshift catalog {source!r} has no rows; give a non-empty catalog")
    if coord_unit not in COORD_UNITS:
        raise InputError(
            f"--coord-unit {coord_unit!r} is not one of: {', '.join(COORD_UNITS)}"
        )
    if SPECZ_ROW_COLUMN in frame.columns:
        frame = frame.rename(columns={SPECZ_ROW_COLUMN: f"{SPECZ_ROW_COLUMN}_file"})
    frame[SPECZ_ROW_COLUMN] = np.arange(len(frame), dtype=np.int64)

    ra_name, dec_name, z_name = roles["ra"], roles["dec"], roles["z"]
    for role in ("ra", "dec", "z"):
        column = roles[role]
        try:
            frame[column] = frame[column].astype("float64")
        except (TypeError, ValueError):
            raise InputError(
                f"{role} column {column!r} is not numeric (e.g. {frame[column].iloc[0]!r}); "
                f"convert it, or pick another with {ROLE_FLAGS[role]}"
            ) from None
    # Infinite coordinates are as unusable as NaN ones (np.mod(inf, 360) is NaN).
    bad_coords = ~(np.isfinite(frame[ra_name].to_numpy()) & np.isfinite(frame[dec_name].to_numpy()))
    report["dropped_nan_coordinates"] = int(bad_coords.sum())
    frame = _keep_rows(frame, ~bad_coords)
    if frame.empty:
        raise InputError(f"redshift catalog {source!r} has no row with finite RA and Dec")

    unit = coord_unit if coord_unit != "auto" else _unit_from_metadata(catalog.units, ra_name)
    if unit == "auto":
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
                f"ids (e.g. {example!r}); give a unique column with --id, or remove duplicates"
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
        frame=frame.reset_index(drop=True), roles=dict(roles), report=report, units=catalog.units
    )


def _unit_from_metadata(units: Mapping[str, str], ra_name: str) -> str:
    unit = units.get(ra_name, "").strip().lower()
    if unit in {"h", "hour", "hourangle", "hr"}:
        return "hour"
    if unit in {"rad", "radian", "radians"}:
        return "rad"
    return "auto"


def _refuse_non_degrees(ra: Any, dec: Any, ra_name: str) -> None:
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
