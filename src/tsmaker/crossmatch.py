"""Crossmatch of a redshift catalog against a HATS object catalog, ranking, de-duplication.

The redshift catalog is split over the object catalog's HEALPix partitions, so every
output row belongs to the partition of its spec-z position; each partition is read
with its margin cache, so a spec-z near a partition edge still finds objects across
it. This is LSDB's crossmatch (left catalog without margin, right catalog with one),
done per partition on pyarrow tables: the tests check it against a brute-force oracle
and against ``lsdb.Catalog.crossmatch`` itself. The k nearest objects
within the radius are kept, each with ``match_distance_arcsec`` and ``match_rank``
(1 = nearest; ties in distance are broken by the object id).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tsmaker.errors import CatalogError, InputError
from tsmaker.healpix import healpix29

MATCH_DISTANCE_COLUMN = "match_distance_arcsec"
MATCH_RANK_COLUMN = "match_rank"
SPECZ_SUFFIX = "_specz"
HEALPIX_COLUMN = "_healpix_29"


@dataclass(frozen=True)
class MatchParameters:
    """How spec-z are paired with objects."""

    radius_arcsec: float = 1.0
    """Largest angular separation of a match, in arcseconds."""
    n_neighbors: int = 1
    """Keep up to this many nearest objects per spec-z."""

    def validate(self, margin_threshold_arcsec: float | None, location: str) -> None:
        """Refuse values that cannot give a correct answer, before any data is read.

        A radius larger than the object catalog's margin would silently lose matches
        across partition edges, so it is refused.
        """
        if not self.radius_arcsec > 0:
            raise InputError(
                f"--radius {self.radius_arcsec} must be greater than 0 arcsec; "
                "use e.g. --radius 1.0"
            )
        if self.n_neighbors < 1:
            raise InputError(f"--neighbors {self.n_neighbors} must be at least 1")
        if margin_threshold_arcsec is None:
            raise CatalogError(
                f"object catalog {location!r} has no margin cache, so matches across "
                "partition edges would be lost; open a HATS collection with a margin, or "
                "build one with hats-import (margin_threshold >= your radius)"
            )
        if self.radius_arcsec > margin_threshold_arcsec:
            raise InputError(
                f"--radius {self.radius_arcsec} arcsec is larger than the object catalog's "
                f"margin ({margin_threshold_arcsec:g} arcsec), which would lose matches "
                f"across partition edges; use --radius <= {margin_threshold_arcsec:g} or "
                "build a wider margin with hats-import"
            )


def reserved_redshift_renames(
    redshift_columns: Sequence[str], taken_names: set[str]
) -> dict[str, str]:
    """Renames that give a redshift column the ``_specz`` suffix where its name is taken.

    ``taken_names`` holds the object columns read and the columns tsmaker adds.
    """
    renames = {}
    existing = set(redshift_columns)
    for name in redshift_columns:
        if name in taken_names:
            new_name = f"{name}{SPECZ_SUFFIX}"
            while new_name in existing or new_name in taken_names:
                new_name += SPECZ_SUFFIX
            renames[name] = new_name
    return renames


@dataclass(frozen=True)
class PixelMatcher:
    """What every partition's task shares: which columns to read and how to match."""

    object_columns: tuple[str, ...]
    """Object columns read (the coordinates among them)."""
    row_filters: tuple[tuple[str, str, Any], ...]
    """Row filters applied as each file is read (e.g. ``detect_isPrimary == True``)."""
    object_ra_column: str
    object_dec_column: str
    object_id_column: str | None
    """Breaks ties in distance; None when the catalog has no id column."""
    redshift_ra_column: str
    redshift_dec_column: str
    parameters: MatchParameters

    def read_objects(self, files: Sequence[Any]) -> Any:
        """One pyarrow Table of the given partition files (a partition and its margin).

        Only ``object_columns`` are decoded (they include the ``row_filters`` columns);
        rows failing ``row_filters`` are dropped.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(self.object_columns)
        tables = []
        for file in files:
            try:
                if file.filesystem is None:
                    table = _read_local(file.path, columns)
                else:
                    table = _read_remote(file, columns)
            except (OSError, pa.ArrowInvalid) as error:
                text = str(error).strip()
                reason = "no such file" if isinstance(error, FileNotFoundError) else (
                    text.splitlines()[0] if text else type(error).__name__)
                raise CatalogError(
                    f"object catalog file {file.describe()!r} cannot be read ({reason}); "
                    "the catalog is incomplete or unreachable: check it, or copy it again"
                ) from None
            if self.row_filters:
                table = table.filter(pq.filters_to_expression(list(self.row_filters)))
            tables.append(table)
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables, promote_options="permissive")


def _read_local(path: str, columns: list[str]) -> Any:
    """Read columns of a local Parquet file, one thread (partitions run in parallel).

    pyarrow's low-level reader skips pyarrow.dataset's discovery (half the cost of a
    small file) and ParquetFile's walk over every column path of a wide schema (DP1 has
    1,305 columns); columns are looked up by name in the file itself.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pa.OSFile(path) as source:
        reader = pq.ParquetReader()
        reader.open(source)
        indices = []
        for name in columns:
            try:
                indices.append(reader.column_name_idx(name))
            except KeyError:
                raise pa.ArrowInvalid(f"it has no column {name!r}") from None
        return reader.read_all(column_indices=indices, use_threads=False)


