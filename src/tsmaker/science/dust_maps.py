"""Galactic E(B-V) from full-sky dust maps read with ``dustmaps``.

Four maps are supported, named as the ``--dust`` option names them: ``sfd``
(Schlegel, Finkbeiner & Davis 1998), ``csfd`` (Chiang 2023), ``planck`` (Planck
Collaboration 2013) and ``planck-gnilc`` (Planck Collaboration 2016). Map files keep
the sub-folder layout ``dustmaps`` uses (``<dir>/sfd/...``, ``<dir>/csfd/...``,
``<dir>/planck/...``), so one folder can be shared with ``dustmaps`` itself.
This module finds maps and queries them; :mod:`tsmaker.science.dust_map_specs` lists their
files and :mod:`tsmaker.science.dust_fetch` downloads them.

Nothing here imports ``dustmaps`` at module level, reads its configuration through
``dustmaps.config`` (which warns when the file is missing) or writes that file: the
configured ``data_dir`` is read straight from the JSON file.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker import settings
from tsmaker.errors import DustMapError, InputError
from tsmaker.science.dust_map_specs import DUST_MAP_NAMES, MAP_SPECS, MapSpec, map_spec

if TYPE_CHECKING:
    import numpy as np
    from dustmaps.map_base import DustMap


@dataclass(frozen=True)
class DustMapLocation:
    """Where a map's files were looked for and what was found."""

    name: str
    """Map name, one of `DUST_MAP_NAMES`, e.g. ``"sfd"``."""
    directory: Path | None
    """Folder holding all the files when found, else None."""
    files: tuple[Path, ...]
    """Expected file paths in `directory` (in the first candidate folder when not found)."""
    found: bool
    """True when every file of the map exists in `directory`."""
    size_bytes: int
    """Total size of the files found (0 when not found)."""
    searched: tuple[tuple[str, Path], ...]
    """(source label, folder) pairs in search order."""


def _dustmaps_configured_dir() -> Path | None:
    """The ``data_dir`` in dustmaps' JSON config file, or None when not configured.

    The file is read directly (``$DUSTMAPS_CONFIG_FNAME`` or ``~/.dustmapsrc``, as
    ``dustmaps.config`` does) so that nothing is created, rewritten or warned about.
    """
    config_path = os.environ.get("DUSTMAPS_CONFIG_FNAME") or os.path.expanduser("~/.dustmapsrc")
    try:
        with open(config_path, encoding="utf-8") as config_file:
            options = json.load(config_file)
    except (OSError, ValueError):
        return None
    data_dir = options.get("data_dir") if isinstance(options, dict) else None
    if not isinstance(data_dir, str) or not data_dir.strip():
        return None
    return Path(os.path.abspath(os.path.expandvars(os.path.expanduser(data_dir))))


def candidate_dirs(dust_dir: Path | None = None) -> list[tuple[str, Path]]:
    """Folders searched for dust maps, in order, each with the source that named it.

    Parameters
    ----------
    dust_dir : Path or None
        The ``--dust-dir`` option, searched first when given.

    Returns
    -------
    list of (str, Path)
        ``("--dust-dir", ...)``, ``("TSMAKER_DUSTMAPS_DIR", ...)``, ``("dustmaps config",
        ...)`` and ``("TSMAKER_HOME", <home>/dustmaps)``, skipping sources that are not
        set and folders already listed.
    """
    candidates: list[tuple[str, Path]] = []
    if dust_dir is not None:
        candidates.append(("--dust-dir", Path(dust_dir).expanduser()))
    env_dir = os.environ.get(settings.ENV_DUSTMAPS_DIR, "").strip()
    if env_dir:
        candidates.append((settings.ENV_DUSTMAPS_DIR, Path(env_dir).expanduser()))
    configured = _dustmaps_configured_dir()
    if configured is not None:
        candidates.append(("dustmaps config", configured))
    candidates.append((settings.ENV_HOME, settings.default_dustmaps_dir()))

    unique: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for label, folder in candidates:
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((label, folder))
    return unique


def _complete_in(spec: MapSpec, folder: Path) -> tuple[Path, ...] | None:
    """The map's file paths in `folder` if all of them exist there, else None."""
    paths = tuple(folder / map_file.file_name for map_file in spec.files)
    return paths if all(path.is_file() for path in paths) else None


def locate_in(spec: MapSpec, searched: list[tuple[str, Path]]) -> DustMapLocation:
    """Look for the map in each folder's ``dustmaps`` sub-folder, then in the folder."""
    for _label, folder in searched:
        for directory in (folder / spec.subdir, folder):
            paths = _complete_in(spec, directory)
            if paths is not None:
                return DustMapLocation(
                    name=spec.name,
                    directory=directory,
                    files=paths,
                    found=True,
                    size_bytes=sum(path.stat().st_size for path in paths),
                    searched=tuple(searched),
                )
    first = searched[0][1] / spec.subdir
    return DustMapLocation(
        name=spec.name,
        directory=None,
        files=tuple(first / map_file.file_name for map_file in spec.files),
        found=False,
        size_bytes=0,
        searched=tuple(searched),
    )


def locate_map(name: str, dust_dir: Path | None = None) -> DustMapLocation:
    """Find the files of dust map `name` in the folders of `candidate_dirs`.

    Parameters
    ----------
    name : str
        One of `DUST_MAP_NAMES`.
    dust_dir : Path or None
        The ``--dust-dir`` option, searched first when given.

    Returns
    -------
    DustMapLocation
        The first folder holding every file of the map (``<folder>/<subdir>`` is
        tried before ``<folder>`` itself), or ``found=False``.

    Raises
    ------
    InputError
        If `name` is not a known map.
    """
    return locate_in(map_spec(name), candidate_dirs(dust_dir))


