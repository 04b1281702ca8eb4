"""The representativeness functions, on numbers worked out by hand."""

import numpy as np
import pytest

from tsmaker.science import representativeness as rep
from tsmaker.science.coverage import (
    colour_colour_map,
    completeness_50_magnitude,
    coverage_by_magnitude,
    coverage_fraction,
    summarise,
)
from tsmaker.science.representativeness import (
    CoverageGrid,
    choose_grid,
    count_objects,
    sample_mask,
    sample_rate,
)

# --------------------------------------------------------------------- the grid


def test_cells_are_numbered_in_c_order_and_values_beyond_the_edges_go_to_the_edge_cells():
    grid = CoverageGrid("i", (("g", "r"), ("r", "i")))
    assert grid.shape == (10, 6, 6) and grid.cells == 360
    magnitudes = {
        # i: 15 -> bin 0 (below 17), 17.0 -> 1 (edges belong to the bin above), 40 -> 9
        "i": np.array([15.0, 17.0, 40.0, 21.25]),
        "r": np.array([15.25, 17.0, 40.0, 21.25]),
        # g-r: -3 -> 0, 0.5 -> 2, 9 -> 5, nan -> no cell
        "g": np.array([12.25, 17.5, 49.0, np.nan]),
    }
    # r-i: 0.25 -> 1, 0 -> 1 (edges belong to the bin above), 0 -> 1
    expected = [0 * 36 + 0 * 6 + 1, 1 * 36 + 2 * 6 + 1, 9 * 36 + 5 * 6 + 1, -1]
    assert grid.cell_index(magnitudes).tolist() == expected


def test_grid_for_lsst_bands_and_for_other_bands():
    lsst = choose_grid("ugrizy")
    assert (lsst.magnitude_band, lsst.colour_names()) == ("i", ["g-r", "r-i", "i-z"])
    assert lsst.bands == ("i", "g", "r", "z")
    five = choose_grid(["a", "b", "c", "d", "e"])
    assert five.colour_names() == ["b-c", "c-d", "d-e"] and five.magnitude_band == "c"
    assert choose_grid(["g", "r"]).colour_names() == ["g-r"]


# --------------------------------------------------------------------- sampling


def test_sample_rate_bounds_the_sample_at_200k():
    assert sample_rate(4_000_000) == pytest.approx(0.05)
    assert sample_rate(200_000) == 1.0


def test_sample_is_the_same_whatever_the_grouping_of_objects():
    keys = np.random.default_rng(3).integers(0, 2**62, 50_000)
    whole = sample_mask(keys, 0.2)
    pieces = np.concatenate([sample_mask(part, 0.2) for part in np.array_split(keys, 7)])
    assert np.array_equal(whole, pieces)
    assert whole.mean() == pytest.approx(0.2, abs=0.01)
    # A smaller rate samples a subset of a larger one's objects.
    assert not (sample_mask(keys, 0.05) & ~whole).any()
    # int32 ids are widened, not reinterpreted.
    assert np.array_equal(sample_mask(keys[:10].astype(np.int64), 0.5),
                          sample_mask(keys[:10], 0.5))


# --------------------------------------------------------------------- counting


def test_counts_add_up_partition_by_partition():
    grid = choose_grid("griz")
    rng = np.random.default_rng(5)
    mags = {band: rng.uniform(15.0, 29.0, 1_000) for band in "griz"}
    mags["g"][:50] = np.nan
    whole = count_objects(mags, list("griz"), grid)
    first = count_objects({b: v[:400] for b, v in mags.items()}, list("griz"), grid)
    second = count_objects({b: v[400:] for b, v in mags.items()}, list("griz"), grid)
    summed = first + second
    assert np.array_equal(summed.histograms, whole.histograms)
    assert np.array_equal(summed.cells, whole.cells)
    assert (summed.objects, summed.without_cell) == (1_000, 50)
    assert whole.cells.sum() == 950
    # Histograms count what lies in 14..30: every finite value here.
    assert whole.histograms[1:].sum(axis=1).tolist() == [1_000, 1_000, 1_000]


def test_coverage_fraction_by_hand():
    # Cells 0..3 hold 10, 5, 5, 0 photometric objects; training in 0, 2, 3: (10 + 5) / 20.
    assert coverage_fraction(np.array([10, 5, 5, 0]), np.array([1, 0, 3, 7])) == 0.75


def test_coverage_by_magnitude_by_hand():
    grid = CoverageGrid("i", (("g", "r"),), magnitude_edges=(16.0, 17.0, 18.0),
                        colour_edges=(0.0, 1.0, 2.0))
    # (magnitude bin, colour bin): (0, 0) 4 objects covered, (0, 1) 4 not; (1, 0) 2 not.
    photometric = np.array([4, 4, 2, 0])
    training = np.array([1, 0, 0, 5])
    rows = coverage_by_magnitude(grid, photometric, training)
    assert rows == [
        {"magnitude_min": None, "magnitude_max": 17.0, "photometric_objects": 8,
         "fraction": 0.5},
        {"magnitude_min": 17.0, "magnitude_max": None, "photometric_objects": 2,
         "fraction": 0.0},
    ]


