"""Match one partition's spec-z against its objects: what every task reads and finds.

The redshift catalog is split over the object catalog's HEALPix partitions
(:mod:`tsmaker.matching.planning`), so every output row belongs to the partition of its spec-z
position; each partition is read with its margin cache, so a spec-z near a partition
edge still finds objects across it. This is LSDB's crossmatch (left catalog without
margin, right catalog with one), done per partition on pyarrow tables: the tests check
it against a brute-force oracle and against ``lsdb.Catalog.crossmatch`` itself. The k
nearest objects within the radius are kept (:func:`tsmaker.matching.sphere.pairs_within`), each
with ``match_distance_arcsec`` and ``match_rank`` (1 = nearest; ties in distance are
broken by the object id, :mod:`tsmaker.matching.ranking`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsmaker.errors import CatalogError, first_line
from tsmaker.parameters import parameter_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from tsmaker.inputs.hats_files import HatsLocation

    # A partition of a pickled group: order, pixel, files, its number of spec-z, and
    # whether the first file is its own partition.
    _GroupHeader = tuple[int, int, tuple[HatsLocation, ...], int, bool]


@dataclass(frozen=True)
class MatchParameters:
    """How spec-z are paired with objects (validated with the run's parameters)."""

    radius_arcsec: float = 1.0
    """Largest angular separation of a match, in arcseconds."""
    n_neighbors: int = 1
    """Keep up to this many nearest objects per spec-z."""


def check_margin(radius_arcsec: float, margin_threshold_arcsec: float | None,
                 location: str) -> None:
    """Refuse a radius the object catalog's margin cannot serve, before any data is read.

    A radius larger than the margin would silently lose matches across partition
    edges, and a catalog without a margin would lose all of them.

    Raises
    ------
    CatalogError
        The catalog has no margin cache.
    ParameterError
        The radius is larger than the margin.
    """
    if margin_threshold_arcsec is None:
        raise CatalogError(
            f"object catalog {location!r} has no margin cache, so matches across "
            "partition edges would be lost; open a HATS collection with a margin, or "
            "build one with hats-import (margin_threshold >= your radius)"
        )
    if radius_arcsec > margin_threshold_arcsec:
        raise parameter_error(
            "radius_arcsec",
            f"{{name}} {radius_arcsec} arcsec is larger than the object catalog's margin "
            f"({margin_threshold_arcsec:g} arcsec), which would lose matches across "
            f"partition edges; use {{name}} <= {margin_threshold_arcsec:g} or build a wider "
            "margin with hats-import",
        )


@dataclass(frozen=True)
class PixelMatcher:
    """What every partition's task shares: which columns to read and how to match."""

    object_columns: tuple[str, ...]
    """Object columns read (the coordinates among them)."""
    row_filters: tuple[tuple[str, str, object], ...]
    """Row filters applied as each file is read (e.g. ``detect_isPrimary == True``)."""
    object_ra_column: str
    object_dec_column: str
    object_id_column: str | None
    """Breaks ties in distance; None when the catalog has no id column."""
    redshift_ra_column: str
    redshift_dec_column: str
    parameters: MatchParameters

    def read_objects(self, files: Sequence[HatsLocation]) -> pa.Table:
        """One pyarrow Table of the given partition files (a partition and its margin).

        Only ``object_columns`` are decoded (they include the ``row_filters`` columns);
        rows failing ``row_filters`` are dropped.
        """
        return self.read_partition(files)[0]

    def read_partition(self, files: Sequence[HatsLocation]) -> tuple[pa.Table, int]:
        """:meth:`read_objects`, and how many of its rows come from the first file.

        The first file is the partition's own, the others its margin's: objects that
        belong to neighbouring partitions.
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
                reason = ("no such file" if isinstance(error, FileNotFoundError)
                          else first_line(error))
                raise CatalogError(
                    f"object catalog file {file.describe()!r} cannot be read ({reason}); "
                    "the catalog is incomplete or unreachable: check it, or copy it again"
                ) from None
            if self.row_filters:
                table = table.filter(pq.filters_to_expression(list(self.row_filters)))
            tables.append(table)
        if len(tables) == 1:
            return tables[0], tables[0].num_rows
        return pa.concat_tables(tables, promote_options="permissive"), tables[0].num_rows


def _read_local(path: str, columns: list[str]) -> pa.Table:
    """Read columns of a local Parquet file, one thread (partitions run in parallel).

    pyarrow's low-level reader skips pyarrow.dataset's discovery (half the cost of a
    small file) and ParquetFile's walk over every column path of a wide schema (DP1 has
    1,305 columns); columns are looked up by name in the file itself.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pa.OSFile(path) as source:
        reader = pq.ParquetReader()
        # Read in this thread: pre-buffering hands every read to Arrow's I/O threads and
        # waits for them (20% slower on a local file, a context switch per column).
        reader.open(source, pre_buffer=False)
        indices = []
        for name in columns:
            try:
                indices.append(reader.column_name_idx(name))
            except KeyError:
                raise pa.ArrowInvalid(f"it has no column {name!r}") from None
        return reader.read_all(column_indices=indices, use_threads=False)


def _read_remote(file: HatsLocation, columns: list[str]) -> pa.Table:
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
    files: tuple[HatsLocation, ...]
    """The partition's Parquet file and, when it has one, its margin file."""
    redshift_rows: pd.DataFrame
    """The spec-z inside the pixel (pandas.DataFrame indexed by ``_healpix_29``)."""
    own_partition: bool = True
    """True when the first file is this pixel's own partition; False for the spec-z
    beyond the footprint's edge, matched against partitions other tasks own."""


