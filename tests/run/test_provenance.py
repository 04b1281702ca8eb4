"""What a product records: in its files, its sidecar, and when it is made again (--like)."""

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.table import Table
from oracle import oracle_collection, synthetic_catalogs
from typer.testing import CliRunner

from tsmaker import make_training_set
from tsmaker.cli.app import app
from tsmaker.errors import ParameterError
from tsmaker.formats.tables import read_product_table
from tsmaker.manage.catalogs import add_object_catalog, add_redshift_catalog, remove_catalog
from tsmaker.run.provenance import SORT_ORDER

R_DP1 = {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("provenance")
    objects, specz = synthetic_catalogs()
    collection = oracle_collection(tmp_path_factory, 400)
    specz_path = folder / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    return {"folder": folder, "objects": objects, "specz": specz, "collection": collection,
            "specz_path": specz_path}


def _embedded(path: Path) -> dict:
    """The metadata a product's data file embeds, as its format stores it."""
    if path.suffix == ".parquet":
        return json.loads(pq.read_schema(path).metadata[b"tsmaker"])
    if path.suffix == ".fits":
        with fits.open(path) as hdus:
            return json.loads(hdus[0].header["TSMPARAM"])
    if path.suffix == ".hats":
        first = next(path.rglob("Npix=*.parquet"))
        return json.loads(pq.read_schema(first).metadata[b"tsmaker"])
    with h5py.File(path, "r") as handle:
        holder = handle["training_set"] if "training_set" in handle else handle["photometry"]
        return json.loads(holder.attrs["tsmaker_parameters"])


@pytest.mark.parametrize("output_format", ["parquet", "fits", "hdf5", "hdf5:table", "hats"])
def test_every_data_file_embeds_the_resolved_parameters_and_versions(
    data, tmp_path, registry, output_format
):
    add_object_catalog("objects", str(data["collection"]), profile="dp1", registry=registry)
    output_format, _, layout = output_format.partition(":")
    product = make_training_set(
        "p", data["specz_path"], "objects", dust="catalog", output_format=output_format,
        hdf5_layout=layout or None, output_dir=str(tmp_path), registry=registry)

    embedded = _embedded(Path(product.files[0]))
    resolved = embedded["tsmaker"]
    assert resolved == product.parameters  # what the registry record holds
    assert resolved["flux_type"] == "cModel"  # given as None: the profile's default
    assert resolved["bands"] == list("ugrizy")
    assert resolved["extinction_coeffs"] == R_DP1
    assert resolved["zero_point"] == 31.4 and resolved["sort_order"] == SORT_ORDER
    assert embedded["versions"] == product.versions
    assert embedded["versions"]["tsmaker"] and embedded["versions"]["pyarrow"] == pa.__version__
    assert embedded["inputs"] == product.inputs


def test_sidecar_equals_products_show_json(data, tmp_path):
    product = make_training_set("s", data["specz_path"], data["collection"],
                                output_dir=str(tmp_path))
    shown = CliRunner().invoke(app, ["products", "show", product.full_name, "--json"])
    assert shown.exit_code == 0, shown.output
    sidecar = Path(product.files[1]).read_text()
    assert sidecar == shown.stdout
    record = json.loads(sidecar)
    assert record["finished_at"] and record["summary"]["planned_files"] == product.files


def test_parquet_units_are_readable_by_astropy(data, tmp_path):
    product = make_training_set("u", data["specz_path"], data["collection"],
                                output_dir=str(tmp_path))
    table = Table.read(product.files[0])
    assert str(table["ra"].unit) == "deg" and str(table["g_cModelFlux"].unit) == "nJy"
    assert str(table["g_cModelMag"].unit) == "mag"
    assert str(table["match_distance_arcsec"].unit) == "arcsec"
    assert json.loads(table.meta["tsmaker"])["tsmaker"]["name"] == "u"


def test_object_catalog_fingerprint_covers_its_metadata_files(data, tmp_path):
    from tsmaker.inputs.object_catalog import read_object_catalog_info

    copy = shutil.copytree(data["collection"], tmp_path / "objects")
    before = read_object_catalog_info(str(copy)).fingerprint
    assert len(before["metadata_sha256"]) == 64 and len(before["margin_metadata_sha256"]) == 64
    partition_info = copy / "object_lc" / "partition_info.csv"
    lines = partition_info.read_text().splitlines()
    partition_info.write_text("\n".join(lines[:-1]) + "\n")  # one partition fewer
    after = read_object_catalog_info(str(copy)).fingerprint
    assert after["metadata_sha256"] != before["metadata_sha256"]
    assert after["margin_metadata_sha256"] == before["margin_metadata_sha256"]


def test_like_refuses_a_spec_z_file_that_lost_rows(data, tmp_path, registry):
    specz_path = tmp_path / "specz.parquet"
    data["specz"].to_parquet(specz_path, index=False)
    add_redshift_catalog("sz", specz_path, {}, registry=registry)
    first = make_training_set("first", "sz", data["collection"], radius_arcsec=2.0,
                              output_dir=str(tmp_path), registry=registry)
    size_before = specz_path.stat().st_size
    data["specz"].iloc[10:].to_parquet(specz_path, index=False)  # 10 rows lost
    size_now = specz_path.stat().st_size
    rows = len(data["specz"])

    with pytest.raises(ParameterError) as refused:
        make_training_set("again", like=first.full_name, output_dir=str(tmp_path),
                          registry=registry)
    message = refused.value.message("cli")
    assert message.startswith(
        f"redshift catalog '{specz_path}' changed since product {first.full_name} was made: "
        f"rows read {rows} -> {rows - 10}, size {size_before} -> {size_now} bytes, sha256 ")
    assert message.endswith(
        "; restore it, or use it as it is now with --accept-changed-inputs (the change is "
        "recorded)")
    assert str(refused.value).endswith("accept_changed_inputs=True (the change is recorded)")
    assert [p.name for p in registry.list_products()] == ["first"]

    accepted = make_training_set("again", like=first.full_name, accept_changed_inputs=True,
                                 output_dir=str(tmp_path), registry=registry)
    changed = accepted.inputs["redshift"]["changed_since"]
    assert changed["product"] == first.full_name
    assert changed["changes"][0] == f"rows read {rows} -> {rows - 10}"
    assert accepted.summary["specz_rows"] == first.summary["specz_rows"] - 10
    assert accepted.parameters["radius_arcsec"] == 2.0
    assert any("changed since product" in notice for notice in accepted.summary["notices"])
    # Made again like the new product: the file is as it recorded it, nothing to accept.
    third = make_training_set("third", like=accepted.full_name, output_dir=str(tmp_path),
                              registry=registry)
    assert "changed_since" not in third.inputs["redshift"]
    assert third.rows == accepted.rows


def test_like_refuses_an_object_catalog_that_changed(data, tmp_path, registry):
    copy = shutil.copytree(data["collection"], tmp_path / "objects")
    first = make_training_set("first", data["specz_path"], str(copy), output_dir=str(tmp_path),
                              registry=registry)
    properties = copy / "object_lc" / "hats.properties"
    properties.write_text(properties.read_text().replace(
        "hats_creation_date=", "hats_creation_date=2031-01-01T00\\:00UTC\n#was="))
    with pytest.raises(ParameterError, match=(
        rf"^object catalog '{copy}' changed since product {first.full_name} was made: "
        r"hats_creation_date .* -> 2031-01-01T00:00UTC, metadata_sha256 ")):
        make_training_set("again", like=first.full_name, registry=registry)


def test_like_falls_back_to_the_recorded_path_when_unregistered(data, tmp_path, registry):
    add_redshift_catalog("sz", data["specz_path"], {"id": "none"}, registry=registry)
    add_object_catalog("objects", str(data["collection"]), profile="dp1", registry=registry)
    first = make_training_set("first", "sz", "objects", output_dir=str(tmp_path),
                              registry=registry)
    # The file's columns, with the roles turned off; "columns" are the product's.
    assert first.inputs["redshift"]["file_columns"] == {
        "ra": "ra", "dec": "dec", "z": "z", "z_err": "z_err", "z_flag": "z_flag", "id": "none"}
    assert "id" not in first.inputs["redshift"]["columns"]
    remove_catalog("sz", registry=registry)
    remove_catalog("objects", registry=registry)

    again = make_training_set("again", like=first.full_name, output_dir=str(tmp_path),
                              registry=registry)
    assert again.inputs["redshift"]["location"] == str(data["specz_path"])
    assert again.inputs["object"]["location"] == str(data["collection"])
    assert again.inputs["object"]["profile"] == "dp1"
    assert again.inputs["redshift"]["columns"] == first.inputs["redshift"]["columns"]
    notices = again.summary["notices"]
    assert f"redshift catalog 'sz' is not registered any more; using '{data['specz_path']}', " \
           f"where product {first.full_name} found it" in notices
    pd.testing.assert_frame_equal(read_product_table(Path(again.files[0])),
                                  read_product_table(Path(first.files[0])))


def test_array_columns_of_a_spec_z_file_reach_every_format(data, tmp_path):
    specz = data["specz"].copy()
    rng = np.random.default_rng(2)
    spectra = [None if i % 7 == 0 else list(rng.normal(size=1 + i % 4)) for i in range(len(specz))]
    specz["lines_flux"] = pd.array(spectra, dtype=pd.ArrowDtype(pa.list_(pa.float64())))
    specz["coeff"] = pd.array([list(rng.normal(size=3)) for _ in range(len(specz))],
                              dtype=pd.ArrowDtype(pa.list_(pa.float64(), 3)))
    specz["nexp"] = pd.array([None if i % 5 == 0 else i for i in range(len(specz))],
                             dtype="Int64")
    path = tmp_path / "specz_arrays.parquet"
    pq.write_table(pa.Table.from_pandas(specz, preserve_index=False).replace_schema_metadata(
        None), path)  # as other tools write it: no pandas metadata
    by_id = specz.set_index("specz_id")
    for output_format in ("parquet", "csv", "fits", "hdf5"):
        product = make_training_set(output_format, path, data["collection"],
                                    output_format=output_format, output_dir=str(tmp_path))
        frame = read_product_table(Path(product.files[0]))
        assert product.rows > 50
        expected = by_id.loc[frame["specz_id"]]
        # CSV holds no types: a nullable integer column reads back as floats.
        assert frame["nexp"].dtype == ("float64" if output_format == "csv" else "Int64")
        assert frame["nexp"].astype("Int64").tolist() == expected["nexp"].tolist()
        if output_format == "csv":
            got = [None if isinstance(text, float) else json.loads(text)
                   for text in frame["lines_flux"]]
        else:
            got = [None if item is None or item is pd.NA else list(item)
                   for item in frame["lines_flux"].tolist()]
        want = [None if item is None or item is pd.NA else list(item)
                for item in expected["lines_flux"].tolist()]
        if output_format == "fits":  # a missing variable-length array is written empty
            want = [item if item is not None else [] for item in want]
        assert got == want, output_format
        if output_format != "csv":
            np.testing.assert_array_equal(np.stack(frame["coeff"].tolist()),
                                          np.stack(expected["coeff"].tolist()))
