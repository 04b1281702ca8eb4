"""Every column type through every format, read back with what users read it with.

One table holds a column of each type a product can carry (floats with NaN, float32,
integers, nullable integers, booleans, nullable booleans, strings with missing values,
fixed-length and variable-length arrays with a missing row and a missing element, full
double precision inside arrays). Each format writes it in two batches; it is read back
with pandas, astropy, h5py and tables_io (as each format allows) and with tsmaker's own
reader, and every value and type is compared with what was written.
"""

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tables_io
from astropy.table import Table

from tsmaker.formats import HatsCatalogWriter, writer_for
from tsmaker.formats.tables import read_product_table

VECTOR = pd.ArrowDtype(pa.list_(pa.float64(), 3))
SEQUENCE = pd.ArrowDtype(pa.list_(pa.float64()))
INT_SEQUENCE = pd.ArrowDtype(pa.list_(pa.int32()))
PRECISE = 9506.033275419904  # numpy prints it as 9506.03327542


def all_types(offset: int) -> pd.DataFrame:
    """Four rows, each column a type, each with its missing values (offset: batch 2)."""
    return pd.DataFrame({
        "ra": np.array([10.0, 10.5, 11.0, 11.5]) + offset,
        "dec": np.array([-5.0, -5.5, 0.25, 1.0]),
        "z": np.array([0.1 + offset, np.nan, 1.0 / 3.0, 2.5]),
        "flux": np.array([1.5, np.nan, 3.25, 1e-7], dtype=np.float32),
        "specz_id": np.array([1, 2, 3, 4], dtype=np.int64) + 10 * offset,
        "qop": pd.array([4, None, 3, 6], dtype="Int64"),
        "is_star": np.array([False, True, False, True]),
        "good": pd.array([True, None, False, True], dtype="boolean"),
        "survey": pd.array(["DESI", None, "OzDES", "2dFLenS"], dtype="str"),
        "coeff": pd.array([[1.0, 2.0, 3.0], None, [PRECISE, None, -0.5], [0.0, 0.0, 1e-300]],
                          dtype=VECTOR),
        "spectrum": pd.array([[PRECISE, 1.0 / 3.0], None, [], [2.0, None, 4.0]],
                             dtype=SEQUENCE),
        "lines": pd.array([[1, 2], [3], None, []], dtype=INT_SEQUENCE),
    })


UNITS = {"ra": "deg", "dec": "deg", "flux": "nJy", "coeff": "mag", "spectrum": "nJy"}
PARAMETERS = {"tsmaker": {"name": "round_trip", "bands": ["g"]}}
COLUMNS = list(all_types(0).columns)


@pytest.fixture(scope="module")
def written() -> pd.DataFrame:
    return pd.concat([all_types(0), all_types(1)], ignore_index=True)


def value(item: object) -> object:
    """A comparable Python value: missing as None, numpy scalars and arrays as Python."""
    if item is None or item is pd.NA or item is np.ma.masked:
        return None
    if isinstance(item, float | np.floating) and math.isnan(item):
        return None
    if isinstance(item, np.ma.MaskedArray):
        return [value(element) for element in item.tolist(None)]
    if isinstance(item, np.ndarray | list | tuple):
        return [value(element) for element in item]
    if hasattr(item, "item"):
        item = item.item()
    return item.decode() if isinstance(item, bytes) else item


def values(column: object) -> list:
    if isinstance(column, np.ma.MaskedArray) and column.ndim == 1:
        return [None if masked else value(item)
                for item, masked in zip(column.data, np.ma.getmaskarray(column), strict=True)]
    if isinstance(column, np.ma.MaskedArray):
        return [value(row) for row in column]
    return [value(item) for item in list(column)]


def write(format_name: str, folder: Path, **options) -> Path:
    writer_class = writer_for(format_name)
    path = folder / f"product{writer_class.suffix}"
    with writer_class(path, units=UNITS, metadata=PARAMETERS, **options) as writer:
        writer.write(all_types(0))
        writer.write(all_types(1))
    return path


def assert_same_as_written(frame: pd.DataFrame, written: pd.DataFrame) -> None:
    """tsmaker's reader gives back every column with its values and type."""
    assert list(frame.columns) == COLUMNS
    for name in COLUMNS:
        assert values(frame[name]) == values(written[name]), name
    assert frame["qop"].dtype == "Int64" and frame["good"].dtype == "boolean"
    assert frame["is_star"].dtype == bool and frame["flux"].dtype == np.float32
    assert frame["coeff"].dtype == VECTOR
    assert frame["spectrum"].dtype.pyarrow_dtype.value_type == pa.float64()
    assert frame["lines"].dtype.pyarrow_dtype.value_type == pa.int32()


# --------------------------------------------------------------------------- Parquet


