"""Positions on the sphere: every pair within a radius, distances and offsets.

:func:`pairs_within` is the matcher's core; :func:`cell_order` is the HEALPix order
whose cells hold a disc of the radius within 9 cells, which the matcher, the margin
decision and the footprint-edge search share; :func:`neighbour_blocks` lists those 9
cells around each position.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

MATCH_RADII_PER_CELL = 4.0
"""Cells of :func:`cell_order` are at least this many radii across."""


def cell_order(radius_arcsec: float) -> int:
    """The deepest HEALPix order whose cells are :data:`MATCH_RADII_PER_CELL` radii across.

    A disc of the radius then lies inside its centre's cell and the 8 neighbours: the
    tests check it over the whole sky, poles and base-pixel corners included (it held
    down to 2 radii per cell when tried; hats assumes 1.6 for its margins). Matching
    (:func:`pairs_within`), the margin decision and the footprint-edge search
    (:mod:`tsmaker.matching.planning`) all rely on it.
    """
    import math

    cell_arcsec = math.degrees(math.sqrt(4 * math.pi / 12)) * 3600.0  # order 0
    order = 0
    while order < 29 and cell_arcsec / 2.0 >= MATCH_RADII_PER_CELL * radius_arcsec:
        cell_arcsec /= 2.0
        order += 1
    return order


def pairs_within(
    ra1_deg: ArrayLike,
    dec1_deg: ArrayLike,
    ra2_deg: ArrayLike,
    dec2_deg: ArrayLike,
    radius_arcsec: float,
    n_nearest: int | None = None,
    blocks1: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i, j) of positions of set 1 and set 2 within ``radius_arcsec``.

    With ``n_nearest``, only the pairs of each i no farther than its ``n_nearest``-th
    nearest j are kept (ties at that distance all kept, so a later tie-break can choose):
    in a crowded field the pairs within the radius can outnumber the spec-z a
    hundredfold, and they are dropped as they are found.

    Candidates come from HEALPix cells at least 4 times the radius across: a disc that
    small around a point lies inside the point's cell and its 8 neighbours, so every
    object of those 9 cells is a candidate and every other object is too far. Within a
    cell, objects are sorted by z = sin(dec), so only those with |dz| <= the chord of
    the radius are taken; the 3-D chord, then the exact great-circle distance decide.
    For a few hundred spec-z against a partition of objects this is a sort and a few
    searches, with no tree to build.

    ``blocks1``, when given, is :func:`neighbour_blocks` of set 1 for this radius,
    computed once for the spec-z of several partitions: every call into cdshealpix
    starts (and joins) a thread pool of its own, ~70 us, whatever the array's size.

    Returns
    -------
    rows1, rows2 : numpy.ndarray of int64
        Row positions of the pairs in each set, sorted by (rows1, rows2).
    distance_arcsec : numpy.ndarray of float64
        Their great-circle distances (Vincenty), all <= ``radius_arcsec``.

    Examples
    --------
    >>> rows1, rows2, distance = pairs_within(
    ...     [10.0, 50.0], [0.0, 0.0], [10.0, 10.0, 50.0], [0.5 / 3600, 2.0 / 3600, 0.0], 1.0)
    >>> rows1.tolist(), rows2.tolist(), distance.round(9).tolist()
    ([0, 1], [0, 2], [0.5, 0.0])
    """
    import numpy as np

    from tsmaker.matching.healpix import lonlat_to_healpix

    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if not len(ra1_deg) or not len(ra2_deg):
        return empty
    order = cell_order(radius_arcsec)
    # Chord of the radius on the unit sphere, padded so rounding never drops a pair.
    chord = 2.0 * np.sin(np.radians(radius_arcsec / 3600.0) / 2.0) * (1.0 + 1e-9) + 1e-15
    vectors1, vectors2 = unit_vectors(ra1_deg, dec1_deg), unit_vectors(ra2_deg, dec2_deg)
    # Set 2 sorted by cell, then by z = sin(dec) within a cell, under one float key:
    # the cell's rank + (z + 1) / 4, which stays inside [rank, rank + 1/2].
    cells2 = lonlat_to_healpix(ra2_deg, dec2_deg, order, threads=1)
    by_cell = np.lexsort((vectors2[:, 2], cells2))
    vectors2 = vectors2[by_cell]
    cells, cell_rows = np.unique(cells2[by_cell], return_counts=True)
    keys2 = np.repeat(np.arange(len(cells), dtype=np.float64), cell_rows)
    keys2 += (vectors2[:, 2] + 1.0) / 4.0
    # In each of the 9 cells around a set-1 point, only the run with |dz| <= chord (a
    # necessary condition) is a candidate: two searches give it.
    if blocks1 is None:
        block = neighbour_blocks(ra1_deg, dec1_deg, radius_arcsec)
    elif np.shape(blocks1) != (len(ra1_deg), 9):
        raise ValueError(f"blocks1 has shape {np.shape(blocks1)}, not ({len(ra1_deg)}, 9)")
    else:
        block = blocks1
    rank = np.minimum(np.searchsorted(cells, block), len(cells) - 1)
    present = (block >= 0) & (cells[rank] == block)
    z1 = vectors1[:, 2:3]
    pad = 4.0 * np.spacing(float(len(cells))) + 1e-12  # the rounding of rank + (z + 1) / 4
    first = np.searchsorted(keys2, rank + (z1 - chord + 1.0) / 4.0 - pad, side="left")
    last = np.searchsorted(keys2, rank + (z1 + chord + 1.0) / 4.0 + pad, side="right")
    counts = np.where(present, last - first, 0)
    ra1, dec1 = np.asarray(ra1_deg, dtype=np.float64), np.asarray(dec1_deg, dtype=np.float64)
    ra2, dec2 = np.asarray(ra2_deg, dtype=np.float64), np.asarray(dec2_deg, dtype=np.float64)
    found1, found2, found_distance = [], [], []
    for rows1, positions in _chord_pairs(vectors1, vectors2, first, counts, chord):
        rows2 = by_cell[positions].astype(np.int64)
        distance = separation_arcsec(ra1[rows1], dec1[rows1], ra2[rows2], dec2[rows2])
        inside = distance <= radius_arcsec
        rows1, rows2, distance = rows1[inside], rows2[inside], distance[inside]
        # Sorted by (rows1, rows2); np.unique would also drop a pair seen twice, should
        # a cell ever be listed twice among its neighbours.
        _, unique = np.unique(rows1 * len(ra2) + rows2, return_index=True)
        rows1, rows2, distance = rows1[unique], rows2[unique], distance[unique]
        if n_nearest is not None:
            near = _within_nearest(rows1, distance, n_nearest)
            rows1, rows2, distance = rows1[near], rows2[near], distance[near]
        found1.append(rows1)
        found2.append(rows2)
        found_distance.append(distance)
    if not found1:
        return empty
    # Each run holds whole rows of set 1, in increasing order: the result stays sorted.
    return np.concatenate(found1), np.concatenate(found2), np.concatenate(found_distance)


