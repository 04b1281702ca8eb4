"""Coverage figures: how well the training set covers the photometric sample.

Pure functions of the counts of :mod:`tsmaker.science.representativeness`:

* ``coverage_fraction``: the fraction of the photometric sample whose grid cell holds
  at least one training galaxy (overall, and per bin of the grid's magnitude;
  :func:`coverage_fraction`, :func:`coverage_by_magnitude`);
* ``completeness_50_mag``: per band, the magnitude where the training set's
  completeness relative to the photometric sample falls below half of its value on
  the bright half of the training set (:func:`completeness_50_magnitude`);
* :func:`summarise` puts them, and the counts behind them, into a product's
  ``summary["representativeness"]``; :func:`colour_colour_map` projects the stored
  grid onto two colours for the coverage map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

from tsmaker.science.representativeness import (
    HISTOGRAM_START_MAG,
    HISTOGRAM_STEP_MAG,
    HISTOGRAM_STOP_MAG,
    CoverageGrid,
    GridDescription,
    SampleCounts,
    histogram_edges,
)

if TYPE_CHECKING:
    import numpy as np


class MagnitudeBinCoverage(TypedDict):
    """The coverage of one magnitude bin of the grid (:func:`coverage_by_magnitude`)."""

    magnitude_min: float | None
    """None for the first bin, open on the bright side."""
    magnitude_max: float | None
    """None for the last bin, open on the faint side."""
    photometric_objects: int
    fraction: float | None
    """None without a photometric object in the bin."""


class GridCells(TypedDict):
    """The grid's occupied cells: their indices and, in step, their counts."""

    index: list[int]
    photometric: list[int]
    training: list[int]


class StoredGrid(GridDescription):
    """``summary["representativeness"]["grid"]``: the grid and its occupied cells."""

    cells: GridCells


class HistogramBins(TypedDict):
    """The bins of the stored magnitude histograms."""

    start_mag: float
    stop_mag: float
    step_mag: float


class MagnitudeHistograms(TypedDict):
    """Per band, the counts of each sample in the bins (:func:`histogram_edges`)."""

    bins: HistogramBins
    photometric: dict[str, list[int]]
    training: dict[str, list[int]]


class RepresentativenessFigures(TypedDict):
    """A product's ``summary["representativeness"]``, as :func:`summarise` makes it."""

    bands: list[str]
    coverage_fraction: float | None
    coverage_fraction_by_magnitude: list[MagnitudeBinCoverage]
    completeness_50_mag: dict[str, float | None]
    photometric_sample: dict[str, object]
    """How it was drawn (recorded as given), ``objects`` and ``without_cell``."""
    training_objects: int
    training_without_cell: int
    magnitudes: dict[str, object]
    """Which magnitudes were used, recorded as given."""
    histograms: MagnitudeHistograms
    grid: StoredGrid | None
    """None without a grid (fewer than two bands)."""


class ColourColourMap(TypedDict):
    """Stored grid cells seen on two colours (:func:`colour_colour_map`).

    Arrays are indexed [x bin][y bin].
    """

    x: str
    y: str
    x_edges: list[float]
    y_edges: list[float]
    photometric: list[list[int]]
    training: list[list[int]]
    covered_fraction: list[list[float | None]]
    """None in a cell without photometric objects."""
    uncovered_cells: int
    uncovered_photometric_objects: int


def coverage_fraction(photometric_cells: np.ndarray, training_cells: np.ndarray) -> float | None:
    """The fraction of photometric objects whose cell holds a training galaxy.

    Examples
    --------
    >>> import numpy as np
    >>> coverage_fraction(np.array([10, 5, 5, 0]), np.array([1, 0, 3, 7]))
    0.75
    >>> coverage_fraction(np.array([0, 0]), np.array([1, 0])) is None
    True
    """
    import numpy as np

    total = int(np.sum(photometric_cells))
    if total == 0:
        return None
    covered = int(np.sum(photometric_cells[np.asarray(training_cells) > 0]))
    return covered / total


