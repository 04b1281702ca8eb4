"""--naming rail: RAIL's column names and non-detection convention, against the Rubin product."""

import numpy as np
import pandas as pd
import pytest
from oracle import oracle_collection, synthetic_catalogs
from typer.testing import CliRunner

from tsmaker import make_training_set
from tsmaker.cli.app import app
from tsmaker.errors import ParameterError

BANDS = ("u", "g", "r", "i", "z", "y")
R_DP1 = {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _, specz = synthetic_catalogs()
    specz = specz.rename(columns={"z_flag": "redshift"})  # a column already named "redshift"
    path = tmp_path_factory.mktemp("naming") / "specz.parquet"
    specz.to_parquet(path, index=False)
    return {"path": path, "collection": oracle_collection(tmp_path_factory, 400)}


@pytest.mark.parametrize("dust", ["none", "catalog"])
def test_rail_names_and_non_detections(data, tmp_path, dust):
    options = {"dust": dust, "n_neighbors": 2, "radius_arcsec": 2.0, "z_column": "z",
               "extinction_coeffs": R_DP1 if dust == "catalog" else None}
    rubin = make_training_set("rubin", data["path"], data["collection"],
                              output_dir=str(tmp_path), **options)
    rail = make_training_set("rail", data["path"], data["collection"], naming="rail",
                             output_dir=str(tmp_path), **options)
    a, b = pd.read_parquet(rubin.files[0]), pd.read_parquet(rail.files[0])
    suffix = "_dered" if dust == "catalog" else ""
    renamed = {"z": "redshift", "redshift": "redshift_specz"}
    for band in BANDS:
        renamed[f"{band}_cModelMag{suffix}"] = f"mag_{band}_lsst"
        renamed[f"{band}_cModelMagErr{suffix}"] = f"mag_err_{band}_lsst"
    assert list(b.columns) == [renamed.get(name, name) for name in a.columns]
    assert rail.inputs["redshift"]["columns"]["z"] == "redshift"
    np.testing.assert_array_equal(b["redshift"], a["z"])
    np.testing.assert_array_equal(b["redshift_specz"], a["redshift"])
    nondetections = 0
    for band in BANDS:
        mag, err = a[f"{band}_cModelMag{suffix}"], a[f"{band}_cModelMagErr{suffix}"]
        detected = mag.notna().to_numpy()
        nondetections += int((~detected).sum())
        np.testing.assert_array_equal(b[f"mag_{band}_lsst"][detected], mag[detected])
        np.testing.assert_array_equal(b[f"mag_err_{band}_lsst"][detected], err[detected])
        assert (b[f"mag_{band}_lsst"][~detected] == 99.0).all()
        # The error of a non-detection: the 1-sigma limit of its (dereddened) flux error.
        flux_err = a[f"{band}_cModelFluxErr{suffix}"].to_numpy(dtype=float)[~detected]
        limit = -2.5 * np.log10(flux_err) + 31.4
        np.testing.assert_allclose(b[f"mag_err_{band}_lsst"][~detected], limit, rtol=1e-12)
    assert nondetections > 20  # the oracle's negative fluxes
    assert np.isfinite(b[[f"mag_err_{band}_lsst" for band in BANDS]].to_numpy()).all()
    assert rail.parameters["naming"] == "rail"


def test_rail_names_in_every_format_s_units(data, tmp_path):
    from astropy.table import Table

    product = make_training_set("fits", data["path"], data["collection"], naming="rail",
                                output_format="fits", output_dir=str(tmp_path), z_column="z")
    table = Table.read(product.files[0], hdu="TRAINING_SET")
    assert str(table["mag_i_lsst"].unit) == "mag"
    assert str(table["mag_err_i_lsst"].unit) == "mag"


def test_rail_with_fluxes_only_is_refused(data, tmp_path):
    with pytest.raises(ParameterError) as raised:
        make_training_set("x", data["path"], data["collection"], naming="rail",
                          magnitudes=False)
    assert str(raised.value).startswith("naming='rail' writes magnitudes")
    result = CliRunner().invoke(app, ["run", "--name", "x", "--redshift", str(data["path"]),
                                      "--object", str(data["collection"]), "--naming", "rail",
                                      "--flux"])
    assert result.exception.message("cli") == (
        "--naming rail writes magnitudes (mag_{band}_lsst), and --flux asks for fluxes only; "
        "drop one of them")
    result = CliRunner().invoke(app, ["run", "--name", "x", "--redshift", str(data["path"]),
                                      "--object", str(data["collection"]), "--naming", "desc"])
    assert result.exception.message("cli") == "--naming 'desc' is not one of: rubin, rail"
