"""Split the redshift catalog over the object catalog's partitions: one task per partition.

Each spec-z goes to the partition whose pixel holds it, with the margin file only when
some spec-z of the partition has a disc of the radius that leaves the pixel; spec-z
beyond the footprint's edge but within the radius of a partition get tasks of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsmaker.columns import HEALPIX_COLUMN
from tsmaker.matching.crossmatch import PixelMatch
from tsmaker.matching.healpix import healpix29, lonlat_to_healpix
from tsmaker.matching.sphere import cell_order, offset_positions
from tsmaker.parameters import parameter_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike

    from tsmaker.inputs.hats_files import HatsCatalog, ObjectCatalogFiles


def plan_pixel_matches(
    redshift_frame: pd.DataFrame,
    *,
    ra_column: str,
    dec_column: str,
    object_files: ObjectCatalogFiles,
    radius_arcsec: float,
    healpix: np.ndarray | None = None,
) -> list[PixelMatch]:
    """Split the redshift catalog over the object catalog's partitions, in sky order.

    Each spec-z goes to the object partition whose pixel contains it (HATS pixels are
    disjoint); the partition's margin file brings the objects just across its edges,
    so every object within the margin threshold of the spec-z is read with it. The
    margin file is read only when some spec-z of the partition lies within
    ``radius_arcsec`` of the pixel's edge (:func:`disc_leaves_pixel`), and partitions
    without spec-z are never read.

    Parameters
    ----------
    redshift_frame : pandas.DataFrame
        The cleaned redshift catalog.
    ra_column, dec_column : str
        Its coordinate columns, in degrees.
    object_files : tsmaker.inputs.hats_files.ObjectCatalogFiles
        The object catalog and its margin cache.
    radius_arcsec : float
        The match radius (at most the margin threshold).
    healpix : numpy.ndarray, optional
        The spec-z order-29 indices, when already computed (:func:`healpix29`).

    Returns
    -------
    list of PixelMatch
        One per object partition holding at least one spec-z, in sky order.
    """
    import numpy as np
    import pandas as pd

    ra = redshift_frame[ra_column].to_numpy(dtype=np.float64)
    dec = redshift_frame[dec_column].to_numpy(dtype=np.float64)
    if healpix is None:
        healpix = healpix29(ra, dec)
    order = np.argsort(healpix, kind="stable")
    sorted_healpix = healpix[order]
    indexed = redshift_frame.set_axis(pd.Index(healpix, name=HEALPIX_COLUMN), axis=0)
    # One take in sky order, then each partition's spec-z are a slice of it.
    in_sky_order = indexed.iloc[order]
    main, margin = object_files.main, object_files.margin
    margin_pixels = set(margin.pixels) if margin is not None else set()
    orders = np.array([pixel_order for pixel_order, _ in main.pixels], dtype=np.int64)
    pixels = np.array([pixel for _, pixel in main.pixels], dtype=np.int64)
    shifts = 2 * (29 - orders)
    # Partitions are disjoint and in sky order: each one's spec-z are a slice of the
    # sorted catalog.
    first_cells, end_cells = pixels << shifts, (pixels + 1) << shifts
    starts = np.searchsorted(sorted_healpix, first_cells)
    stops = np.searchsorted(sorted_healpix, end_cells)
    needs_margin = np.zeros(len(pixels), dtype=bool)
    inside = np.zeros(len(healpix), dtype=bool)
    # In chunks of the sorted catalog, so that the probes (8 positions per spec-z) stay
    # small next to the catalog whatever its size.
    for first in range(0, len(sorted_healpix), PLANNING_CHUNK_ROWS):
        chunk_healpix = sorted_healpix[first : first + PLANNING_CHUNK_ROWS]
        partitions = np.maximum(np.searchsorted(first_cells, chunk_healpix, side="right") - 1, 0)
        in_partition = chunk_healpix >= first_cells[partitions]
        in_partition &= chunk_healpix < end_cells[partitions]
        rows = order[first : first + PLANNING_CHUNK_ROWS][in_partition]
        partitions = partitions[in_partition]
        leaves = _discs_leave_pixels(healpix[rows], ra[rows], dec[rows], radius_arcsec,
                                     orders[partitions], pixels[partitions])
        needs_margin[partitions[leaves]] = True
        inside[rows] = True
    tasks = []
    for index in np.flatnonzero(stops > starts):
        pixel_order, pixel = main.pixels[index]
        files = [main.pixel_file(pixel_order, pixel)]
        if needs_margin[index] and (pixel_order, pixel) in margin_pixels:
            files.append(margin.pixel_file(pixel_order, pixel))
        redshift_rows = in_sky_order.iloc[starts[index] : stops[index]]
        tasks.append(PixelMatch(pixel_order, pixel, tuple(files), redshift_rows))
    if not inside.all():
        tasks += _outside_pixel_matches(
            indexed, healpix, np.flatnonzero(~inside), ra, dec, main, radius_arcsec
        )
        tasks.sort(key=lambda task: task.pixel << (2 * (29 - task.order)))
    return tasks


#: Spec-z whose discs are tested against their partition's edge at once (a few MB).
PLANNING_CHUNK_ROWS = 65_536


def healpix_meeting_catalog(
    redshift_frame: pd.DataFrame,
    *,
    ra_column: str,
    dec_column: str,
    object_files: ObjectCatalogFiles,
    radius_arcsec: float,
    redshift_source: str,
    object_location: str,
) -> np.ndarray:
    """The spec-z order-29 indices, once some spec-z is known to meet the object catalog.

    A spec-z meets the catalog when it falls in one of its partitions, or within
    ``radius_arcsec`` of one. When none does, the product could only be empty; most
    often the spec-z coordinates are not degrees (RA in hours or radians over a field
    too small for the cleaning to tell), so the message shows both footprints.

    Raises
    ------
    ParameterError
        No spec-z meets the catalog (about ``coord_unit``: the likely fix).
    """
    import numpy as np

    ra = redshift_frame[ra_column].to_numpy(dtype=np.float64)
    dec = redshift_frame[dec_column].to_numpy(dtype=np.float64)
    healpix = healpix29(ra, dec)
    if count_in_partitions(healpix, object_files.main) or plan_pixel_matches(
        redshift_frame, ra_column=ra_column, dec_column=dec_column, object_files=object_files,
        radius_arcsec=radius_arcsec, healpix=healpix,
    ):
        return healpix
    catalog_ra, (dec_min, dec_max) = footprint_bounds(object_files.main)
    raise parameter_error(
        "coord_unit",
        f"no spec-z of {redshift_source!r} is inside the object catalog {object_location!r} "
        f"or within {radius_arcsec:g} arcsec of it: the spec-z span RA {_span(ra_range(ra))}, "
        f"Dec {float(dec.min()):.4g}..{float(dec.max()):.4g} and the catalog RA "
        f"{_span(catalog_ra)}, Dec {dec_min:.4g}..{dec_max:.4g} (degrees); "
        "if the spec-z coordinates are not degrees give their unit ({set}hour or {set}rad), "
        "else choose catalogs that overlap",
    )


def _span(interval: tuple[float, float]) -> str:
    start, end = interval
    return f"{start:.4g}..{end:.4g}" + (" (across 0)" if start > end else "")


def count_in_partitions(healpix: np.ndarray, catalog: HatsCatalog) -> int:
    """How many order-29 indices fall in one of the catalog's partitions.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> catalog = SimpleNamespace(pixels=((0, 4), (1, 20)))
    >>> import numpy as np
    >>> count_in_partitions(np.array([4 << 58, (5 << 58) - 1, 6 << 58, 20 << 56]), catalog)
    3
    """
    import numpy as np

    if not catalog.pixels or not len(healpix):
        return 0
    orders = np.array([order for order, _ in catalog.pixels], dtype=np.int64)
    pixels = np.array([pixel for _, pixel in catalog.pixels], dtype=np.int64)
    starts, ends = pixels << (2 * (29 - orders)), (pixels + 1) << (2 * (29 - orders))
    partition = np.maximum(np.searchsorted(starts, healpix, side="right") - 1, 0)
    return int(np.count_nonzero((healpix >= starts[partition]) & (healpix < ends[partition])))


def footprint_bounds(catalog: HatsCatalog) -> tuple[tuple[float, float], tuple[float, float]]:
    """The RA range (:func:`ra_range`) and Dec range, degrees, of the catalog's partitions."""
    from tsmaker.matching.healpix import pixel_vertices

    ra, dec = pixel_vertices([order for order, _ in catalog.pixels],
                             [pixel for _, pixel in catalog.pixels])
    return ra_range(ra.ravel()), (float(dec.min()), float(dec.max()))