def coverage_by_magnitude(
    grid: CoverageGrid, photometric_cells: np.ndarray, training_cells: np.ndarray
) -> list[MagnitudeBinCoverage]:
    """The coverage fraction in each magnitude bin of the grid.

    The first and last bins are open (``magnitude_min`` / ``magnitude_max`` None):
    they hold everything brighter or fainter than the grid's inner edges.
    """
    import numpy as np

    per_bin = grid.cells // grid.shape[0]
    photometric = np.asarray(photometric_cells).reshape(grid.shape[0], per_bin)
    covered = np.where(np.asarray(training_cells).reshape(grid.shape[0], per_bin) > 0,
                       photometric, 0)
    edges = grid.magnitude_edges
    rows: list[MagnitudeBinCoverage] = []
    for index in range(grid.shape[0]):
        total = int(photometric[index].sum())
        rows.append({
            "magnitude_min": None if index == 0 else edges[index],
            "magnitude_max": None if index == grid.shape[0] - 1 else edges[index + 1],
            "photometric_objects": total,
            "fraction": int(covered[index].sum()) / total if total else None,
        })
    return rows


def completeness_50_magnitude(
    training_counts: np.ndarray, photometric_counts: np.ndarray, edges: np.ndarray
) -> float | None:
    """The magnitude where the training set's relative completeness falls below 50%.

    The completeness in a bin is ``training / photometric``; relative to its value on
    the bright half of the training set (the bins up to the one holding the training
    set's median magnitude), it is 1 where the training set samples the photometric
    sample evenly. Searching faintward from that median bin, the first bin whose
    relative completeness is below 0.5 is found, and the crossing is interpolated
    linearly between its centre and the centre of the previous bin holding photometric
    objects. Bins without photometric objects are skipped. None without a training
    object, or when the completeness never falls below half.

    Examples
    --------
    A training set that is 10% of the photometric sample brighter than 22, none fainter
    (1-mag bins from 19): the crossing is half-way between the centres 21.5 and 22.5.

    >>> import numpy as np
    >>> completeness_50_magnitude(np.array([1, 2, 4, 0, 0]), np.array([10, 20, 40, 80, 160]),
    ...                           np.arange(19.0, 25.0))
    22.0
    """
    import numpy as np

    training = np.asarray(training_counts, dtype=np.float64)
    photometric = np.asarray(photometric_counts, dtype=np.float64)
    total = training.sum()
    if total <= 0:
        return None
    median_bin = int(np.searchsorted(np.cumsum(training), total / 2.0))
    bright = slice(0, median_bin + 1)
    if photometric[bright].sum() <= 0:
        return None
    reference = training[bright].sum() / photometric[bright].sum()
    centres = (np.asarray(edges[:-1], dtype=np.float64) + np.asarray(edges[1:])) / 2.0
    previous: int | None = None
    for index in range(median_bin, len(training)):
        if photometric[index] <= 0:
            continue
        relative = training[index] / photometric[index] / reference
        if relative < 0.5:
            if previous is None:
                return float(centres[index])
            before = training[previous] / photometric[previous] / reference
            share = (before - 0.5) / (before - relative)
            return float(centres[previous] + share * (centres[index] - centres[previous]))
        previous = index
    return None


