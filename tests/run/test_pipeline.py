"""The pipeline end to end on a real HATS collection: formats, dust, unique, split, config."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dustmap_fixtures import expected_ebv, write_sfd
from oracle import (
    brute_force_matches,
    oracle_collection,
    partition_index,
    synthetic_catalogs,
    write_collection,
)
from typer.testing import CliRunner

from tsmaker import make_training_set
from tsmaker.cli.app import app
from tsmaker.errors import CatalogError, DustMapError
from tsmaker.science.split import training_flags

BANDS = ("u", "g", "r", "i", "z", "y")
R_DP1 = {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31}
R_LSSTCAM = {"u": 4.78, "g": 3.65, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("pipeline")
    objects, specz = synthetic_catalogs()
    collection = oracle_collection(tmp_path_factory, 400)
    specz_path = folder / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    bare = objects.drop(columns=["ebv"])
    bare_collection = write_collection(bare, folder / "objects_no_ebv", partition_rows=4000)
    return {"objects": objects, "specz": specz, "collection": collection,
            "specz_path": specz_path, "bare_collection": bare_collection}


def _run(data: dict, tmp_path: Path, **options):
    return make_training_set("t", data["specz_path"], data["collection"],
                             output_dir=str(tmp_path), **options)


def _read(path: str) -> pd.DataFrame:
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    if path.endswith(".hats"):
        import lsdb

        return pd.DataFrame(lsdb.open_catalog(path).compute()).reset_index(drop=True)
    if path.endswith(".fits"):
        from astropy.table import Table

        return Table.read(path, hdu="TRAINING_SET").to_pandas()
    import h5py

    with h5py.File(path, "r") as handle:
        if "training_set" in handle:  # the table layout
            return pd.DataFrame(handle["training_set"][()])
    import tables_io  # the columns layout, as RAIL reads it

    columns = tables_io.read(path)["photometry"]
    return pd.DataFrame({name: values for name, values in columns.items()
                         if not name.endswith(".mask")})


@pytest.mark.parametrize("output_format", ["csv", "fits", "hdf5", "hdf5:table", "hats"])
def test_every_format_holds_the_same_rows_and_columns(data, tmp_path, output_format):
    reference = _run(data, tmp_path, radius_arcsec=2.0, n_neighbors=2)
    output_format, _, layout = output_format.partition(":")
    product = _run(data, tmp_path, radius_arcsec=2.0, n_neighbors=2,
                   output_format=output_format, hdf5_layout=layout or None)
    expected = pd.read_parquet(reference.files[0])
    got = _read(product.files[0])
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) == product.rows > 0
    for column in expected.columns:
        want = expected[column].to_numpy(dtype=float)
        np.testing.assert_allclose(got[column].to_numpy(dtype=float), want, rtol=1e-6,
                                   equal_nan=True, err_msg=column)


def test_fits_units_and_parameters(data, tmp_path):
    from astropy.io import fits
    from astropy.table import Table

    product = _run(data, tmp_path, output_format="fits")
    table = Table.read(product.files[0], hdu="TRAINING_SET")
    assert str(table["coord_ra"].unit) == "deg" and str(table["ra"].unit) == "deg"
    assert str(table["match_distance_arcsec"].unit) == "arcsec"
    assert str(table["g_cModelFlux"].unit) == "nJy"
    assert str(table["g_cModelMag"].unit) == "mag"
    with fits.open(product.files[0]) as hdus:
        parameters = json.loads(hdus[0].header["TSMPARAM"])
    assert parameters["tsmaker"]["radius_arcsec"] == 1.0


def test_parquet_metadata_and_sidecar_record_the_parameters(data, tmp_path):
    import pyarrow.parquet as pq

    product = _run(data, tmp_path, radius_arcsec=1.5)
    metadata = json.loads(pq.read_schema(product.files[0]).metadata[b"tsmaker"])
    assert metadata["tsmaker"]["radius_arcsec"] == 1.5
    sidecar = json.loads(Path(product.files[1]).read_text())
    assert sidecar["id"] == product.id and sidecar["status"] == "done"
    assert sidecar["rows"] == product.rows
    assert product.inputs["redshift"]["fingerprint"]["sha256"]
    assert product.versions["lsdb"] and product.versions["hats"]


@pytest.mark.parametrize(("profile", "coefficients"), [("dp1", R_DP1),
                                                      ("generic", R_LSSTCAM)])
def test_dust_from_catalog_column(data, tmp_path, registry, profile, coefficients):
    from tsmaker.manage.catalogs import add_object_catalog

    add_object_catalog("objects", str(data["collection"]), profile=profile)
    product = make_training_set("t", data["specz_path"], "objects", dust="catalog",
                                output_dir=str(tmp_path))
    result = pd.read_parquet(product.files[0])
    objects = data["objects"].set_index("objectId").loc[result["objectId"]]
    ebv = objects["ebv"].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(result["ebv"], ebv)
    for band in BANDS:
        flux = objects[f"{band}_cModelFlux"].to_numpy(dtype=np.float64)
        factor = 10 ** (0.4 * coefficients[band] * ebv)
        np.testing.assert_allclose(result[f"{band}_cModelFlux_dered"], flux * factor, rtol=1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):
            mag = np.where(flux > 0, -2.5 * np.log10(flux) + 31.4 - coefficients[band] * ebv,
                           np.nan)
        np.testing.assert_allclose(result[f"{band}_cModelMag_dered"], mag, atol=1e-9)
    assert "g_cModelMag" not in result.columns
    assert product.parameters["extinction_coeffs"] == coefficients


def test_dust_from_sfd_map(data, tmp_path):
    from astropy.coordinates import SkyCoord

    maps = tmp_path / "maps"
    write_sfd(maps / "sfd")
    product = _run(data, tmp_path, dust="sfd", dust_dir=str(maps),
                   extinction_coeffs={"g": 3.0})
    result = pd.read_parquet(product.files[0])
    galactic = SkyCoord(result["coord_ra"], result["coord_dec"], unit="deg").galactic
    ebv = expected_ebv("sfd", galactic.l.deg, galactic.b.deg)
    np.testing.assert_allclose(result["ebv"], ebv, rtol=1e-6)
    flux = result["g_cModelFlux"].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(result["g_cModelFlux_dered"], flux * 10 ** (0.4 * 3.0 * ebv),
                               rtol=1e-6)
    assert product.parameters["extinction_coeffs"]["g"] == 3.0
    assert product.parameters["extinction_coeffs"]["r"] == 2.70


def test_missing_dust_map_fails_before_any_work(data, tmp_path, registry):
    with pytest.raises(DustMapError, match="tsmaker dust fetch sfd"):
        make_training_set("t", data["specz_path"], data["collection"], dust="sfd",
                          dust_dir=str(tmp_path / "nothing"), output_dir=str(tmp_path),
                          registry=registry)
    assert registry.list_products() == []


def test_dust_catalog_without_ebv_column(data, tmp_path):
    with pytest.raises(CatalogError, match="--dust catalog needs an 'ebv' column"):
        make_training_set("t", data["specz_path"], data["bare_collection"], dust="catalog",
                          output_dir=str(tmp_path))


def _unique_oracle(pairs: pd.DataFrame, specz: pd.DataFrame) -> set[tuple[int, int]]:
    """The unique rules written as plain loops (independent of the pandas version)."""
    quality = specz.set_index("specz_id")
    by_object: dict[int, list] = {}
    for row in pairs.itertuples():
        by_object.setdefault(row.objectId, []).append(row)
    survivors = []
    for rows in by_object.values():
        best = min(rows, key=lambda r: (r.match_distance_arcsec,
                                        -quality.loc[r.specz_id, "z_flag"],
                                        quality.loc[r.specz_id, "z_err"], r.specz_id))
        survivors.append(best)
    by_specz: dict[int, list] = {}
    for row in survivors:
        by_specz.setdefault(row.specz_id, []).append(row)
    return {
        (key, min(rows, key=lambda r: (r.match_distance_arcsec, r.objectId)).objectId)
        for key, rows in by_specz.items()
    }


def test_unique_closest_equals_oracle(data, tmp_path):
    product = _run(data, tmp_path, radius_arcsec=4.0, n_neighbors=5, unique="closest")
    result = pd.read_parquet(product.files[0])
    pairs = brute_force_matches(data["specz"], data["objects"], 4.0, 5)
    expected = _unique_oracle(pairs, data["specz"])
    got = set(zip(result["specz_id"], result["objectId"], strict=True))
    assert got == expected
    assert result["objectId"].is_unique and result["specz_id"].is_unique
    counts = product.summary["unique"]
    removed = counts["removed_duplicate_objects"] + counts["removed_duplicate_specz"]
    assert len(pairs) - removed == len(result)
    assert counts["removed_duplicate_objects"] > 0 and counts["removed_duplicate_specz"] > 0
    # objects reached by several spec-z are in the data, some from two partitions
    shared = pairs[pairs["objectId"].duplicated(keep=False)].merge(data["specz"], on="specz_id")
    shared["partition"] = partition_index(data["collection"], shared["ra"], shared["dec"])
    partitions_per_object = shared.groupby("objectId")["partition"].nunique()
    assert (partitions_per_object > 1).sum() >= 5


def test_unique_closest_with_no_match_gives_an_empty_product(data, tmp_path):
    # Spec-z moved 0.36" away from where they were built: inside the object partitions,
    # but none within 0.01" of an object (the partitions are read and match nothing).
    moved = data["specz"].assign(dec=data["specz"]["dec"] - 1e-4)
    moved_path = tmp_path / "moved.parquet"
    moved.to_parquet(moved_path, index=False)
    product = make_training_set("t", moved_path, data["collection"], unique="closest",
                                radius_arcsec=0.01, output_dir=str(tmp_path))
    result = pd.read_parquet(product.files[0])
    assert product.summary["partitions"] > 10
    assert product.rows == len(result) == 0
    assert {"specz_id", "objectId", "match_rank", "g_cModelMag"} <= set(result.columns)
    assert product.summary["unique"] == {"removed_duplicate_objects": 0,
                                         "removed_duplicate_specz": 0}


@pytest.mark.slow
def test_dp02_profile_keeps_only_primary_objects(data, tmp_path, registry):
    """The profile's row filter is applied to the partition and margin files read."""
    from tsmaker.manage.catalogs import add_object_catalog

    objects = data["objects"].copy()
    objects["detect_isPrimary"] = np.random.default_rng(5).uniform(size=len(objects)) < 0.6
    collection = write_collection(objects, tmp_path / "dp02_like")
    add_object_catalog("dp02_like", str(collection), profile="dp02")
    product = make_training_set("t", data["specz_path"], "dp02_like", radius_arcsec=3.0,
                                n_neighbors=3, output_dir=str(tmp_path))
    result = pd.read_parquet(product.files[0])

    primary = objects[objects["detect_isPrimary"]]
    expected = brute_force_matches(data["specz"], primary, 3.0, 3)
    got = result[["specz_id", "objectId", "match_rank"]].sort_values(["specz_id", "match_rank"])
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True).astype("int64"),
        expected[["specz_id", "objectId", "match_rank"]].astype("int64"),
    )
    # Filtering changed the answer: without it, other (non-primary) objects would match.
    unfiltered = brute_force_matches(data["specz"], objects, 3.0, 3)
    assert len(unfiltered) > len(expected)
    assert "detect_isPrimary" not in result.columns