def test_parquet_keeps_every_type_for_pandas_astropy_and_tables_io(tmp_path, written):
    path = write("parquet", tmp_path, string_widths={"survey": 7})

    frame = pd.read_parquet(path)  # what a user does
    assert frame["qop"].dtype == "Int64" and frame["good"].dtype == "boolean"
    for name in COLUMNS:
        assert values(frame[name]) == values(written[name]), name
    arrow = tables_io.read(str(path))  # tables_io reads .parquet as a pyarrow Table
    assert arrow.schema.field("coeff").type == pa.list_(pa.float64(), 3)
    assert arrow.schema.field("qop").type == pa.int64()
    assert arrow.column("qop").null_count == 2
    assert arrow.column("spectrum").to_pylist() == values(written["spectrum"])
    # astropy: units from the table header tsmaker writes (its Parquet reader turns a
    # missing string into 'None' and fails on a missing fixed-length array, so those
    # two columns are left out here).
    table = Table.read(path, include_names=[n for n in COLUMNS if n not in ("survey", "coeff")])
    assert str(table["ra"].unit) == "deg" and str(table["spectrum"].unit) == "nJy"
    assert json.loads(table.meta["tsmaker"]) == PARAMETERS
    assert values(table["z"]) == values(written["z"])
    assert pq.read_schema(path).field("ra").metadata == {b"unit": b"deg"}
    assert_same_as_written(read_product_table(path), written)


def test_hats_keeps_every_type(tmp_path, written):
    from tsmaker.matching.healpix import healpix29

    frame = pd.concat([all_types(0), all_types(1)], ignore_index=True)
    frame.index = pd.Index(healpix29(frame["ra"], frame["dec"]), name="_healpix_29")
    path = tmp_path / "product.hats"
    with HatsCatalogWriter(path, ra_column="ra", dec_column="dec", units=UNITS,
                           metadata=PARAMETERS) as writer:
        writer.write(frame.sort_index(), [(0, 4)])
    read = read_product_table(path).set_index("specz_id").loc[written["specz_id"]]
    read = read.reset_index()[COLUMNS]
    for name in COLUMNS:
        assert values(read[name]) == values(written[name]), name
    assert str(read["qop"].dtype) in ("Int64", "int64[pyarrow]")  # nullable either way


# ------------------------------------------------------------------------------ CSV


def test_csv_keeps_every_value_with_full_precision_one_line_per_row(tmp_path, written):
    path = write("csv", tmp_path)

    lines = path.read_text().splitlines()
    assert len(lines) == 1 + len(written)  # arrays do not wrap onto a second line
    assert "9506.033275419904" in lines[1]
    frame = pd.read_csv(path)
    for name in ("ra", "z", "specz_id", "is_star"):
        assert values(frame[name]) == values(written[name]), name
    assert values(frame["flux"].astype(np.float32)) == values(written["flux"])
    assert values(frame["qop"]) == [4, None, 3, 6] * 2
    for name in ("coeff", "spectrum", "lines"):
        decoded = [None if isinstance(text, float) else json.loads(text)
                   for text in frame[name]]
        assert decoded == values(written[name]), name
    table = Table.read(path, format="ascii.csv")
    assert values(table["qop"]) == [4, None, 3, 6] * 2
    assert values(table["survey"]) == values(written["survey"])
    assert_same_as_written_text(read_product_table(path), written)


def assert_same_as_written_text(frame: pd.DataFrame, written: pd.DataFrame) -> None:
    """From CSV, scalars come back with their values; arrays as their JSON text."""
    for name in ("ra", "z", "specz_id", "qop", "is_star", "good", "survey"):
        assert values(frame[name]) == values(written[name]), name
    assert frame["good"].dtype == "boolean"


# ----------------------------------------------------------------------------- FITS


def test_fits_keeps_every_type_for_astropy_and_tables_io(tmp_path, written):
    from astropy.io import fits

    path = write("fits", tmp_path)

    with fits.open(path) as hdus:
        hdus.verify("exception")
        formats = {column.name: column.format for column in hdus["TRAINING_SET"].columns}
    assert formats["coeff"] == "3D" and formats["spectrum"] == "QD(3)"
    assert formats["lines"] == "QJ(2)" and formats["is_star"] == "L"
    assert formats["good"] == "L" and formats["qop"] == "K"
    table = Table.read(path, hdu="TRAINING_SET")
    assert table["is_star"].dtype == bool
    assert values(table["qop"]) == values(written["qop"])
    assert values(table["z"]) == values(written["z"])
    assert values(table["survey"]) == values(written["survey"])
    assert str(table["coeff"].unit) == "mag"
    # A vector column masks each missing element; a missing vector is all masked.
    assert values(table["coeff"])[:4] == [[1.0, 2.0, 3.0], [None] * 3, [PRECISE, None, -0.5],
                                          [0.0, 0.0, 1e-300]]
    # A variable-length array: a missing one is empty, a missing element NaN.
    assert [value(row) for row in table["spectrum"]][:4] == [
        [PRECISE, 1.0 / 3.0], [], [], [2.0, None, 4.0]]
    from_tables_io = tables_io.read(str(path))
    assert set(from_tables_io) == {"training_set"}  # tables_io names HDUs in lower case
    assert values(from_tables_io["training_set"]["qop"]) == values(written["qop"])
    frame = read_product_table(path)
    for name in ("ra", "z", "flux", "specz_id", "qop", "is_star", "survey", "coeff"):
        assert values(frame[name]) == values(written[name]), name
    assert frame["qop"].dtype == "Int64" and frame["coeff"].dtype == VECTOR