def summarise(
    photometric: SampleCounts,
    training: SampleCounts,
    *,
    bands: Sequence[str],
    grid: CoverageGrid | None,
    sampling: Mapping[str, object],
    magnitudes: Mapping[str, object],
) -> RepresentativenessFigures:
    """The ``summary["representativeness"]`` of a product, from the summed counts.

    Parameters
    ----------
    photometric, training : SampleCounts
        The photometric sample's counts and the training set's (nearest matches).
    bands : sequence of str
        The bands of the histograms' rows.
    grid : CoverageGrid or None
        The grid the cells were counted on.
    sampling : mapping
        How the photometric sample was drawn (rate, catalog rows), recorded as given.
    magnitudes : mapping
        Which magnitudes were used (flux type, zero point, dereddened), recorded as given.
    """
    edges = histogram_edges()
    completeness = {
        band: _rounded(completeness_50_magnitude(training.histograms[row],
                                                 photometric.histograms[row], edges))
        for row, band in enumerate(bands)
    }
    result: RepresentativenessFigures = {
        "bands": list(bands),
        "coverage_fraction": None,
        "coverage_fraction_by_magnitude": [],
        "completeness_50_mag": completeness,
        "photometric_sample": {**dict(sampling), "objects": photometric.objects,
                               "without_cell": photometric.without_cell},
        "training_objects": training.objects,
        "training_without_cell": training.without_cell,
        "magnitudes": dict(magnitudes),
        "histograms": {
            "bins": {"start_mag": HISTOGRAM_START_MAG, "stop_mag": HISTOGRAM_STOP_MAG,
                     "step_mag": HISTOGRAM_STEP_MAG},
            "photometric": {band: photometric.histograms[row].tolist()
                            for row, band in enumerate(bands)},
            "training": {band: training.histograms[row].tolist()
                         for row, band in enumerate(bands)},
        },
        "grid": None,
    }
    if grid is not None and photometric.cells is not None and training.cells is not None:
        import numpy as np

        fraction = coverage_fraction(photometric.cells, training.cells)
        result["coverage_fraction"] = _rounded(fraction, 6)
        result["coverage_fraction_by_magnitude"] = [
            {**row, "fraction": _rounded(row["fraction"], 6)}
            for row in coverage_by_magnitude(grid, photometric.cells, training.cells)
        ]
        occupied = np.flatnonzero((photometric.cells > 0) | (training.cells > 0))
        result["grid"] = {
            **grid.describe(),
            "cells": {
                "index": occupied.tolist(),
                "photometric": photometric.cells[occupied].tolist(),
                "training": training.cells[occupied].tolist(),
            },
        }
    return result


def colour_colour_map(grid: StoredGrid, x: int = 0, y: int = 1) -> ColourColourMap:
    """Stored grid cells (``summary["representativeness"]["grid"]``) seen on two colours.

    Summed over the magnitude and the other colours: the photometric objects and the
    training galaxies of each (``x``, ``y``) colour cell, the share of its photometric
    objects whose full grid cell holds a training galaxy, and how many colour cells
    hold photometric objects but no training galaxy. Arrays are indexed [x bin][y bin].

    Examples
    --------
    Two colours, one magnitude bin, a 2x2 grid; the cell (1, 0) has no training galaxy:

    >>> grid = {"shape": [1, 2, 2], "colours": ["g-r", "r-i"], "colour_edges": [0, 1, 2],
    ...         "cells": {"index": [0, 2, 3], "photometric": [4, 6, 0], "training": [1, 0, 2]}}
    >>> view = colour_colour_map(grid)
    >>> view["photometric"], view["training"], view["covered_fraction"]
    ([[4, 0], [6, 0]], [[1, 0], [0, 2]], [[1.0, None], [0.0, None]])
    >>> view["uncovered_cells"], view["uncovered_photometric_objects"]
    (1, 6)
    """
    import numpy as np

    shape = tuple(int(size) for size in grid["shape"])
    cells = grid["cells"]
    index = np.asarray(cells["index"], dtype=np.int64)
    photometric = np.zeros(int(np.prod(shape)), dtype=np.int64)
    training = np.zeros_like(photometric)
    photometric[index] = cells["photometric"]
    training[index] = cells["training"]
    covered = np.where(training > 0, photometric, 0).reshape(shape)
    photometric, training = photometric.reshape(shape), training.reshape(shape)
    others = tuple(axis for axis in range(len(shape)) if axis not in (1 + x, 1 + y))
    flat = [array.sum(axis=others) for array in (photometric, training, covered)]
    if x > y:
        flat = [array.T for array in flat]
    photometric_2d, training_2d, covered_2d = flat
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = covered_2d / photometric_2d
    uncovered = (photometric_2d > 0) & (training_2d == 0)
    return {
        "x": grid["colours"][x],
        "y": grid["colours"][y],
        "x_edges": list(grid["colour_edges"]),
        "y_edges": list(grid["colour_edges"]),
        "photometric": photometric_2d.tolist(),
        "training": training_2d.tolist(),
        "covered_fraction": [
            [None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in fraction
        ],
        "uncovered_cells": int(uncovered.sum()),
        "uncovered_photometric_objects": int(photometric_2d[uncovered].sum()),
    }


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)
