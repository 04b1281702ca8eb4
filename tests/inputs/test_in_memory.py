"""Redshift catalogs handed over in memory: DataFrame, astropy Table, lsdb.Catalog."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracle import oracle_collection, synthetic_catalogs

from tsmaker import make_training_set, plot_product, read_product
from tsmaker.errors import InputError
from tsmaker.inputs.in_memory import content_fingerprint, store_table


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _, specz = synthetic_catalogs()
    specz["survey"] = np.where(specz["z_flag"] > 2, "DESI", "2dFLenS")
    folder = tmp_path_factory.mktemp("in_memory")
    path = folder / "specz.parquet"
    specz.to_parquet(path, index=False)
    return {"specz": specz, "path": path, "collection": oracle_collection(tmp_path_factory, 400)}


def _same_rows(product, reference) -> None:
    got, want = pd.read_parquet(product.files[0]), pd.read_parquet(reference.files[0])
    assert len(got) == product.rows > 0
    pd.testing.assert_frame_equal(got, want)


def test_fingerprint_is_the_content_and_nothing_else():
    frame = pd.DataFrame({"ra": [1.0, 2.0], "dec": [0.0, 1.0], "z": [0.1, 0.2]})
    same = frame.copy()
    same.attrs["note"] = "metadata is not content"
    assert content_fingerprint(frame) == content_fingerprint(same)
    assert content_fingerprint(frame) != content_fingerprint(frame.astype({"z": "float32"}))
    assert content_fingerprint(frame) != content_fingerprint(frame[["dec", "ra", "z"]])
    assert content_fingerprint(frame) != content_fingerprint(frame, {"ra": "hourangle"})


def test_a_dataframe_is_stored_once_and_recorded(data, tmp_path, tsmaker_home):
    reference = make_training_set("file", data["path"], data["collection"],
                                  output_dir=str(tmp_path))
    product = make_training_set("frame", data["specz"], data["collection"],
                                output_dir=str(tmp_path))
    _same_rows(product, reference)
    redshift = product.inputs["redshift"]
    stored = Path(redshift["location"])
    fingerprint = content_fingerprint(data["specz"])
    assert stored == tsmaker_home / "inputs" / f"{fingerprint}.parquet"
    assert redshift["in_memory"] == {
        "type": "pandas.DataFrame", "content_sha256": fingerprint, "rows": len(data["specz"]),
        "columns": list(data["specz"].columns)}
    assert product.parameters["redshift_catalog"] == str(stored)
    written = stored.stat().st_mtime_ns
    again = make_training_set("again", data["specz"].copy(), data["collection"],
                              output_dir=str(tmp_path))
    assert again.inputs["redshift"]["location"] == str(stored)
    assert stored.stat().st_mtime_ns == written
    assert sorted(p.name for p in stored.parent.iterdir()) == [
        f"{fingerprint}.parquet", f"{fingerprint}.parquet.json"]
    # Reproducible and plottable after the table is gone: --like reruns it, plot reads it.
    rerun = make_training_set("rerun", like=product.full_name, output_dir=str(tmp_path))
    _same_rows(rerun, reference)
    assert plot_product(product.full_name).exists()
    pd.testing.assert_frame_equal(read_product(product.full_name),
                                  pd.read_parquet(product.files[0]))


def test_an_astropy_table_keeps_its_units(data, tmp_path):
    from astropy.table import Table

    reference = make_training_set("file", data["path"], data["collection"],
                                  output_dir=str(tmp_path))
    table = Table.from_pandas(data["specz"])
    table["ra"] = table["ra"] / 15.0
    table["ra"].unit = "hourangle"  # RA in hours: recognised from the unit, converted
    product = make_training_set("table", table, data["collection"], output_dir=str(tmp_path))
    assert product.inputs["redshift"]["in_memory"]["type"] == "astropy.table.Table"
    assert product.inputs["redshift"]["location"].endswith(".fits")
    got, want = pd.read_parquet(product.files[0]), pd.read_parquet(reference.files[0])
    assert list(got["specz_id"]) == list(want["specz_id"])
    np.testing.assert_allclose(got["ra"], want["ra"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got["objectId"], want["objectId"])


@pytest.mark.slow  # computes an lsdb.Catalog: seconds
def test_an_lsdb_catalog_is_computed_and_stored(data, tmp_path):
    import lsdb

    reference = make_training_set("file", data["path"], data["collection"],
                                  output_dir=str(tmp_path))
    catalog = lsdb.from_dataframe(data["specz"], ra_column="ra", dec_column="dec")
    product = make_training_set("lsdb", catalog, data["collection"], output_dir=str(tmp_path))
    assert product.inputs["redshift"]["in_memory"]["type"] == "lsdb.Catalog"
    got, want = pd.read_parquet(product.files[0]), pd.read_parquet(reference.files[0])
    # The catalog's rows come in its own (sky) order: the same spec-z, other specz_row.
    assert sorted(got["specz_id"]) == sorted(want["specz_id"])
    assert "_healpix_29" not in got.columns
    merged = got.merge(want, on=["specz_id", "match_rank"], suffixes=("", "_file"))
    assert len(merged) == len(want)
    np.testing.assert_array_equal(merged["objectId"], merged["objectId_file"])


def test_a_named_index_becomes_a_column():
    frame = pd.DataFrame({"ra": [1.0], "dec": [2.0], "z": [0.3]},
                         index=pd.Index([42], name="galaxy_id"))
    stored = store_table(frame)
    assert pd.read_parquet(stored.path).columns.tolist() == ["galaxy_id", "ra", "dec", "z"]
    unnamed = store_table(frame.rename_axis(None))
    assert pd.read_parquet(unnamed.path).columns.tolist() == ["ra", "dec", "z"]


def test_other_objects_are_refused():
    with pytest.raises(InputError, match="redshift catalog of type dict cannot be read"):
        store_table({"ra": [1.0]})
    with pytest.raises(InputError, match="has no rows"):
        store_table(pd.DataFrame({"ra": [], "dec": [], "z": []}))


def test_one_content_handed_as_a_frame_and_as_a_table_is_stored_as_each():
    from astropy.table import Table

    from tsmaker.inputs.in_memory import stored_table_description

    frame = pd.DataFrame({"ra": [1.0, 2.0], "dec": [2.0, 3.0], "z": [0.3, 0.5]})
    as_frame, as_table = store_table(frame), store_table(Table.from_pandas(frame))
    assert as_frame.path.suffix == ".parquet" and as_table.path.suffix == ".fits"
    assert stored_table_description(as_frame.path)["type"] == "pandas.DataFrame"
    assert stored_table_description(as_table.path)["type"] == "astropy.table.Table"
    assert store_table(frame).path == as_frame.path  # stored once, found again


def test_a_table_stored_by_an_earlier_version_keeps_its_description():
    """Earlier versions wrote the description at ``<fingerprint>.json``."""
    from tsmaker.inputs.in_memory import stored_table_description

    stored = store_table(pd.DataFrame({"ra": [1.0], "dec": [2.0], "z": [0.3]}))
    current = stored.path.with_name(stored.path.name + ".json")
    current.rename(stored.path.with_suffix(".json"))
    assert stored_table_description(stored.path)["type"] == "pandas.DataFrame"
    stored.path.with_suffix(".json").unlink()
    assert stored_table_description(stored.path) is None