# --------------------------------------------------------------------- completeness


def test_completeness_of_a_sharp_cut_falls_at_the_cut():
    edges = rep.histogram_edges()
    centres = (edges[:-1] + edges[1:]) / 2
    photometric = np.round(10 ** (0.3 * (centres - 14.0))).astype(int) + 5
    training = np.where(centres < 22.0, photometric // 4, 0)
    assert completeness_50_magnitude(training, photometric, edges) == pytest.approx(
        22.0, abs=0.05)


def test_completeness_crossing_is_interpolated_between_bin_centres():
    edges = np.arange(18.0, 24.0)  # centres 18.5 ... 22.5
    # Relative completeness 1, 1, 1, 0.8, 0.2: crosses 0.5 half-way between 21.5 and 22.5.
    training = np.array([10, 10, 10, 8, 2])
    photometric = np.array([100, 100, 100, 100, 100])
    assert completeness_50_magnitude(training, photometric, edges) == pytest.approx(22.0)


def test_completeness_without_a_crossing_or_without_training_is_none():
    edges = np.arange(18.0, 21.0)
    assert completeness_50_magnitude(np.array([5, 5]), np.array([10, 10]), edges) is None
    assert completeness_50_magnitude(np.array([0, 0]), np.array([10, 10]), edges) is None


def test_bins_without_photometric_objects_are_skipped():
    edges = np.arange(18.0, 23.0)  # centres 18.5, 19.5, 20.5, 21.5
    # Bin 19.5 is empty; the crossing is between 18.5 (1.0) and 20.5 (0.0): at 19.5.
    training = np.array([4, 0, 0, 0])
    photometric = np.array([8, 0, 8, 8])
    assert completeness_50_magnitude(training, photometric, edges) == pytest.approx(19.5)


# --------------------------------------------------------------------- the summary


def test_summary_holds_the_figures_and_the_numbers_behind_them():
    grid = CoverageGrid("i", (("g", "r"),))
    photometric = count_objects(
        {"g": np.array([21.0, 21.0, 22.0]), "r": np.array([20.6, 20.6, 20.0]),
         "i": np.array([20.5, 20.5, 19.5])}, ["g", "r", "i"], grid)
    training = count_objects(
        {"g": np.array([21.1]), "r": np.array([20.7]), "i": np.array([20.2])},
        ["g", "r", "i"], grid)
    figures = summarise(photometric, training, bands=["g", "r", "i"], grid=grid,
                        sampling={"rate": 1.0}, magnitudes={"flux_type": "cModel"})
    # The two objects at i=20.5, g-r=0.4 share the training galaxy's cell; the third
    # (i=19.5, g-r=2.0) is alone.
    assert figures["coverage_fraction"] == pytest.approx(2 / 3, abs=1e-6)
    by_magnitude = {row["magnitude_min"]: row["fraction"]
                    for row in figures["coverage_fraction_by_magnitude"]}
    assert by_magnitude[19.0] == 0.0 and by_magnitude[20.0] == 1.0
    assert figures["photometric_sample"] == {"rate": 1.0, "objects": 3, "without_cell": 0}
    assert figures["bands"] == ["g", "r", "i"]
    cells = figures["grid"]["cells"]
    assert sum(cells["photometric"]) == 3 and sum(cells["training"]) == 1


def test_colour_colour_map_sums_over_the_other_axes():
    # 2 magnitude bins x 2 x 2 colours x 2 x 2... kept small: 1 x 2 x 2 x 2 cells.
    grid = {"shape": [1, 2, 2, 2], "colours": ["a-b", "b-c", "c-d"],
            "colour_edges": [0.0, 1.0, 2.0],
            "cells": {"index": [0, 1, 6], "photometric": [3, 4, 5], "training": [0, 2, 0]}}
    # Flat index 0 = (0, 0, 0), 1 = (0, 0, 1), 6 = (1, 1, 0) over (a-b, b-c, c-d).
    view = colour_colour_map(grid, 0, 1)
    assert view["photometric"] == [[7, 0], [0, 5]]
    assert view["training"] == [[2, 0], [0, 0]]
    assert view["covered_fraction"] == [[pytest.approx(4 / 7, abs=1e-6), None], [None, 0.0]]
    assert (view["uncovered_cells"], view["uncovered_photometric_objects"]) == (1, 5)
    swapped = colour_colour_map(grid, 1, 0)
    assert swapped["x"] == "b-c" and swapped["photometric"] == [[7, 0], [0, 5]]