def ra_range(ra_deg: np.ndarray) -> tuple[float, float]:
    """The shortest RA interval holding every value: (start, end), start > end across 0.

    Examples
    --------
    >>> import numpy as np
    >>> ra_range(np.array([10.0, 350.0, 5.0])), ra_range(np.array([10.0, 20.0]))
    ((350.0, 10.0), (10.0, 20.0))
    """
    import numpy as np

    values = np.unique(np.mod(np.asarray(ra_deg, dtype=np.float64), 360.0))
    if len(values) < 2:
        return float(values[0]), float(values[0])
    gaps = np.diff(np.append(values, values[0] + 360.0))
    widest = int(np.argmax(gaps))
    return float(values[(widest + 1) % len(values)]), float(values[widest])


def _outside_pixel_matches(
    indexed: pd.DataFrame,
    healpix: np.ndarray,
    rows: np.ndarray,
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    main: HatsCatalog,
    radius_arcsec: float,
) -> list[PixelMatch]:
    """Tasks for spec-z outside every object partition but within the radius of one.

    A spec-z just beyond the edge of the object catalog's footprint can still have an
    object within the radius, inside a partition it does not belong to (LSDB's
    crossmatch loses these: it only pairs overlapping partitions). Such spec-z are
    gathered by their cell at the catalog's deepest partition order (a cell that holds
    no partition, since it holds a spec-z outside all of them, so these tasks never
    overlap the others), and matched against the whole of every partition their disc
    touches. A cheap vectorised test first drops spec-z far from every partition (most
    of them, for a spectroscopic survey wider than the object catalog); the rest get an
    exact cone search.
    """
    import numpy as np

    from tsmaker.matching.healpix import cone_search, neighbours

    orders = np.array([order for order, _ in main.pixels])
    pixels = np.array([pixel for _, pixel in main.pixels], dtype=np.int64)
    starts = pixels << (2 * (29 - orders))
    ends = (pixels + 1) << (2 * (29 - orders))
    deepest = int(orders.max())
    search_order = min(deepest, cell_order(radius_arcsec))
    shift = 2 * (29 - search_order)
    # A disc lies in its cell and the 8 neighbours (see cell_order).
    cells = neighbours(healpix[rows] >> shift, search_order)
    first, last = _partition_span(cells << shift, (cells + 1) << shift, starts, ends)
    near = ((cells >= 0) & (last > first)).any(axis=1)
    groups: dict[int, tuple[list[int], set[int]]] = {}
    group_shift = 2 * (29 - deepest)
    for row in rows[near]:
        found = cone_search(float(ra_deg[row]), float(dec_deg[row]), radius_arcsec,
                            search_order)
        first, last = _partition_span(found << shift, (found + 1) << shift, starts, ends)
        touched = {i for a, b in zip(first, last, strict=True) for i in range(a, b)}
        if touched:
            members, partitions = groups.setdefault(int(healpix[row] >> group_shift), ([], set()))
            members.append(row)
            partitions |= touched
    if not groups:
        return []
    # One take of every member, then a slice per group: a take per group would cost a
    # pass over the whole catalog each (pyarrow joins the chunks of a string column).
    members = [np.sort(members) for members, _ in groups.values()]
    taken = indexed.iloc[np.concatenate(members)]
    bounds = np.cumsum([0] + [len(rows) for rows in members])
    return [
        PixelMatch(
            deepest,
            cell,
            tuple(main.pixel_file(int(orders[i]), int(pixels[i])) for i in sorted(partitions)),
            taken.iloc[bounds[index] : bounds[index + 1]],
            own_partition=False,
        )
        for index, (cell, (_, partitions)) in enumerate(groups.items())
    ]


