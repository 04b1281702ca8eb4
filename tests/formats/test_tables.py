"""Reading product files: real files of every format, written by pandas, astropy, h5py,
tsmaker's own writers and LSDB, read back by :mod:`tsmaker.formats.tables`."""

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from tsmaker.errors import ProductError
from tsmaker.formats import WRITERS, writer_for
from tsmaker.formats.tables import product_columns, read_product_table


def sample_table() -> pd.DataFrame:
    return pd.DataFrame({
        "specz_id": ["SZ000", "SZ001", "SZ002", "SZ003"],
        "objectId": np.array([5, 6, 7, 2**40], dtype=np.int64),
        "z": [0.1, 0.25, np.nan, 1.5],
        "match_rank": np.array([1, 1, 2, 1], dtype=np.int64),
    })


def write_parquet(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "t.parquet"
    frame.to_parquet(path, index=False)
    return path


def write_csv(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "t.csv"
    frame.to_csv(path, index=False)
    return path


def write_fits(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "t.fits"
    Table.from_pandas(frame).write(path)
    return path


def write_hdf5(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "t.hdf5"
    rows = np.empty(len(frame), dtype=[("specz_id", "S8"), ("objectId", "<i8"), ("z", "<f8"),
                                       ("match_rank", "<i8")])
    rows["specz_id"] = [value.encode("utf-8") for value in frame["specz_id"]]
    for name in ("objectId", "z", "match_rank"):
        rows[name] = frame[name].to_numpy()
    with h5py.File(path, "w") as handle:
        handle.create_dataset("training_set", data=rows)
    return path


WRITERS_BY_FORMAT = {"parquet": write_parquet, "csv": write_csv, "fits": write_fits,
                     "hdf5": write_hdf5}


@pytest.mark.parametrize("format_name", sorted(WRITERS_BY_FORMAT))
def test_read_product_table_round_trips(format_name: str, tmp_path: Path) -> None:
    expected = sample_table()
    path = WRITERS_BY_FORMAT[format_name](expected, tmp_path)

    assert product_columns(path) == list(expected.columns)
    frame = read_product_table(path)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["specz_id"].tolist() == ["SZ000", "SZ001", "SZ002", "SZ003"]


@pytest.mark.parametrize("format_name", sorted(WRITERS_BY_FORMAT))
def test_read_product_table_reads_only_the_columns_asked(format_name: str,
                                                         tmp_path: Path) -> None:
    expected = sample_table()
    path = WRITERS_BY_FORMAT[format_name](expected, tmp_path)

    frame = read_product_table(path, ["z", "objectId"])

    assert list(frame.columns) == ["z", "objectId"]
    assert frame["objectId"].tolist() == [5, 6, 7, 2**40]
    np.testing.assert_array_equal(frame["z"].to_numpy(), [0.1, 0.25, np.nan, 1.5])


@pytest.mark.parametrize("format_name",
                         sorted(name for name, writer in WRITERS.items() if not writer.partitioned))
def test_read_product_table_reads_what_the_writers_write(format_name: str,
                                                         tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "objectId": np.array([1, 2, 3], dtype=np.int64),
        "z_flag": pd.array([4, None, 3], dtype="Int64"),
        "z": [0.5, 0.6, 0.7],
    })
    writer_class = writer_for(format_name)
    path = tmp_path / f"p{writer_class.suffix}"
    with writer_class(path) as writer:
        writer.write(frame)

    read = read_product_table(path, ["objectId", "z_flag", "z"])

    assert read["objectId"].tolist() == [1, 2, 3]
    assert read["z"].tolist() == [0.5, 0.6, 0.7]
    assert read["z_flag"].isna().tolist() == [False, True, False]
    assert read["z_flag"].iloc[0] == 4


def test_read_product_table_reads_hats(tmp_path: Path) -> None:
    import lsdb

    frame = pd.DataFrame({"ra": [10.0, 10.1, 200.0], "dec": [-1.0, 0.5, 30.0],
                          "z": [0.1, 0.2, 0.3]})
    path = tmp_path / "p.hats"
    lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec", margin_threshold=None,
                        catalog_name="p").write_catalog(path, as_collection=False,
                                                        progress_bar=False)

    read = read_product_table(path, ["z", "ra"])

    assert list(read.columns) == ["z", "ra"]
    assert sorted(read["z"].tolist()) == [0.1, 0.2, 0.3]


def test_read_product_table_errors(tmp_path: Path) -> None:
    path = write_parquet(sample_table(), tmp_path)
    with pytest.raises(ProductError, match="has no column 'mag_g'"):
        read_product_table(path, ["z", "mag_g"])
    with pytest.raises(ProductError, match="does not exist"):
        read_product_table(tmp_path / "absent.parquet")
    odd = tmp_path / "table.txt.bak"
    odd.write_text("a\n1\n")
    with pytest.raises(ProductError, match="cannot tell the format"):
        read_product_table(odd)
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ProductError, match="cut.parquet"):
        read_product_table(truncated)
    no_table = tmp_path / "other.hdf5"
    with h5py.File(no_table, "w") as handle:
        handle.create_dataset("something_else", data=np.arange(3))
    with pytest.raises(ProductError,
                       match="neither a 'training_set' dataset nor a group of columns"):
        read_product_table(no_table)


def test_hdf5_strings_are_decoded_from_utf8(tmp_path: Path) -> None:
    path = tmp_path / "t.hdf5"
    rows = np.array([("Zoë".encode(), 1.0)], dtype=[("name", "S8"), ("z", "<f8")])
    with h5py.File(path, "w") as handle:
        handle.create_dataset("training_set", data=rows)

    assert read_product_table(path)["name"].tolist() == ["Zoë"]
