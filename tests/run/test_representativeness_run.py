"""Representativeness figures of a real run, against counts made by hand on the mock.

The mock: a photometric catalog reaching i = 25.5 (number counts rising as 10^(0.2 i)),
written as a real HATS collection by LSDB, and spec-z at the exact positions of a random
half of the objects brighter than i = 22. Every figure is recounted here from the
catalog's own fluxes with plain numpy, independently of tsmaker's code.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracle import partition_index, write_collection
from typer.testing import CliRunner

from tsmaker import make_training_set
from tsmaker.cli.app import app
from tsmaker.science import representativeness
from tsmaker.science.representativeness import sample_mask

BANDS = ("g", "r", "i", "z")
OBJECTS = 30_000
TRAINING_CUT_I = 22.0
ZERO_POINT = 31.4


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> dict:
    rng = np.random.default_rng(2024)
    folder = tmp_path_factory.mktemp("representativeness")
    # i from 17 to 25.5 with counts rising as 10^(0.2 i); colours spread over the grid.
    slope = 0.2 * np.log(10.0)
    low, high = 17.0, 25.5
    u = rng.random(OBJECTS)
    i_mag = np.log(np.exp(slope * low) + u * (np.exp(slope * high) - np.exp(slope * low))) / slope
    colours = {"g-r": rng.uniform(-0.3, 2.2, OBJECTS), "r-i": rng.uniform(-0.2, 1.4, OBJECTS),
               "i-z": rng.uniform(-0.4, 0.9, OBJECTS)}
    mags = {"i": i_mag}
    mags["r"] = mags["i"] + colours["r-i"]
    mags["g"] = mags["r"] + colours["g-r"]
    mags["z"] = mags["i"] - colours["i-z"]
    objects = pd.DataFrame({
        "objectId": rng.permutation(OBJECTS).astype(np.int64) + 1_000_000,
        "coord_ra": rng.uniform(150.0, 151.5, OBJECTS),
        "coord_dec": rng.uniform(1.0, 2.5, OBJECTS),
        "ebv": rng.uniform(0.0, 0.3, OBJECTS).astype(np.float32),
    })
    for band in BANDS:
        flux = 10.0 ** (-0.4 * (mags[band] - ZERO_POINT))
        objects[f"{band}_cModelFlux"] = flux
        objects[f"{band}_cModelFluxErr"] = flux / 20.0
    # Some z-band non-detections: those objects have no cell.
    objects.loc[rng.random(OBJECTS) < 0.03, "z_cModelFlux"] = -5.0
    bright = np.flatnonzero(i_mag < TRAINING_CUT_I)
    chosen = rng.choice(bright, len(bright) // 2, replace=False)
    specz = pd.DataFrame({
        "specz_id": np.arange(len(chosen), dtype=np.int64),
        "ra": objects["coord_ra"].to_numpy()[chosen],
        "dec": objects["coord_dec"].to_numpy()[chosen],
        "z": rng.uniform(0.05, 1.2, len(chosen)),
    })
    collection = write_collection(objects, folder / "objects", partition_rows=6_000,
                                  lowest_order=4)
    specz_path = folder / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    return {"objects": objects, "specz": specz, "chosen": chosen, "collection": collection,
            "specz_path": specz_path}


def magnitudes_by_hand(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return {band: np.where(frame[f"{band}_cModelFlux"] > 0,
                               -2.5 * np.log10(frame[f"{band}_cModelFlux"]) + ZERO_POINT, np.nan)
                for band in BANDS}


def cells_by_hand(mags: dict[str, np.ndarray]) -> np.ndarray:
    """i in 1-mag bins 16..26 and g-r, r-i, i-z in 0.5-mag bins -0.5..2.5, edge bins open."""
    i_bin = np.clip(np.floor(mags["i"]) - 16, 0, 9)
    index = i_bin
    for blue, red in (("g", "r"), ("r", "i"), ("i", "z")):
        colour_bin = np.clip(np.floor((mags[blue] - mags[red] + 0.5) / 0.5), 0, 5)
        index = index * 6 + colour_bin
    defined = np.all([np.isfinite(m) for m in mags.values()], axis=0)
    return np.where(defined, index, -1).astype(np.int64)


def coverage_by_hand(photometric: pd.DataFrame, training: pd.DataFrame) -> tuple[float, dict]:
    phot_cells = cells_by_hand(magnitudes_by_hand(photometric))
    phot_cells = phot_cells[phot_cells >= 0]
    train_cells = set(cells_by_hand(magnitudes_by_hand(training)).tolist()) - {-1}
    covered = np.isin(phot_cells, list(train_cells))
    by_bin = {}
    for i_bin in range(10):
        in_bin = phot_cells // 216 == i_bin
        by_bin[i_bin] = covered[in_bin].mean() if in_bin.any() else None
    return covered.mean(), by_bin


def objects_read(mock: dict) -> pd.DataFrame:
    """The objects of the partitions holding at least one spec-z (what a run reads)."""
    objects, specz = mock["objects"], mock["specz"]
    holding = set(partition_index(mock["collection"], specz["ra"], specz["dec"]).tolist())
    where = partition_index(mock["collection"], objects["coord_ra"], objects["coord_dec"])
    return objects[np.isin(where, list(holding))]


def test_completeness_and_coverage_equal_the_hand_counts(mock, tmp_path):
    product = make_training_set("rep", mock["specz_path"], mock["collection"],
                                flux_type="cModel", output_dir=str(tmp_path))
    figures = product.summary["representativeness"]

    read = objects_read(mock)
    assert figures["photometric_sample"]["objects"] == len(read)
    assert figures["photometric_sample"]["rate"] == 1.0
    training = mock["objects"].iloc[mock["chosen"]]
    assert figures["training_objects"] == len(training) == product.rows
    # The training set is cut at i < 22 from a sample reaching 25: 22 within one bin.
    assert figures["completeness_50_mag"]["i"] == pytest.approx(TRAINING_CUT_I, abs=0.25)
    expected, by_bin = coverage_by_hand(read, training)
    assert figures["coverage_fraction"] == round(expected, 6)
    assert 0.05 < expected < 0.9  # the mock really has uncovered faint objects
    for i_bin, row in enumerate(figures["coverage_fraction_by_magnitude"]):
        want = by_bin[i_bin]
        assert row["fraction"] == (None if want is None else round(want, 6)), i_bin
    # Fainter than the cut no cell holds a training galaxy (bins 22-23 and beyond).
    assert [row["fraction"] for row in figures["coverage_fraction_by_magnitude"][6:]] == [
        0.0, 0.0, 0.0, 0.0]
    z_missing = ~(read["z_cModelFlux"] > 0)
    assert figures["photometric_sample"]["without_cell"] == int(z_missing.sum())


@pytest.mark.slow
def test_a_sampled_run_counts_each_sampled_object_once(mock, tmp_path, monkeypatch):
    """With a catalog larger than the bound, the sample is the objects whose id hashes
    below the rate: each counted once, by the task of its own partition (not its margin's)."""
    monkeypatch.setattr(representativeness, "MAX_SAMPLE_OBJECTS", 6_000)
    rate = 6_000 / OBJECTS
    product = make_training_set("sampled", mock["specz_path"], mock["collection"],
                                flux_type="cModel", output_dir=str(tmp_path), radius_arcsec=5.0)
    figures = product.summary["representativeness"]
    read = objects_read(mock)
    sampled = read[sample_mask(read["objectId"].to_numpy(), rate)]
    assert figures["photometric_sample"]["rate"] == pytest.approx(rate)
    assert figures["photometric_sample"]["objects"] == len(sampled)
    training = mock["objects"].iloc[mock["chosen"]]
    expected, _ = coverage_by_hand(sampled, training)
    assert figures["coverage_fraction"] == round(expected, 6)
    histogram_i = np.histogram(magnitudes_by_hand(sampled)["i"],
                               bins=representativeness.histogram_edges())[0]
    assert figures["histograms"]["photometric"]["i"] == histogram_i.tolist()


def test_dereddened_runs_count_dereddened_magnitudes(mock, tmp_path):
    coefficients = {"g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58}
    product = make_training_set("dered", mock["specz_path"], mock["collection"],
                                flux_type="cModel", dust="catalog",
                                extinction_coeffs=coefficients, output_dir=str(tmp_path))
    figures = product.summary["representativeness"]
    assert figures["magnitudes"]["dereddened"] is True
    read = objects_read(mock)
    ebv = read["ebv"].to_numpy(dtype=np.float64)
    dereddened_i = magnitudes_by_hand(read)["i"] - coefficients["i"] * ebv
    histogram = np.histogram(dereddened_i, bins=representativeness.histogram_edges())[0]
    assert figures["histograms"]["photometric"]["i"] == histogram.tolist()
    training = mock["objects"].iloc[mock["chosen"]]
    training_i = magnitudes_by_hand(training)["i"] - coefficients["i"] * training[
        "ebv"].to_numpy(dtype=np.float64)
    assert figures["histograms"]["training"]["i"] == np.histogram(
        training_i, bins=representativeness.histogram_edges())[0].tolist()


@pytest.mark.slow
def test_unique_and_rail_naming_count_the_rows_kept(mock, tmp_path):
    plain = make_training_set("plain", mock["specz_path"], mock["collection"],
                              flux_type="cModel", output_dir=str(tmp_path))
    rail = make_training_set("rail", mock["specz_path"], mock["collection"], flux_type="cModel",
                             output_dir=str(tmp_path), naming="rail", unique="closest")
    for key in ("coverage_fraction", "completeness_50_mag", "histograms", "grid"):
        assert rail.summary["representativeness"][key] == plain.summary["representativeness"][key]


@pytest.mark.slow
def test_cli_prints_coverage_and_completeness(mock, tmp_path):
    result = CliRunner().invoke(app, ["run", "--name", "cli", "--redshift",
                                      str(mock["specz_path"]), "--object",
                                      str(mock["collection"]), "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads(Path(result.stdout.split(" -> ")[1].strip()).with_suffix(".json")
                        .read_text())
    figures = record["summary"]["representativeness"]
    coverage_line = next(line for line in result.stderr.splitlines() if "coverage:" in line)
    assert f"{figures['coverage_fraction']:.1%}" in coverage_line
    completeness_line = next(line for line in result.stderr.splitlines()
                             if "50% completeness" in line)
    assert f"i {figures['completeness_50_mag']['i']:.2f}" in completeness_line
    by_magnitude = next(line for line in result.stderr.splitlines() if "coverage by i" in line)
    assert ">=25 0%" in by_magnitude


@pytest.mark.slow
def test_a_catalog_without_ids_is_sampled_by_ra(mock, tmp_path, monkeypatch):
    objects = mock["objects"].drop(columns=["objectId"])
    collection = write_collection(objects, tmp_path / "no_ids", partition_rows=6_000,
                                  lowest_order=4)
    monkeypatch.setattr(representativeness, "MAX_SAMPLE_OBJECTS", 6_000)
    product = make_training_set("no_ids", mock["specz_path"], collection, flux_type="cModel",
                                output_dir=str(tmp_path))
    sample = product.summary["representativeness"]["photometric_sample"]
    holding = set(partition_index(collection, mock["specz"]["ra"], mock["specz"]["dec"]))
    where = partition_index(collection, objects["coord_ra"], objects["coord_dec"])
    read = objects[np.isin(where, list(holding))]
    assert sample["by"] == "RA"
    assert sample["objects"] == int(sample_mask(read["coord_ra"].to_numpy(), 6_000 / OBJECTS).sum())