def test_split_depends_only_on_the_spec_z_key(data, tmp_path):
    product = _run(data, tmp_path, radius_arcsec=3.0, n_neighbors=3, split_fraction=0.6,
                   seed=4)
    result = pd.read_parquet(product.files[0])
    expected = training_flags(result["specz_id"].to_numpy(), 0.6, 4)
    assert (result["is_training"].to_numpy() == expected).all()
    assert result.groupby("specz_id")["is_training"].nunique().max() == 1
    other = _run(data, tmp_path, radius_arcsec=1.0, split_fraction=0.6, seed=4)
    other_result = pd.read_parquet(other.files[0]).set_index("specz_id")["is_training"]
    shared = result.drop_duplicates("specz_id").set_index("specz_id")["is_training"]
    common = other_result.index.intersection(shared.index)
    assert len(common) > 50
    assert (other_result.loc[common] == shared.loc[common]).all()


def test_where_and_z_cuts_reach_the_product(data, tmp_path):
    product = _run(data, tmp_path, where="z_flag >= 3", z_min=0.5, z_max=1.5)
    result = pd.read_parquet(product.files[0])
    assert (result["z_flag"] >= 3).all() and result["z"].between(0.5, 1.5).all()
    specz = data["specz"]
    kept = specz[(specz["z_flag"] >= 3) & specz["z"].between(0.5, 1.5)]
    assert product.summary["specz_rows"] == len(kept)