def test_fits_refuses_nested_columns_naming_the_formats_that_hold_them(tmp_path):
    from tsmaker.errors import InputError

    batch = pd.DataFrame({"ra": [1.0], "sources": pd.array(
        [[{"band": "g", "flux": 1.0}]],
        dtype=pd.ArrowDtype(pa.list_(pa.struct([("band", pa.string()), ("flux", pa.float64())]))))})
    for format_name in ("fits", "hdf5"):
        with pytest.raises(InputError) as raised:
            with writer_for(format_name)(tmp_path / f"x.{format_name}") as writer:
                writer.write(batch)
        assert str(raised.value) == (
            f"column 'sources' has type list<struct<band: string, flux: double>>, which "
            f"{format_name} cannot hold; choose one of the formats that can (parquet, hats, "
            "csv), or drop the column")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- HDF5


def test_hdf5_columns_layout_keeps_every_type_for_h5py_and_tables_io(tmp_path, written):
    path = write("hdf5", tmp_path)

    columns = tables_io.read(str(path))["photometry"]  # what RAIL reads
    assert [name for name in columns if not name.endswith(".mask")] == COLUMNS
    assert columns["qop"].dtype == np.int64 and columns["is_star"].dtype == bool
    assert columns["qop.mask"].tolist() == [False, True, False, False] * 2
    assert columns["coeff"].shape == (8, 3)
    assert values(columns["spectrum"][0]) == [PRECISE, 1.0 / 3.0]
    assert columns["survey"][:2].tolist() == [b"DESI", b""]
    assert columns["survey.mask"].tolist()[:2] == [False, True]
    with h5py.File(path, "r") as handle:
        group = handle["photometry"]
        assert json.loads(group.attrs["tsmaker_parameters"]) == PARAMETERS
        assert json.loads(group.attrs["columns"]) == COLUMNS
        assert group["ra"].attrs["unit"] == "deg"
        assert group["ra"].maxshape == (None,) and group["ra"].compression == "gzip"
    assert tables_io.hdf5.get_input_data_length(str(path), groupname="photometry") == 8
    assert_same_as_written(read_product_table(path), written)
    assert read_product_table(path).attrs["units"] == UNITS


def test_hdf5_table_layout_keeps_every_type_for_astropy(tmp_path, written):
    path = write("hdf5", tmp_path, layout="table")

    table = Table.read(path, path="training_set")
    assert table.colnames == COLUMNS
    for name in ("ra", "z", "flux", "specz_id", "qop", "is_star", "good", "survey"):
        assert values(table[name]) == values(written[name]), name
    assert values(table["coeff"])[:3] == [[1.0, 2.0, 3.0], [None] * 3, [PRECISE, None, -0.5]]
    assert [value(row) for row in table["spectrum"]][:3] == [[PRECISE, 1.0 / 3.0], [], []]
    assert str(table["flux"].unit) == "nJy"
    with h5py.File(path, "r") as handle:
        assert handle["training_set"].dtype["coeff"].shape == (3,)
        assert h5py.check_vlen_dtype(handle["training_set"].dtype["spectrum"]) == np.float64
    assert_same_as_written(read_product_table(path), written)


@pytest.mark.parametrize(("format_name", "options"), [
    ("parquet", {}), ("fits", {}), ("hdf5", {"layout": "columns"}), ("hdf5", {"layout": "table"}),
])
def test_variable_length_arrays_of_one_length_in_a_batch_are_kept(tmp_path, format_name,
                                                                  options):
    batches = [  # every row of a batch the same length; then a batch of one row
        pd.DataFrame({"z": [0.1, 0.2], "spectrum": pd.array(
            [[PRECISE, 1.0, 2.0], [3.0, None, 5.0]], dtype=SEQUENCE)}),
        pd.DataFrame({"z": [0.3], "spectrum": pd.array([[6.0, 7.0]], dtype=SEQUENCE)}),
    ]
    writer_class = writer_for(format_name)
    path = tmp_path / f"product{writer_class.suffix}"
    with writer_class(path, **options) as writer:
        for batch in batches:
            writer.write(batch)

    frame = read_product_table(path)
    assert values(frame["spectrum"]) == [[PRECISE, 1.0, 2.0], [3.0, None, 5.0], [6.0, 7.0]]
    assert values(frame["z"]) == [0.1, 0.2, 0.3]