def _read_remote(file: Any, columns: list[str]) -> Any:
    """Read columns of a Parquet file at a URL: byte ranges, or the whole file.

    Byte ranges fetch only the footer and the columns read (a small part of a DP1
    file); a server that cannot send ranges gets one plain download instead.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file.path, filesystem=file.filesystem).read(
            columns=columns, use_threads=False
        )
    except ValueError as error:
        if "range requests" not in str(error):
            raise
    whole = pa.py_buffer(file.filesystem.cat_file(file.path))
    return pq.ParquetFile(pa.BufferReader(whole)).read(columns=columns, use_threads=False)


@dataclass(frozen=True)
class PixelMatch:
    """One object partition and the spec-z that fall inside it: one task."""

    order: int
    pixel: int
    files: tuple[Any, ...]
    """The partition's Parquet file and, when it has one, its margin file."""
    redshift_rows: Any
    """The spec-z inside the pixel (pandas.DataFrame indexed by ``_healpix_29``)."""


def plan_pixel_matches(
    redshift_frame: Any,
    *,
    ra_column: str,
    dec_column: str,
    object_files: Any,
    radius_arcsec: float,
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
    object_files : tsmaker.hats_files.ObjectCatalogFiles
        The object catalog and its margin cache.
    radius_arcsec : float
        The match radius (at most the margin threshold).

    Returns
    -------
    list of PixelMatch
        One per object partition holding at least one spec-z, in sky order.
    """
    import numpy as np
    import pandas as pd

    ra = redshift_frame[ra_column].to_numpy(dtype=np.float64)
    dec = redshift_frame[dec_column].to_numpy(dtype=np.float64)
    healpix = healpix29(ra, dec)
    order = np.argsort(healpix, kind="stable")
    sorted_healpix = healpix[order]
    indexed = redshift_frame.set_axis(pd.Index(healpix, name=HEALPIX_COLUMN), axis=0)
    # One take in sky order, then each partition's spec-z are a slice of it.
    in_sky_order = indexed.iloc[order]
    main, margin = object_files.main, object_files.margin
    margin_pixels = set(margin.pixels) if margin is not None else set()
    tasks = []
    inside = np.zeros(len(healpix), dtype=bool)
    for pixel_order, pixel in main.pixels:
        shift = 2 * (29 - pixel_order)
        start, stop = np.searchsorted(sorted_healpix, [pixel << shift, (pixel + 1) << shift])
        if start == stop:
            continue
        rows = order[start:stop]
        inside[rows] = True
        files = [main.pixel_file(pixel_order, pixel)]
        if (pixel_order, pixel) in margin_pixels and _discs_leave_pixel(
            healpix[rows], ra[rows], dec[rows], radius_arcsec, pixel_order, pixel
        ):
            files.append(margin.pixel_file(pixel_order, pixel))
        redshift_rows = in_sky_order.iloc[start:stop]
        tasks.append(PixelMatch(pixel_order, pixel, tuple(files), redshift_rows))
    if not inside.all():
        tasks += _outside_pixel_matches(
            indexed, healpix, np.flatnonzero(~inside), ra, dec, main, radius_arcsec
        )
        tasks.sort(key=lambda task: task.pixel << (2 * (29 - task.order)))
    return tasks


def _outside_pixel_matches(
    indexed: Any,
    healpix: Any,
    rows: Any,
    ra_deg: Any,
    dec_deg: Any,
    main: Any,
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

    from tsmaker.healpix import cone_search, neighbours

    orders = np.array([order for order, _ in main.pixels])
    pixels = np.array([pixel for _, pixel in main.pixels], dtype=np.int64)
    starts = pixels << (2 * (29 - orders))
    ends = (pixels + 1) << (2 * (29 - orders))
    deepest = int(orders.max())
    search_order = min(deepest, _cell_order(radius_arcsec))
    shift = 2 * (29 - search_order)
    # A disc lies in its cell and the 8 neighbours (see _cell_order).
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
        )
        for index, (cell, (_, partitions)) in enumerate(groups.items())
    ]


MATCH_RADII_PER_CELL = 4.0
"""Cells of :func:`_cell_order` are at least this many radii across."""


def _cell_order(radius_arcsec: float) -> int:
    """The deepest HEALPix order whose cells are :data:`MATCH_RADII_PER_CELL` radii across.

    A disc of the radius then lies inside its centre's cell and the 8 neighbours: the
    tests check it over the whole sky, poles and base-pixel corners included (it held
    down to 2 radii per cell when tried; hats assumes 1.6 for its margins). Matching
    (:func:`pairs_within`), the margin decision and the footprint-edge search all rely
    on it.
    """
    import math

    cell_arcsec = math.degrees(math.sqrt(4 * math.pi / 12)) * 3600.0  # order 0
    order = 0
    while order < 29 and cell_arcsec / 2.0 >= MATCH_RADII_PER_CELL * radius_arcsec:
        cell_arcsec /= 2.0
        order += 1
    return order


def _partition_span(cell_starts: Any, cell_ends: Any, starts: Any, ends: Any) -> tuple[Any, Any]:
    """Partitions ``first[i]:last[i]`` overlapping each order-29 range (disjoint, sorted)."""
    import numpy as np

    first = np.searchsorted(ends, cell_starts, side="right")
    last = np.searchsorted(starts, cell_ends, side="left")
    return first, np.maximum(last, first)


PROBE_DIRECTIONS = 8


def _disc_probes(ra_deg: Any, dec_deg: Any, radius_arcsec: float) -> Any:
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
    return healpix29(probe_ra, probe_dec).reshape(-1, PROBE_DIRECTIONS)


def _discs_leave_pixel(
    healpix: Any, ra_deg: Any, dec_deg: Any, radius_arcsec: float, order: int, pixel: int
) -> bool:
    """True if the disc around some of these positions, all in ``pixel``, may leave it.

    Most positions lie far from the edge: when the 9 cells around a position, at the
    order whose cells are 4 radii across, are all in the pixel, so is its disc (the
    property :func:`pairs_within` relies on). The octagon probes of
    :func:`disc_leaves_pixel` decide for the rest.
    """
    import numpy as np

    from tsmaker.healpix import neighbours

    cell_order = _cell_order(radius_arcsec)
    if cell_order > order:
        block = neighbours(healpix >> (2 * (29 - cell_order)), cell_order)
        near_edge = ((block >> (2 * (cell_order - order))) != pixel).any(axis=1)
        ra_deg, dec_deg = ra_deg[near_edge], dec_deg[near_edge]
    if not len(ra_deg):
        return False
    probes = _disc_probes(ra_deg, dec_deg, radius_arcsec)
    return bool(np.any((probes >> (2 * (29 - order))) != pixel))


def disc_leaves_pixel(ra_deg: Any, dec_deg: Any, radius_arcsec: float, order: int) -> Any:
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


def offset_positions(
    ra_deg: Any, dec_deg: Any, separation_arcsec: Any, position_angle_deg: Any
) -> tuple[Any, Any]:
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


@dataclass(frozen=True)
class PixelMatches:
    """The pairs found in one partition, before ranking and photometry."""

    redshift_rows: Any
    """The spec-z of each pair (pandas.DataFrame indexed by ``_healpix_29``)."""
    object_rows: Any
    """The object of each pair (pyarrow.Table, the columns read)."""
    distance_arcsec: Any
    """Great-circle distance of each pair (numpy.ndarray)."""


def match_pixel(task: PixelMatch, matcher: PixelMatcher) -> PixelMatches:
    """Match one partition's spec-z against its objects (partition + margin).

    Every object within ``radius_arcsec`` is found by :func:`pairs_within`, and the
    ``n_neighbors`` nearest per spec-z are kept, ties in distance going to the smaller
    object id, so the result does not depend on the order of the rows in the files.
    The pairs come in no particular order; :func:`tsmaker.partition.finish_partition`
    sorts and ranks them.
    """
    import numpy as np

    objects = matcher.read_objects(task.files)
    specz = task.redshift_rows
    specz_ra = specz[matcher.redshift_ra_column].to_numpy(dtype=np.float64)
    specz_dec = specz[matcher.redshift_dec_column].to_numpy(dtype=np.float64)
    object_ra = objects.column(matcher.object_ra_column).to_numpy().astype(np.float64)
    object_dec = objects.column(matcher.object_dec_column).to_numpy().astype(np.float64)
    n_neighbors = matcher.parameters.n_neighbors
    specz_rows, object_rows, distance = pairs_within(
        specz_ra, specz_dec, object_ra, object_dec, matcher.parameters.radius_arcsec,
        n_nearest=n_neighbors,
    )
    if len(object_rows) > n_neighbors:  # else no spec-z can have more than k pairs
        object_ids = None
        if matcher.object_id_column is not None:
            object_ids = objects.column(matcher.object_id_column).take(object_rows)
        order, rank = match_order(
            np.zeros(len(specz_rows), dtype=np.int64), specz_rows, distance, object_ids
        )
        kept = order[rank <= n_neighbors]
        specz_rows, object_rows, distance = specz_rows[kept], object_rows[kept], distance[kept]
    return PixelMatches(specz.iloc[specz_rows], objects.take(object_rows), distance)


def pairs_within(
    ra1_deg: Any,
    dec1_deg: Any,
    ra2_deg: Any,
    dec2_deg: Any,
    radius_arcsec: float,
    n_nearest: int | None = None,
) -> tuple[Any, Any, Any]:
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

    from tsmaker.healpix import lonlat_to_healpix, neighbours

    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if not len(ra1_deg) or not len(ra2_deg):
        return empty
    order = _cell_order(radius_arcsec)
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
    block = neighbours(lonlat_to_healpix(ra1_deg, dec1_deg, order, threads=1), order, threads=1)
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


def _within_nearest(rows: Any, distance_arcsec: Any, n_nearest: int) -> Any:
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
    vectors1: Any, vectors2: Any, first: Any, counts: Any, chord: float
) -> Iterator[tuple[Any, Any]]:
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


def unit_vectors(ra_deg: Any, dec_deg: Any) -> Any:
    """(n, 3) unit vectors of positions in degrees."""
    import numpy as np

    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    cos_dec = np.cos(dec)
    return np.stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)], axis=-1)


def separation_arcsec(ra1_deg: Any, dec1_deg: Any, ra2_deg: Any, dec2_deg: Any) -> Any:
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


def match_order(healpix: Any, keys: Any, distance_arcsec: Any, object_ids: Any = None) -> Any:
    """Row order and ``match_rank`` of one partition of matches.

    Rows are ordered by the spec-z's HEALPix order-29 index, then its key, then the
    distance, then the object id; ``match_rank`` counts 1, 2, ... within each spec-z in
    that order. Partitions are disjoint HEALPix ranges of the spec-z position, so
    writing them in pixel order gives one global order that does not depend on the
    partitioning or the number of workers.

    Returns
    -------
    order : numpy.ndarray of int
        Positions that put the rows in that order.
    rank : numpy.ndarray of int32
        ``match_rank`` of the ordered rows (1 = nearest).

    Examples
    --------
    >>> order, rank = match_order([5, 5, 5, 2], [7, 3, 7, 9], [0.9, 0.1, 0.2, 0.5])
    >>> order.tolist(), rank.tolist()
    ([3, 1, 2, 0], [1, 1, 1, 2])
    """
    import numpy as np

    healpix = np.asarray(healpix, dtype=np.int64)
    key_codes = _sortable(keys)
    distance = np.asarray(distance_arcsec, dtype=np.float64)
    tie_break = _sortable(object_ids) if object_ids is not None else np.zeros(len(distance))
    order = np.lexsort((tie_break, distance, key_codes, healpix))
    sorted_keys = key_codes[order]
    count = len(order)
    new_group = np.ones(count, dtype=bool)
    new_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.maximum.accumulate(np.where(new_group, np.arange(count), 0))
    return order, (np.arange(count) - starts + 1).astype(np.int32)


def _sortable(values: Any) -> Any:
    """Numbers as they are; anything else as its rank in sorted order."""
    import numpy as np
    import pandas as pd

    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.dtype.kind in "iufb":
        return array
    codes, _ = pd.factorize(pd.Series(array), sort=True, use_na_sentinel=True)
    return codes


UNIQUE_COUNT_KEYS = ("removed_duplicate_objects", "removed_duplicate_specz")


def select_unique_closest(
    pairs: Any,
    *,
    key_column: str,
    object_column: str,
    flag_column: str | None = None,
    z_err_column: str | None = None,
    higher_flag_is_better: bool = True,
) -> tuple[Any, dict[str, int]]:
    """Choose the rows that keep every object and every spec-z at most once.

    Rules, applied in this order over the whole catalog (so across partitions):

    1. each object keeps one spec-z: the nearest; ties go to the better quality flag
       (higher is better, as in 2dFLenS/OzDES, unless ``higher_flag_is_better`` is
       False, as for DESI's ZWARN), then the smaller redshift error, then the smaller
       spec-z key;
    2. each spec-z then keeps one object: the nearest of those left (ties: smaller
       object id).

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per match with the key, object id, ``match_distance_arcsec`` and the
        optional flag and redshift-error columns.
    key_column, object_column : str
        Spec-z key and object id columns.
    flag_column, z_err_column : str, optional
        Quality flag and redshift error columns used to break ties.
    higher_flag_is_better : bool
        Direction of the quality flag.

    Returns
    -------
    keep : numpy.ndarray of bool
        Aligned with the rows of ``pairs``.
    counts : dict
        Rows removed by each rule (``removed_duplicate_objects``,
        ``removed_duplicate_specz``).
    """
    import numpy as np

    frame = pairs.reset_index(drop=True)
    by = [object_column, MATCH_DISTANCE_COLUMN]
    ascending = [True, True]
    if flag_column:
        by.append(flag_column)
        ascending.append(not higher_flag_is_better)
    if z_err_column:
        by.append(z_err_column)
        ascending.append(True)
    by.append(key_column)
    ascending.append(True)
    ordered = frame.sort_values(by, ascending=ascending, kind="mergesort", na_position="last")
    object_winners = ordered.drop_duplicates(subset=[object_column], keep="first")
    removed_objects = len(frame) - len(object_winners)
    ordered = object_winners.sort_values(
        [key_column, MATCH_DISTANCE_COLUMN, object_column], kind="mergesort"
    )
    winners = ordered.drop_duplicates(subset=[key_column], keep="first")
    removed_specz = len(object_winners) - len(winners)
    keep = np.zeros(len(frame), dtype=bool)
    keep[winners.index.to_numpy()] = True
    return keep, {
        "removed_duplicate_objects": int(removed_objects),
        "removed_duplicate_specz": int(removed_specz),
    }