def test_flux_only_product_has_no_magnitudes(data, tmp_path):
    product = _run(data, tmp_path, magnitudes=False, flux_type="psf")
    columns = pd.read_parquet(product.files[0]).columns
    assert "g_psfFlux" in columns and "g_cModelFlux" not in columns
    assert not any("Mag" in column for column in columns)


@pytest.mark.slow
def test_cli_config_file_run_equals_flag_run(data, tmp_path):
    runner = CliRunner()
    flags = ["--redshift", str(data["specz_path"]), "--object", str(data["collection"]),
             "--radius", "2.5", "--neighbors", "2", "--output-dir", str(tmp_path),
             "--split", "0.5"]
    config = tmp_path / "run.toml"
    first = runner.invoke(app, ["run", "--name", "flags", *flags, "--save-config", str(config),
                                "--json"])
    assert first.exit_code == 0, first.output
    assert "radius = 2.5" in config.read_text()
    second = runner.invoke(app, ["run", "--config", str(config), "--name", "fromfile",
                                 "--json"])
    assert second.exit_code == 0, second.output
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert b["name"] == "fromfile" and b["parameters"]["radius_arcsec"] == 2.5
    pd.testing.assert_frame_equal(pd.read_parquet(a["files"][0]), pd.read_parquet(b["files"][0]))


