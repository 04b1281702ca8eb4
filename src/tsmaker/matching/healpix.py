"""HEALPix (nested) indices, neighbours and cone searches, as hats computes them.

The numbers come from cdshealpix, the library hats uses, so spec-z fall in exactly the
partitions hats and LSDB put them in. cdshealpix's Python package imports
``astropy.coordinates`` (about 0.8 s, a sixth of a typical run) only to wrap angles in
``Longitude``/``Latitude``; tsmaker calls its compiled functions directly with angles in
radians, and falls back to the package's public functions if that extension cannot be
loaded on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

    import numpy as np
    from numpy.typing import ArrayLike

_EXTENSION: ModuleType | None = None


def _extension() -> ModuleType:
    """The compiled module of cdshealpix, loaded without its package's ``__init__``."""
    global _EXTENSION
    if _EXTENSION is None:
        import importlib.machinery
        import importlib.util
        import sys

        module = sys.modules.get("cdshealpix.cdshealpix")
        if module is None:
            package = importlib.util.find_spec("cdshealpix")
            folder = (package.submodule_search_locations or [None])[0] if package else None
            spec = (
                importlib.machinery.PathFinder.find_spec("cdshealpix", [folder])
                if folder else None
            )
            if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
                import cdshealpix.cdshealpix as module  # the public route, with astropy
            else:
                spec.name = "cdshealpix.cdshealpix"
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
        _EXTENSION = module
    return _EXTENSION


def healpix29(ra_deg: ArrayLike, dec_deg: ArrayLike) -> np.ndarray:
    """HEALPix order-29 nested index of each position (hats' ``_healpix_29``).

    Examples
    --------
    >>> healpix29([0.0, 45.0, 360.0], [0.0, 89.9, 0.0]).tolist()
    [1369094286720630784, 288229547491246896, 1369094286720630784]
    """
    return lonlat_to_healpix(ra_deg, dec_deg, 29)


def lonlat_to_healpix(
    ra_deg: ArrayLike, dec_deg: ArrayLike, order: int, threads: int = 0
) -> np.ndarray:
    """Nested index at ``order`` of positions in degrees (RA wrapped into [0, 360)).

    ``threads=0`` lets cdshealpix use every core; partition tasks, which already run in
    parallel, pass 1.
    """
    import numpy as np

    lon = np.mod(np.radians(np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))), 2 * np.pi)
    lat = np.radians(np.atleast_1d(np.asarray(dec_deg, dtype=np.float64)))
    lon, lat = np.broadcast_arrays(lon, lat)
    lon, lat = np.ascontiguousarray(lon), np.ascontiguousarray(lat)
    ipix = np.empty(lon.shape, dtype=np.uint64)
    dx = np.empty(lon.shape, dtype=np.float64)
    dy = np.empty(lon.shape, dtype=np.float64)
    depth = np.full(lon.shape, order, dtype=np.uint8)
    _extension().lonlat_to_healpix(depth, lon, lat, ipix, dx, dy, np.uint16(threads))
    return ipix.astype(np.int64)


def neighbours(cells: ArrayLike, order: int, threads: int = 0) -> np.ndarray:
    """Each cell and its 8 neighbours at ``order``, shape (n, 9); -1 where there is none.

    Examples
    --------
    >>> neighbours([5], 3).tolist()
    [[366, 367, 378, 4, 5, 16, 6, 7, 18]]
    """
    import numpy as np

    cells = np.ascontiguousarray(np.atleast_1d(cells), dtype=np.uint64)
    result = np.zeros((*cells.shape, 9), dtype=np.int64)
    _extension().neighbours(np.uint8(order), cells, result, np.uint16(threads))
    return result


def cone_search(ra_deg: float, dec_deg: float, radius_arcsec: float, order: int) -> np.ndarray:
    """Cells at ``order`` that overlap a cone (the cells fully or partly inside it).

    Examples
    --------
    >>> cone_search(45.0, 0.0, 1.0, 8).tolist()
    [0, 283989, 371370, 589823]
    """
    import math

    import numpy as np

    cells, _, _ = _extension().cone_search(
        np.uint8(order), np.uint8(2), np.float64(math.radians(ra_deg % 360.0)),
        np.float64(math.radians(dec_deg)), np.float64(math.radians(radius_arcsec / 3600.0)),
        True,
    )
    return np.asarray(cells, dtype=np.int64)


def pixel_vertices(orders: ArrayLike, pixels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """RA and Dec (degrees) of the 4 corners of each nested pixel, each of shape (n, 4).

    Examples
    --------
    >>> ra, dec = pixel_vertices([0], [4])
    >>> ra[0].round(3).tolist(), dec[0].round(3).tolist()
    ([0.0, 45.0, 0.0, 315.0], [-41.81, 0.0, 41.81, 0.0])
    """
    import numpy as np

    pixels = np.ascontiguousarray(np.atleast_1d(pixels), dtype=np.uint64)
    orders = np.ascontiguousarray(np.broadcast_to(orders, pixels.shape), dtype=np.uint8)
    lon = np.zeros((*pixels.shape, 4))
    lat = np.zeros((*pixels.shape, 4))
    _extension().vertices(orders, pixels, np.uint32(1), lon, lat, np.uint16(0))
    return np.degrees(lon), np.degrees(lat)
