"""tsmaker.read_product: a product's table as a pandas DataFrame, whatever its format."""

import numpy as np
import pandas as pd
import pytest
from oracle import oracle_collection, synthetic_catalogs

from tsmaker import make_training_set, read_product
from tsmaker.errors import ProductError


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _, specz = synthetic_catalogs()
    specz["survey"] = np.where(specz["z_flag"] > 2, "DESI", "2dFLenS")
    path = tmp_path_factory.mktemp("read_product") / "specz.parquet"
    specz.to_parquet(path, index=False)
    return {"path": path, "collection": oracle_collection(tmp_path_factory, 400)}


@pytest.mark.parametrize("output_format", ["parquet", "csv", "fits", "hdf5", "hats"])
def test_every_format_reads_back_as_the_same_dataframe(data, tmp_path, output_format):
    reference = make_training_set("ref", data["path"], data["collection"], n_neighbors=2,
                                  radius_arcsec=2.0, output_dir=str(tmp_path / "ref"))
    product = make_training_set("fmt", data["path"], data["collection"], n_neighbors=2,
                                radius_arcsec=2.0, output_format=output_format,
                                output_dir=str(tmp_path))
    expected = pd.read_parquet(reference.files[0])
    got = read_product(product.full_name)
    assert isinstance(got, pd.DataFrame)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == product.rows == len(expected) > 0
    keys = ["specz_id", "match_rank"]
    got = got.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    assert got["survey"].tolist() == expected["survey"].tolist()  # strings come back as str
    for column in expected.columns.drop("survey"):
        np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                   expected[column].to_numpy(dtype=float), rtol=1e-6,
                                   equal_nan=True, err_msg=column)
    # By id too, and only some columns.
    subset = read_product(product.id, columns=["specz_id", "z"])
    assert list(subset.columns) == ["specz_id", "z"] and len(subset) == product.rows


def test_an_unknown_product_is_a_product_error():
    with pytest.raises(ProductError):
        read_product("nothing_here")