@pytest.mark.slow
def test_cli_json_has_documented_keys_and_clean_stdout(data, tmp_path):
    result = CliRunner().invoke(app, ["run", "--name", "j", "--redshift", str(data["specz_path"]),
                                      "--object", str(data["collection"]), "--output-dir",
                                      str(tmp_path), "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    for key in ("id", "name", "full_name", "status", "rows", "files", "parameters", "inputs",
                "versions", "summary", "created_at", "finished_at"):
        assert key in payload
    assert payload["status"] == "done"
    assert all(Path(f).is_absolute() and Path(f).exists() for f in payload["files"])
    assert payload["full_name"] == f"j_{payload['id']}"


_RUN_PROBE = """
import sys
from tsmaker import make_training_set
product = make_training_set("probe", sys.argv[1], sys.argv[2], output_dir=sys.argv[3])
stack = ("lsdb", "hats", "dask", "distributed", "nested_pandas", "numba", "mocpy")
loaded = sorted(name for name in stack if name in sys.modules)
print(product.rows, ",".join(loaded) or "-")
"""


@pytest.mark.slow
def test_a_run_imports_no_lsdb_dask_or_numba(data, tmp_path):
    """Start-up stays at pyarrow's cost: the hats/LSDB/Dask stack is never imported."""
    import os
    import subprocess
    import sys

    environment = dict(os.environ, TSMAKER_HOME=str(tmp_path / "home"))
    finished = subprocess.run(
        [sys.executable, "-c", _RUN_PROBE, str(data["specz_path"]), str(data["collection"]),
         str(tmp_path)],
        env=environment, capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    rows, loaded = finished.stdout.split()
    assert int(rows) > 0
    assert loaded == "-"