def neighbour_blocks(ra_deg: ArrayLike, dec_deg: ArrayLike, radius_arcsec: float) -> np.ndarray:
    """The cell of each position at :func:`cell_order` and its 8 neighbours, shape (n, 9).

    A disc of the radius around the position lies in these cells; -1 marks a missing
    neighbour (at the 8 corners where only 7 cells meet). One thread: partitions
    already run in parallel.

    Examples
    --------
    >>> neighbour_blocks([45.0], [0.0], 3600.0).tolist()
    [[575, 362, 363, 277, 0, 1, 279, 2, 3]]
    """
    from tsmaker.matching.healpix import lonlat_to_healpix, neighbours

    order = cell_order(radius_arcsec)
    return neighbours(lonlat_to_healpix(ra_deg, dec_deg, order, threads=1), order, threads=1)


def _within_nearest(
    rows: np.ndarray, distance_arcsec: np.ndarray, n_nearest: int
) -> np.ndarray:
    """True for the pairs no farther than the ``n_nearest``-th nearest of their row.

    ``rows`` is sorted; a row with fewer pairs keeps them all.

    Examples
    --------
    >>> import numpy as np
    >>> _within_nearest(np.array([0, 0, 0, 1]), np.array([0.3, 0.1, 0.3, 0.9]), 2).tolist()
    [True, True, True, True]
    >>> _within_nearest(np.array([0, 0, 0, 1]), np.array([0.4, 0.1, 0.3, 0.9]), 2).tolist()
    [False, True, True, True]
    """
    import numpy as np

    row_start = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    row_size = np.diff(np.r_[row_start, len(rows)])
    if not len(rows) or row_size.max() <= n_nearest:
        return np.ones(len(rows), dtype=bool)
    by_distance = np.lexsort((distance_arcsec, rows))
    sorted_distance = distance_arcsec[by_distance]
    limit = np.where(
        row_size >= n_nearest,
        sorted_distance[row_start + np.minimum(row_size, n_nearest) - 1],
        np.inf,
    )
    return distance_arcsec <= np.repeat(limit, row_size)