def missing_message(location: DustMapLocation) -> str:
    """One line saying which files were looked for where, and the two fixes."""
    spec = map_spec(location.name)
    file_names = ", ".join(map_file.file_name for map_file in spec.files)
    folders = "; ".join(f"{label}: {folder}" for label, folder in location.searched)
    return (
        f"dust map {location.name!r} not found: expected {file_names} in a "
        f"'{spec.subdir}' sub-folder of one of [{folders}]; run `tsmaker dust fetch "
        f"{location.name}`, or point --dust-dir or {settings.ENV_DUSTMAPS_DIR} at a "
        "folder holding an existing copy"
    )


def require_map(name: str, dust_dir: Path | None = None) -> DustMapLocation:
    """Like `locate_map`, but fail when the map is not found.

    Parameters
    ----------
    name : str
        One of `DUST_MAP_NAMES`.
    dust_dir : Path or None
        The ``--dust-dir`` option, searched first when given.

    Returns
    -------
    DustMapLocation
        A location with ``found=True``.

    Raises
    ------
    InputError
        If `name` is not a known map.
    DustMapError
        If no searched folder holds all the map's files; the one-line message names
        the files, the folders searched, and both fixes.
    """
    location = locate_map(name, dust_dir)
    if not location.found:
        raise DustMapError(missing_message(location))
    return location


def dust_status(dust_dir: Path | None = None) -> list[DustMapLocation]:
    """Where each map of `DUST_MAP_NAMES` is, or was looked for.

    Parameters
    ----------
    dust_dir : Path or None
        The ``--dust-dir`` option, searched first when given.

    Returns
    -------
    list of DustMapLocation
        One per map, in `DUST_MAP_NAMES` order.
    """
    searched = candidate_dirs(dust_dir)
    return [locate_in(MAP_SPECS[name], searched) for name in DUST_MAP_NAMES]


# ---------------------------------------------------------------- querying

# Serialises first loads so that Dask threads sharing a worker load a map once (a
# Planck map takes ~1.6 GB). Functions are pickled by reference, so the lock never
# travels with a task.
_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached_query(name: str, directory: str) -> DustMap:
    """The dustmaps query object for map `name` in `directory`, built once per process."""
    import warnings

    with warnings.catch_warnings():
        # dustmaps.config warns at import when ~/.dustmapsrc is missing; the paths
        # below are explicit, so the warning would only mislead.
        warnings.filterwarnings("ignore", module=r"dustmaps\.config")
        if name == "sfd":
            from dustmaps.sfd import SFDQuery

            return SFDQuery(map_dir=directory)
        if name == "csfd":
            from dustmaps.csfd import CSFDQuery

            return CSFDQuery(
                map_fname=os.path.join(directory, "csfd_ebv.fits"),
                mask_fname=os.path.join(directory, "mask.fits"),
            )
        from dustmaps.planck import PlanckGNILCQuery, PlanckQuery

        if name == "planck":
            return PlanckQuery(
                map_fname=os.path.join(directory, MAP_SPECS["planck"].files[0].file_name),
                component="ebv",
            )
        return PlanckGNILCQuery(
            map_fname=os.path.join(directory, MAP_SPECS["planck-gnilc"].files[0].file_name),
            load_errors=False,
        )


def _query_for(name: str, directory: str) -> DustMap:
    """`_cached_query`, with concurrent first calls waiting for a single load."""
    with _LOAD_LOCK:
        return _cached_query(name, directory)


def ebv_at(
    name: str,
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    location: DustMapLocation,
) -> np.ndarray:
    """Galactic E(B-V) from dust map `name` at ICRS positions, in one vectorised call.

    The map is loaded once per process (cached on ``(name, directory)``), so a Dask
    worker running this inside ``map_partitions`` reads the files once. SFD values are
    linearly interpolated between pixels (dustmaps' default); the HEALPix maps return
    the value of the pixel holding each position. Planck GNILC E(B-V) is
    ``1.49e4 * TAU353``, as dustmaps scales it.

    Parameters
    ----------
    name : str
        One of `DUST_MAP_NAMES`.
    ra_deg, dec_deg : numpy.ndarray
        ICRS right ascension and declination in degrees, of the same shape.
    location : DustMapLocation
        A found location of map `name`, from `require_map`.

    Returns
    -------
    numpy.ndarray
        float64 E(B-V) in magnitudes, shaped like `ra_deg`; NaN where a coordinate is
        not finite.

    Raises
    ------
    InputError
        If `name` is unknown, does not match `location`, or the arrays differ in shape.
    DustMapError
        If `location` was not found.
    """
    import numpy as np

    map_spec(name)
    if location.name != name:
        raise InputError(f"dust map {name!r} was given the location of map {location.name!r}")
    if not location.found or location.directory is None:
        raise DustMapError(missing_message(location))
    ra_values = np.asarray(ra_deg, dtype=np.float64)
    dec_values = np.asarray(dec_deg, dtype=np.float64)
    if ra_values.shape != dec_values.shape:
        raise InputError(
            f"ra_deg and dec_deg differ in shape: {ra_values.shape} vs {dec_values.shape}"
        )

    ebv = np.full(ra_values.shape, np.nan, dtype=np.float64)
    usable = np.isfinite(ra_values) & np.isfinite(dec_values) & (np.abs(dec_values) <= 90.0)
    if not usable.any():
        return ebv

    from astropy.coordinates import SkyCoord

    query = _query_for(name, str(location.directory))
    coords = SkyCoord(ra_values[usable], dec_values[usable], frame="icrs", unit="deg")
    ebv[usable] = np.asarray(query(coords), dtype=np.float64)
    return ebv
