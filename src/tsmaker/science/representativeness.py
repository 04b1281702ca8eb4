"""Representativeness: the photometric sample and the counts both samples are reduced to.

Spec-z samples are brighter and bluer than the photometric samples a photo-z code is
later applied to, and a model trained on them extrapolates silently where they are
missing. Only small aggregates of the two are kept (:class:`SampleCounts`):

* per-band magnitude histograms (:func:`histogram_edges`, 0.25 mag bins from 14 to 30);
* counts on a coarse colour-magnitude grid (:class:`CoverageGrid`: by default i in
  1-mag bins and g-r, r-i, i-z in 0.5-mag bins, values beyond the grid put in its
  edge cells).

The photometric sample is drawn while the partitions are matched, from the objects
the run reads anyway, by a hash of each object's id (:func:`sample_mask`): the same
objects whatever the partitioning or the number of workers, at most
:data:`MAX_SAMPLE_OBJECTS` expected over the whole catalog. The figures computed from
the counts (coverage fraction, 50%-completeness magnitude) are in
:mod:`tsmaker.science.coverage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    import numpy as np

MAX_SAMPLE_OBJECTS = 200_000
"""Expected size of the photometric sample over the whole object catalog, at most."""
HISTOGRAM_START_MAG, HISTOGRAM_STOP_MAG, HISTOGRAM_STEP_MAG = 14.0, 30.0, 0.25
"""The per-band magnitude histograms: 64 bins of 0.25 mag from 14 to 30 (others not counted)."""
GRID_MAGNITUDE_EDGES: tuple[float, ...] = tuple(float(m) for m in range(16, 27))
"""Edges of the grid's magnitude bins (1 mag, 16 to 26; beyond them, the edge bins)."""
GRID_COLOUR_EDGES: tuple[float, ...] = (-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
"""Edges of the grid's colour bins (0.5 mag, -0.5 to 2.5; beyond them, the edge bins)."""
PREFERRED_GRID = ("i", (("g", "r"), ("r", "i"), ("i", "z")))
"""The grid's magnitude band and colours when the catalog has g, r, i and z."""
_SAMPLE_SALT = 0x5EED_0F_75_3A4E  # fixed: the same objects are sampled in every run


def histogram_edges() -> np.ndarray:
    """The edges of the per-band magnitude histograms (65 values, 14 to 30).

    Examples
    --------
    >>> edges = histogram_edges()
    >>> len(edges), float(edges[0]), float(edges[1]), float(edges[-1])
    (65, 14.0, 14.25, 30.0)
    """
    import numpy as np

    count = round((HISTOGRAM_STOP_MAG - HISTOGRAM_START_MAG) / HISTOGRAM_STEP_MAG)
    return HISTOGRAM_START_MAG + HISTOGRAM_STEP_MAG * np.arange(count + 1, dtype=np.float64)


class GridDescription(TypedDict):
    """A :class:`CoverageGrid` as JSON (:meth:`CoverageGrid.describe`)."""

    magnitude_band: str
    colours: list[str]
    """As text, e.g. ``["g-r", "r-i", "i-z"]``."""
    magnitude_edges: list[float]
    colour_edges: list[float]
    shape: list[int]
    cell_order: str


@dataclass(frozen=True)
class CoverageGrid:
    """A coarse colour-magnitude grid: one magnitude and a few colours, binned.

    Cells are numbered in C order over (magnitude bin, colour 1 bin, colour 2 bin, ...).
    """

    magnitude_band: str
    colours: tuple[tuple[str, str], ...]
    """Each colour as (bluer band, redder band): ``("g", "r")`` is g - r."""
    magnitude_edges: tuple[float, ...] = GRID_MAGNITUDE_EDGES
    colour_edges: tuple[float, ...] = GRID_COLOUR_EDGES

    @property
    def shape(self) -> tuple[int, ...]:
        """Bins along the magnitude, then along each colour."""
        colour_bins = len(self.colour_edges) - 1
        return (len(self.magnitude_edges) - 1, *(colour_bins for _ in self.colours))

    @property
    def cells(self) -> int:
        """The number of cells."""
        import math

        return math.prod(self.shape)

    @property
    def bands(self) -> tuple[str, ...]:
        """Every band the grid needs."""
        names = [self.magnitude_band] + [band for colour in self.colours for band in colour]
        return tuple(dict.fromkeys(names))

    def colour_names(self) -> list[str]:
        """The colours as text, e.g. ``["g-r", "r-i", "i-z"]``."""
        return [f"{blue}-{red}" for blue, red in self.colours]

    def cell_index(self, magnitudes: Mapping[str, np.ndarray]) -> np.ndarray:
        """The cell of each object, or -1 where a magnitude it needs is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> grid = CoverageGrid("i", (("g", "r"),))
        >>> mags = {"g": np.array([21.2, 20.0, np.nan]), "r": np.array([21.0, 21.0, 20.0]),
        ...         "i": np.array([17.5, 30.0, 19.0])}
        >>> grid.cell_index(mags).tolist()  # (1, 1) -> 1*6+1; (9, 0) -> 54; no g -> -1
        [7, 54, -1]
        """
        import numpy as np

        magnitude = np.asarray(magnitudes[self.magnitude_band], dtype=np.float64)
        values = [magnitude] + [
            np.asarray(magnitudes[blue], dtype=np.float64)
            - np.asarray(magnitudes[red], dtype=np.float64)
            for blue, red in self.colours
        ]
        edges = [self.magnitude_edges] + [self.colour_edges] * len(self.colours)
        index = np.zeros(len(magnitude), dtype=np.int64)
        finite = np.ones(len(magnitude), dtype=bool)
        for value, axis_edges in zip(values, edges, strict=True):
            bins = len(axis_edges) - 1
            # Inner edges only: below the first, bin 0; at or beyond the last, the last bin.
            position = np.searchsorted(np.asarray(axis_edges[1:-1]), value, side="right")
            index = index * bins + position
            finite &= np.isfinite(value)
        return np.where(finite, index, -1)

    def describe(self) -> GridDescription:
        """The grid as JSON: band, colours, edges and shape."""
        return {
            "magnitude_band": self.magnitude_band,
            "colours": self.colour_names(),
            "magnitude_edges": list(self.magnitude_edges),
            "colour_edges": list(self.colour_edges),
            "shape": list(self.shape),
            "cell_order": "C order over (magnitude bin, colour bins...); values beyond the "
            "edges are counted in the edge bins",
        }


def choose_grid(bands: Sequence[str]) -> CoverageGrid | None:
    """The grid for a catalog's bands: i with g-r, r-i, i-z, else consecutive bands.

    Without g, r, i and z, the grid's magnitude is the middle band and its colours the
    (up to three) consecutive pairs around it; fewer than two bands give no grid.

    Examples
    --------
    >>> choose_grid("ugrizy").colour_names(), choose_grid("ugrizy").magnitude_band
    (['g-r', 'r-i', 'i-z'], 'i')
    >>> choose_grid(["J", "H", "K"]).colour_names(), choose_grid(["J"])
    (['J-H', 'H-K'], None)
    """
    bands = list(bands)
    band, colours = PREFERRED_GRID
    if all(name in bands for name in (band, *(b for pair in colours for b in pair))):
        return CoverageGrid(band, colours)
    if len(bands) < 2:
        return None
    pairs = list(zip(bands[:-1], bands[1:], strict=True))
    start = max(0, (len(pairs) - 3 + 1) // 2)
    chosen = tuple(pairs[start : start + 3])
    return CoverageGrid(bands[len(bands) // 2], chosen)


def sample_rate(total_rows: int | None) -> float:
    """The share of objects sampled so that the catalog gives at most ~200k of them.

    Without a row count (HATS properties that do not give one) every object read is
    sampled.

    Examples
    --------
    >>> sample_rate(2_000_000), sample_rate(50_000), sample_rate(None)
    (0.1, 1.0, 1.0)
    """
    if not total_rows or total_rows <= MAX_SAMPLE_OBJECTS:
        return 1.0
    return MAX_SAMPLE_OBJECTS / total_rows


def sample_mask(keys: np.ndarray, rate: float) -> np.ndarray:
    """True for the objects in the sample: a hash of each key below ``rate``.

    The hash is splitmix64's mixing of the 64-bit key (an object id, or the bits of a
    coordinate; its last xor-shift, which leaves the top bits alone, is left out), and
    an object is sampled when the hash is below ``rate`` x 2^64: so an object is sampled
    or not whatever partition or task holds it, and about ``rate`` of any set of
    objects is.

    Examples
    --------
    >>> import numpy as np
    >>> keys = np.arange(100_000, dtype=np.int64)
    >>> round(float(sample_mask(keys, 0.1).mean()), 2), bool(sample_mask(keys, 1.0).all())
    (0.1, True)
    >>> bool((sample_mask(keys[::-1], 0.3)[::-1] == sample_mask(keys, 0.3)).all())
    True
    """
    import numpy as np

    keys = np.ascontiguousarray(keys)
    if rate >= 1.0:
        return np.ones(len(keys), dtype=bool)
    if keys.dtype.itemsize != 8:
        keys = keys.astype(np.int64)
    # In place on one copy: this runs on every object a run reads.
    value = keys.view(np.uint64) ^ np.uint64(_SAMPLE_SALT)
    shifted = np.empty_like(value)
    with np.errstate(over="ignore"):
        np.right_shift(value, np.uint64(30), out=shifted)
        np.bitwise_xor(value, shifted, out=value)
        np.multiply(value, np.uint64(0xBF58476D1CE4E5B9), out=value)
        np.right_shift(value, np.uint64(27), out=shifted)
        np.bitwise_xor(value, shifted, out=value)
        np.multiply(value, np.uint64(0x94D049BB133111EB), out=value)
    return value < np.uint64(min(int(rate * 2.0**64), 2**64 - 1))


@dataclass
class SampleCounts:
    """The aggregates of a set of objects: magnitude histograms and grid cell counts.

    Adding two gives the counts of both sets, so partitions are counted apart and
    summed by the driver.
    """

    histograms: np.ndarray
    """int64, (bands, 64): counts per band in the bins of :func:`histogram_edges`."""
    cells: np.ndarray | None
    """int64, one count per :class:`CoverageGrid` cell; None without a grid."""
    objects: int = 0
    """Objects counted (with or without magnitudes)."""
    without_cell: int = 0
    """Objects without a cell (a grid magnitude not finite: a non-detection)."""

    def __add__(self, other: SampleCounts) -> SampleCounts:
        cells = None if self.cells is None or other.cells is None else self.cells + other.cells
        return SampleCounts(self.histograms + other.histograms, cells,
                            self.objects + other.objects, self.without_cell + other.without_cell)


def count_objects(
    magnitudes: Mapping[str, np.ndarray], bands: Sequence[str], grid: CoverageGrid | None
) -> SampleCounts:
    """Histogram each band and count the objects of each grid cell.

    ``magnitudes`` holds one array per band (NaN where there is none); every array
    has one value per object.

    Examples
    --------
    >>> import numpy as np
    >>> counts = count_objects({"i": np.array([14.1, 14.2, 29.99, np.nan, 31.0])}, ["i"], None)
    >>> counts.histograms[0, 0], counts.histograms[0, -1], counts.histograms.sum(), counts.objects
    (np.int64(2), np.int64(1), np.int64(3), 5)
    """
    import numpy as np

    edges = histogram_edges()
    bins = len(edges) - 1
    histograms = np.zeros((len(bands), bins), dtype=np.int64)
    objects = 0
    for row, band in enumerate(bands):
        values = np.asarray(magnitudes[band], dtype=np.float64)
        objects = len(values)
        position = np.floor((values - edges[0]) / HISTOGRAM_STEP_MAG)
        inside = np.isfinite(position) & (position >= 0) & (position < bins)
        histograms[row] = np.bincount(position[inside].astype(np.int64), minlength=bins)
    cells = None
    without_cell = 0
    if grid is not None:
        index = grid.cell_index(magnitudes)
        defined = index >= 0
        without_cell = int(len(index) - np.count_nonzero(defined))
        cells = np.bincount(index[defined], minlength=grid.cells).astype(np.int64)
    return SampleCounts(histograms, cells, objects, without_cell)


def empty_counts(bands: Sequence[str], grid: CoverageGrid | None) -> SampleCounts:
    """The counts of no object."""
    import numpy as np

    cells = np.zeros(grid.cells, dtype=np.int64) if grid is not None else None
    return SampleCounts(np.zeros((len(bands), len(histogram_edges()) - 1), dtype=np.int64), cells)