MAX_CANDIDATES = 1 << 20
"""Candidate pairs :func:`pairs_within` tests at once (bounds its memory to ~60 MB)."""


def _chord_pairs(
    vectors1: np.ndarray, vectors2: np.ndarray, first: np.ndarray, counts: np.ndarray,
    chord: float,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The candidates within ``chord`` of each other: (rows of set 1, positions in set 2).

    Row ``i`` of set 1 has the candidates ``first[i, c] .. first[i, c] + counts[i, c] - 1``
    of set 2, for each cell ``c``. Rows are taken a run at a time, so that at most
    :data:`MAX_CANDIDATES` candidates (or one row's) are expanded at once however dense
    the partition; each run yields its pairs, runs in increasing row order.
    """
    import numpy as np

    per_row = counts.sum(axis=1)
    ends = np.cumsum(per_row)
    start = 0
    while start < len(per_row):
        offset = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, offset + MAX_CANDIDATES, "right")))
        run_counts = counts[start:stop].ravel()
        total = int(ends[stop - 1]) - offset
        start, run_start = stop, start
        if not total:
            continue
        cell_start = np.repeat(np.cumsum(run_counts) - run_counts, run_counts)
        positions = np.repeat(first[run_start:stop].ravel(), run_counts)
        positions += np.arange(total) - cell_start
        del cell_start
        squared_chord = np.zeros(total)
        for axis in range(3):  # one coordinate at a time: 1-D repeats and takes are fast
            gap = np.repeat(vectors1[run_start:stop, axis], per_row[run_start:stop])
            gap -= vectors2[:, axis].take(positions)
            squared_chord += gap * gap
        close = np.flatnonzero(squared_chord <= chord * chord)
        rows = np.arange(run_start, stop, dtype=np.int64)
        yield np.repeat(rows, per_row[run_start:stop])[close], positions[close]


def unit_vectors(ra_deg: ArrayLike, dec_deg: ArrayLike) -> np.ndarray:
    """(n, 3) unit vectors of positions in degrees."""
    import numpy as np

    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    cos_dec = np.cos(dec)
    return np.stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)], axis=-1)


def separation_arcsec(
    ra1_deg: ArrayLike, dec1_deg: ArrayLike, ra2_deg: ArrayLike, dec2_deg: ArrayLike
) -> np.ndarray:
    """Great-circle distance in arcsec (Vincenty's formula: exact at every separation).

    Examples
    --------
    >>> round(float(separation_arcsec(10.0, 0.0, 10.0, 1.0 / 3600)), 12)
    1.0
    """
    import numpy as np

    ra1, dec1, ra2, dec2 = (np.radians(v) for v in (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    delta = ra2 - ra1
    sin_dec1, cos_dec1, sin_dec2, cos_dec2 = np.sin(dec1), np.cos(dec1), np.sin(dec2), np.cos(dec2)
    numerator = np.hypot(
        cos_dec2 * np.sin(delta), cos_dec1 * sin_dec2 - sin_dec1 * cos_dec2 * np.cos(delta)
    )
    denominator = sin_dec1 * sin_dec2 + cos_dec1 * cos_dec2 * np.cos(delta)
    return np.degrees(np.arctan2(numerator, denominator)) * 3600.0


def offset_positions(
    ra_deg: ArrayLike, dec_deg: ArrayLike, separation_arcsec: ArrayLike,
    position_angle_deg: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """The points at an angular separation and position angle (east of north).

    Examples
    --------
    >>> ra, dec = offset_positions(10.0, 0.0, 3600.0, 0.0)
    >>> round(float(ra), 9), round(float(dec), 9)
    (10.0, 1.0)
    """
    import numpy as np

    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    rho = np.radians(np.asarray(separation_arcsec) / 3600.0)
    theta = np.radians(position_angle_deg)
    new_dec = np.arcsin(np.sin(dec) * np.cos(rho) + np.cos(dec) * np.sin(rho) * np.cos(theta))
    new_ra = ra + np.arctan2(
        np.sin(theta) * np.sin(rho) * np.cos(dec), np.cos(rho) - np.sin(dec) * np.sin(new_dec)
    )
    return np.mod(np.degrees(new_ra), 360.0), np.degrees(new_dec)