@dataclass(frozen=True)
class PixelMatchGroup:
    """Neighbouring partitions matched by one task, in sky order.

    Pickled (for a Dask worker) with the spec-z of all its partitions in one DataFrame,
    cut back into one per partition when unpickled: unpickling a few dozen small
    DataFrames cost a worker 0.25 ms each, 1 s of a 10x DP1 run; one costs 15x less.
    """

    pixel_matches: tuple[PixelMatch, ...]

    def __iter__(self) -> Iterator[PixelMatch]:
        return iter(self.pixel_matches)

    def __len__(self) -> int:
        return len(self.pixel_matches)

    def __reduce__(
        self,
    ) -> tuple[Callable[..., PixelMatchGroup], tuple[tuple[_GroupHeader, ...], pd.DataFrame]]:
        import pandas as pd

        frames = [pixel_match.redshift_rows for pixel_match in self.pixel_matches]
        joined = frames[0] if len(frames) == 1 else pd.concat(frames)
        headers = tuple(
            (pixel_match.order, pixel_match.pixel, pixel_match.files, len(frame),
             pixel_match.own_partition)
            for pixel_match, frame in zip(self.pixel_matches, frames, strict=True)
        )
        return (_unpack_group, (headers, joined))


def _unpack_group(headers: tuple[_GroupHeader, ...], joined: pd.DataFrame) -> PixelMatchGroup:
    """The group :meth:`PixelMatchGroup.__reduce__` packed, each partition's rows a slice."""
    pixel_matches = []
    start = 0
    for order, pixel, files, rows, own_partition in headers:
        pixel_matches.append(
            PixelMatch(order, pixel, files, joined.iloc[start : start + rows], own_partition)
        )
        start += rows
    return PixelMatchGroup(tuple(pixel_matches))


@dataclass(frozen=True)
class PixelMatches:
    """The pairs found in one partition, before ranking and photometry."""

    redshift_rows: pd.DataFrame
    """The spec-z of each pair (pandas.DataFrame indexed by ``_healpix_29``)."""
    object_rows: pa.Table
    """The object of each pair (pyarrow.Table, the columns read)."""
    distance_arcsec: np.ndarray
    """Great-circle distance of each pair (numpy.ndarray)."""
    partition_objects: pa.Table | None = None
    """Every object of the partition read (not its margin's), after the row filters;
    None for a task whose partitions other tasks own (spec-z beyond the footprint)."""


def match_pixels(tasks: Sequence[PixelMatch], matcher: PixelMatcher) -> Iterator[PixelMatches]:
    """Match each partition's spec-z against its objects (partition + margin), in order.

    Every object within ``radius_arcsec`` is found by
    :func:`tsmaker.matching.sphere.pairs_within`, and the ``n_neighbors`` nearest per spec-z
    are kept, ties in distance going to the smaller object id, so the result does not
    depend on the order of the rows in the files. The pairs come in no particular
    order; :func:`tsmaker.run.partition.finish_partition` sorts and ranks them.

    The spec-z cells and their neighbours (:func:`tsmaker.matching.sphere.neighbour_blocks`)
    are computed in one call for all the partitions: each call into cdshealpix starts
    a thread pool of its own (~70 us, and a wait for a core when all are busy), and a
    partition holds a few dozen spec-z.
    """
    import numpy as np

    from tsmaker.matching.sphere import neighbour_blocks

    tasks = list(tasks)
    if not tasks:
        return
    ra, dec = (
        np.concatenate([task.redshift_rows[column].to_numpy(dtype=np.float64) for task in tasks])
        for column in (matcher.redshift_ra_column, matcher.redshift_dec_column)
    )
    blocks = neighbour_blocks(ra, dec, matcher.parameters.radius_arcsec)
    ends = np.cumsum([len(task.redshift_rows) for task in tasks])
    for task, start, end in zip(tasks, np.r_[0, ends[:-1]], ends, strict=True):
        yield _match_pixel(task, matcher, blocks[start:end])


def _match_pixel(task: PixelMatch, matcher: PixelMatcher, blocks: np.ndarray) -> PixelMatches:
    """:func:`match_pixels` for one partition, its spec-z's neighbour ``blocks`` given."""
    import numpy as np

    from tsmaker.matching.ranking import match_order
    from tsmaker.matching.sphere import pairs_within

    objects, own_rows = matcher.read_partition(task.files)
    specz = task.redshift_rows
    specz_ra = specz[matcher.redshift_ra_column].to_numpy(dtype=np.float64)
    specz_dec = specz[matcher.redshift_dec_column].to_numpy(dtype=np.float64)
    object_ra = objects.column(matcher.object_ra_column).to_numpy().astype(np.float64)
    object_dec = objects.column(matcher.object_dec_column).to_numpy().astype(np.float64)
    n_neighbors = matcher.parameters.n_neighbors
    specz_rows, object_rows, distance = pairs_within(
        specz_ra, specz_dec, object_ra, object_dec, matcher.parameters.radius_arcsec,
        n_nearest=n_neighbors, blocks1=blocks,
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
    # Objects of a partition another task owns are counted there, not here.
    own_objects = objects.slice(0, own_rows) if task.own_partition else None
    return PixelMatches(specz.iloc[specz_rows], objects.take(object_rows), distance, own_objects)