def _partition_span(
    cell_starts: np.ndarray, cell_ends: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Partitions ``first[i]:last[i]`` overlapping each order-29 range (disjoint, sorted)."""
    import numpy as np

    first = np.searchsorted(ends, cell_starts, side="right")
    last = np.searchsorted(starts, cell_ends, side="left")
    return first, np.maximum(last, first)


PROBE_DIRECTIONS = 8


def _disc_probes(ra_deg: np.ndarray, dec_deg: np.ndarray, radius_arcsec: float) -> np.ndarray:
    """Order-29 HEALPix index of 8 points around each position, shape (n, 8).

    The points are the vertices of a regular octagon whose inscribed circle has a
    radius 1% larger than ``radius_arcsec``. A pixel is convex and its edges are
    straight lines at arcsecond scales, so if the disc of ``radius_arcsec`` crosses
    an edge, that edge's line passes inside the octagon's inscribed circle and at
    least one vertex lies beyond it, outside the pixel: a disc whose 8 probes all
    fall in the pixel of the centre lies inside that pixel (:func:`disc_leaves_pixel`).
    """
    import numpy as np

    circumradius_arcsec = 1.01 * radius_arcsec / np.cos(np.pi / PROBE_DIRECTIONS)
    angles = np.arange(PROBE_DIRECTIONS) * (360.0 / PROBE_DIRECTIONS)
    probe_ra, probe_dec = offset_positions(
        np.repeat(ra_deg, PROBE_DIRECTIONS),
        np.repeat(dec_deg, PROBE_DIRECTIONS),
        circumradius_arcsec,
        np.tile(angles, len(ra_deg)),
    )
    return lonlat_to_healpix(probe_ra, probe_dec, 29).reshape(-1, PROBE_DIRECTIONS)


def _discs_leave_pixels(
    healpix: np.ndarray,
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    radius_arcsec: float,
    orders: np.ndarray,
    pixels: np.ndarray,
) -> np.ndarray:
    """True where the disc around a position may leave the pixel ``(orders, pixels)``.

    Each position lies in its own pixel. Most lie far from its edge: when the 9 cells
    around a position, at the order whose cells are 4 radii across, are all in the
    pixel, so is its disc (the property :func:`tsmaker.matching.sphere.pairs_within` relies
    on). The octagon probes of :func:`disc_leaves_pixel` decide for the rest, in one
    vectorised pass whatever the number of partitions.
    """
    import numpy as np

    from tsmaker.matching.healpix import neighbours

    cells_order = cell_order(radius_arcsec)
    undecided = np.ones(len(healpix), dtype=bool)
    coarse = orders < cells_order
    if coarse.any():
        block = neighbours(healpix[coarse] >> (2 * (29 - cells_order)), cells_order)
        undecided[coarse] = (
            (block >> (2 * (cells_order - orders[coarse]))[:, None]) != pixels[coarse][:, None]
        ).any(axis=1)
    leaves = np.zeros(len(healpix), dtype=bool)
    probed = np.flatnonzero(undecided)
    if len(probed):
        probes = _disc_probes(ra_deg[probed], dec_deg[probed], radius_arcsec)
        leaves[probed] = (
            (probes >> (2 * (29 - orders[probed]))[:, None]) != pixels[probed][:, None]
        ).any(axis=1)
    return leaves


def disc_leaves_pixel(
    ra_deg: ArrayLike, dec_deg: ArrayLike, radius_arcsec: float, order: int
) -> np.ndarray:
    """True where the disc of ``radius_arcsec`` may reach beyond the order-``order`` pixel.

    Never False for a disc that crosses the pixel's edge; may be True for a disc that
    only comes within 1% of it.

    Examples
    --------
    >>> disc_leaves_pixel([45.0, 45.0], [0.0, 20.0], 1.0, 8).tolist()
    [True, False]
    """
    import numpy as np

    ra = np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
    shift = 2 * (29 - order)
    centre = healpix29(ra, dec) >> shift
    return np.any((_disc_probes(ra, dec, radius_arcsec) >> shift) != centre[:, None], axis=1)
