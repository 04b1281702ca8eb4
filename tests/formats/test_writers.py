"""Streaming writers: real files, read back with the libraries users read them with."""

import json
import math
import tracemalloc
import warnings
from pathlib import Path

import astropy.units as u
import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tables_io
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning

from tsmaker.errors import InputError
from tsmaker.formats import WRITERS, HatsCatalogWriter, ParquetWriter, TableWriter, writer_for
from tsmaker.parameters import OUTPUT_FORMATS

UNITS = {"ra": "deg", "match_distance": "arcsec", "flux_g": "nJy", "mag_g": "mag"}
PARAMETERS = {
    "catalog": "dp1",
    "radius_arcsec": 1.0,
    "bands": ["g", "r", "i"],
    # Long enough to need FITS CONTINUE cards, with a quote to escape.
    "note": "spec-z from OzDES 'DR2' " + "x" * 200,
}
# Formats that take any batch; HATS (one partition per batch) has its own tests below.
FORMATS = sorted(name for name, writer in WRITERS.items() if not writer.partitioned)
#: Fixed widths for FITS/HDF5 string columns, wide enough for every batch.
STRING_WIDTHS = {"ozdes_id": 16, "pa_survey": 8}
BATCH_ROWS = [7, 0, 5, 9]  # three batches with rows and one empty batch


def make_batch(n_rows: int, first_object_id: int) -> pd.DataFrame:
    """A batch with every dtype the pipeline produces, missing values included."""
    rows = np.arange(n_rows)
    object_id = first_object_id + rows
    return pd.DataFrame(
        {
            "objectId": (object_id * 1_000_003 + 2**40).astype("int64"),
            "match_rank": (rows % 3 + 1).astype("int64"),
            "ra": np.linspace(10.0, 11.0, n_rows) + first_object_id / 7.0,
            "match_distance": (rows * 0.013 + 0.1).astype("float32"),
            "flux_g": np.where(rows % 4 == 1, np.nan, rows * 1234.567 + 0.1).astype("float32"),
            "mag_g": np.where(rows % 5 == 2, np.nan, 20.0 + rows / 3.0),
            "z_flag": pd.array([None if r % 3 == 0 else int(r % 5) for r in rows], dtype="Int64"),
            "is_training": rows % 2 == 0,
            "ozdes_id": pd.array(
                [None if r % 4 == 2 else f"OZ{object_id[r]}-{'a' * (r % 6)}" for r in rows],
                dtype="str",
            ),
            "pa_count": pd.array(
                [None if r % 5 == 4 else int(r * 11) for r in rows], dtype="int64[pyarrow]"
            ),
            "pa_z": pd.array(
                [None if r % 6 == 3 else 0.01 * r + 0.5 for r in rows], dtype="double[pyarrow]"
            ),
            "pa_survey": pd.array(
                [None if r % 7 == 5 else f"survey{r % 3}" for r in rows], dtype="string[pyarrow]"
            ),
        },
        # A non-trivial index that must not end up in any file.
        index=pd.Index(object_id * 10, name="row"),
    )


def make_batches() -> list[pd.DataFrame]:
    batches = []
    first_object_id = 0
    for n_rows in BATCH_ROWS:
        batches.append(make_batch(n_rows, first_object_id))
        first_object_id += n_rows + 100
    return batches


def canonical(values) -> list:
    """Python values with every kind of missing value as None and bytes decoded."""
    result = []
    for value in values:
        if value is None or value is pd.NA or value is np.ma.masked:
            result.append(None)
            continue
        if isinstance(value, float | np.floating) and math.isnan(value):
            result.append(None)
            continue
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, bytes):
            value = value.decode()
        result.append(value)
    return result


def expected_values(expected: pd.DataFrame, name: str) -> list:
    return canonical(expected[name].tolist())


def write_product(format_name: str, folder: Path, batches=None, **options) -> Path:
    """Write ``batches`` (default: make_batches()) and check the file appears only at close."""
    writer_class = writer_for(format_name)
    options.setdefault("string_widths", STRING_WIDTHS)
    batches = make_batches() if batches is None else batches
    final_path = folder / f"product{writer_class.suffix}"
    with writer_class(final_path, units=UNITS, metadata=PARAMETERS, **options) as writer:
        for batch in batches:
            writer.write(batch)
            assert not final_path.exists()
    assert writer.rows_written == sum(len(batch) for batch in batches)
    return final_path


@pytest.fixture
def expected() -> pd.DataFrame:
    return pd.concat(make_batches(), ignore_index=True)


# ----------------------------------------------------------------------- Parquet


def test_parquet_row_groups_gather_batches_up_to_the_row_group_size(tmp_path):
    class SmallGroups(ParquetWriter):
        row_group_rows = 10

    path = tmp_path / "groups.parquet"
    batches = make_batches()  # 7, 0, 5, 9 rows
    with SmallGroups(path) as writer:
        for batch in batches:
            writer.write(batch)

    metadata = pq.ParquetFile(path).metadata
    # 7 rows wait; +5 reach 12 >= 10 and are written; the last 9 are written at close.
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [12, 9]
    expected = pd.concat(batches, ignore_index=True)
    assert pd.read_parquet(path)["objectId"].tolist() == expected["objectId"].tolist()


def test_parquet_round_trip_with_pandas_and_pyarrow(tmp_path, expected):
    path = write_product("parquet", tmp_path)

    frame = pd.read_parquet(path)
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == sum(BATCH_ROWS)
    assert isinstance(frame.index, pd.RangeIndex)
    for name in expected.columns:
        assert frame[name].dtype == expected[name].dtype, name
        assert canonical(frame[name].tolist()) == expected_values(expected, name), name

    parquet_file = pq.ParquetFile(path)
    # Small batches are gathered into one row group (the empty batch adds nothing).
    assert parquet_file.metadata.num_row_groups == 1
    schema = parquet_file.schema_arrow
    assert json.loads(schema.metadata[b"tsmaker"]) == PARAMETERS
    for name in expected.columns:
        field_metadata = schema.field(name).metadata or {}
        assert field_metadata.get(b"unit") == (UNITS[name].encode() if name in UNITS else None), (
            name
        )
    assert schema.field("objectId").type == pa.int64()
    assert schema.field("flux_g").type == pa.float32()
    table = pq.read_table(path)
    assert table.column("z_flag").null_count == expected["z_flag"].isna().sum()
    assert table.column("objectId").to_pylist() == expected["objectId"].tolist()


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip_with_pandas_and_astropy(tmp_path, expected):
    path = write_product("csv", tmp_path)

    assert path.read_text().splitlines()[0] == ",".join(expected.columns)
    frame = pd.read_csv(path, dtype={"ozdes_id": "str", "pa_survey": "str"})
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == sum(BATCH_ROWS)
    assert frame["objectId"].dtype == np.int64
    assert frame["is_training"].dtype == bool
    for name in expected.columns:
        read_back = frame[name]
        if expected[name].dtype == np.float32:
            read_back = read_back.astype("float32")  # shortest float32 text, read as float64
        assert canonical(read_back.tolist()) == expected_values(expected, name), name

    table = Table.read(path, format="ascii.csv")
    assert table.colnames == list(expected.columns)
    assert canonical(table["objectId"]) == expected_values(expected, "objectId")
    assert canonical(table["z_flag"].filled(-1)) == [
        -1 if value is None else value for value in expected_values(expected, "z_flag")
    ]
    assert table["ozdes_id"].mask.tolist() == expected["ozdes_id"].isna().tolist()


# -------------------------------------------------------------------------- FITS


def test_fits_round_trip_with_astropy(tmp_path, expected):
    path = write_product("fits", tmp_path)
    assert path.stat().st_size % 2880 == 0

    with fits.open(path) as hdul:
        hdul.verify("exception")
        assert len(hdul) == 2
        primary, table_hdu = hdul
        assert primary.header["ORIGIN"] == "tsmaker"
        assert json.loads(primary.header["TSMPARAM"]) == PARAMETERS
        assert table_hdu.header["XTENSION"] == "BINTABLE"
        assert table_hdu.name == "TRAINING_SET"
        assert table_hdu.header["NAXIS2"] == sum(BATCH_ROWS)
        formats = {column.name: column.format for column in table_hdu.columns}
        assert formats["objectId"] == "K"
        assert formats["flux_g"] == "E"
        assert formats["mag_g"] == "D"
        assert formats["is_training"] == "L"
        assert formats["ozdes_id"].endswith("A")
        nulls = {column.name: column.null for column in table_hdu.columns}
        assert nulls["z_flag"] == np.iinfo(np.int64).min
        assert nulls["pa_count"] == np.iinfo(np.int64).min
        assert nulls["objectId"] is None and nulls["match_rank"] is None
        units = {column.name: column.unit for column in table_hdu.columns}
        assert units == {name: UNITS.get(name) for name in expected.columns}
        raw = table_hdu.data
        assert raw["objectId"].tolist() == expected["objectId"].tolist()
        assert raw["is_training"].tolist() == expected["is_training"].tolist()

    table = Table.read(path, hdu="TRAINING_SET")
    assert table.colnames == list(expected.columns)
    assert len(table) == sum(BATCH_ROWS)
    for name, unit in UNITS.items():
        assert table[name].unit == u.Unit(unit), name
    assert table["ra"].unit == u.deg and table["flux_g"].unit == u.nJy
    for name in expected.columns:
        # astropy masks NaN floats, TNULL integers and empty strings.
        read_back = canonical(np.ma.asarray(table[name]).tolist())
        assert read_back == expected_values(expected, name), name
    assert table["z_flag"].mask.tolist() == expected["z_flag"].isna().tolist()
    assert table["objectId"].dtype.type is np.int64
    assert table["flux_g"].dtype.type is np.float32


def test_fits_header_only_product_opens_when_nothing_was_written(tmp_path, expected):
    path = write_product("fits", tmp_path, batches=[make_batch(0, 0)], string_widths={})

    with fits.open(path) as hdul:
        hdul.verify("exception")
        assert hdul["TRAINING_SET"].header["NAXIS2"] == 0
        # Without any value the string width falls back to 1.
        formats = {column.name: column.format for column in hdul["TRAINING_SET"].columns}
        assert formats["ozdes_id"] == "1A"


def test_fits_refuses_a_value_equal_to_tnull(tmp_path):
    batch = make_batch(3, 0)
    batch["z_flag"] = pd.array([1, np.iinfo(np.int64).min, None], dtype="Int64")
    with pytest.raises(InputError, match="TNULL"):
        write_product("fits", tmp_path, batches=[batch])
    assert list(tmp_path.iterdir()) == []


def test_fits_refuses_non_ascii_strings(tmp_path):
    batch = make_batch(3, 0)
    batch["ozdes_id"] = ["a", "Québec", "b"]
    with pytest.raises(InputError, match="Québec|'é'"):
        write_product("fits", tmp_path, batches=[batch])
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- HDF5


def test_hdf5_table_layout_round_trip_with_h5py_astropy_and_pandas(tmp_path, expected):
    path = write_product("hdf5", tmp_path, layout="table")

    with h5py.File(path, "r") as handle:
        dataset = handle["training_set"]
        assert dataset.shape == (sum(BATCH_ROWS),)
        assert dataset.maxshape == (None,)
        assert dataset.chunks is not None
        assert dataset.compression == "gzip"
        assert json.loads(dataset.attrs["tsmaker_parameters"]) == PARAMETERS
        assert "training_set.__table_column_meta__" in handle
        names = dataset.dtype.names
        assert names == (
            "objectId",
            "match_rank",
            "ra",
            "match_distance",
            "flux_g",
            "mag_g",
            "z_flag",
            "z_flag.mask",
            "is_training",
            "ozdes_id",
            "ozdes_id.mask",
            "pa_count",
            "pa_count.mask",
            "pa_z",
            "pa_survey",
            "pa_survey.mask",
        )
        assert dataset.dtype["is_training"] == np.bool_
        assert dataset.dtype["ozdes_id"].kind == "S"
        frame = pd.DataFrame(dataset[()])
    assert frame["objectId"].tolist() == expected["objectId"].tolist()
    assert frame["z_flag.mask"].tolist() == expected["z_flag"].isna().tolist()
    assert canonical(frame["mag_g"]) == expected_values(expected, "mag_g")
    assert canonical(frame["ozdes_id"]) == [
        "" if value is None else value for value in expected_values(expected, "ozdes_id")
    ]

    table = Table.read(path, path="training_set")
    assert table.colnames == list(expected.columns)
    assert json.loads(table.meta["tsmaker_parameters"]) == PARAMETERS
    for name in expected.columns:
        assert table[name].unit == (u.Unit(UNITS[name]) if name in UNITS else None), name
    for name in expected.columns:
        wanted = expected_values(expected, name)
        assert canonical(np.ma.asarray(table[name]).tolist()) == wanted, name
    assert table["z_flag"].mask.tolist() == expected["z_flag"].isna().tolist()
    assert table["ozdes_id"].mask.tolist() == expected["ozdes_id"].isna().tolist()
    assert table["pa_count"].mask.tolist() == expected["pa_count"].isna().tolist()
    assert table["objectId"].dtype.type is np.int64
    assert table["flux_g"].dtype.type is np.float32


# ------------------------------------------------------------ every format alike


def read_columns_and_rows(format_name: str, path: Path) -> tuple[list[str], int]:
    if format_name == "parquet":
        frame = pd.read_parquet(path)
        return list(frame.columns), len(frame)
    if format_name == "csv":
        frame = pd.read_csv(path)
        return list(frame.columns), len(frame)
    if format_name == "fits":
        table = Table.read(path, hdu="TRAINING_SET")
        return table.colnames, len(table)
    columns = tables_io.read(str(path))["photometry"]
    names = [name for name in columns if not name.endswith(".mask")]
    return names, len(columns[names[0]])


@pytest.mark.parametrize("format_name", FORMATS)
def test_empty_product_is_a_valid_file_with_all_columns(tmp_path, format_name):
    empty = make_batch(0, 0)
    path = write_product(format_name, tmp_path, batches=[empty])

    assert path.exists()
    assert read_columns_and_rows(format_name, path) == (list(empty.columns), 0)
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("format_name", FORMATS)
def test_file_appears_only_at_close(tmp_path, format_name):
    writer_class = writer_for(format_name)
    final_path = tmp_path / f"product{writer_class.suffix}"
    writer = writer_class(final_path, units=UNITS, metadata=PARAMETERS)
    writer.write(make_batch(4, 0))

    assert not final_path.exists()
    assert [entry.name for entry in tmp_path.iterdir()] == [writer.temp_path.name]
    assert writer.temp_path.name.startswith(f".{final_path.name}.partial-")
    assert writer.rows_written == 4
    assert writer.close() == final_path
    assert [entry.name for entry in tmp_path.iterdir()] == [final_path.name]
    assert read_columns_and_rows(format_name, final_path)[1] == 4


@pytest.mark.parametrize("format_name", FORMATS)
def test_abort_leaves_no_file_and_is_idempotent(tmp_path, format_name):
    writer_class = writer_for(format_name)
    writer = writer_class(tmp_path / f"product{writer_class.suffix}", metadata=PARAMETERS)
    writer.write(make_batch(4, 0))
    writer.abort()
    writer.abort()

    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="aborted"):
        writer.write(make_batch(1, 0))


@pytest.mark.parametrize("format_name", FORMATS)
@pytest.mark.parametrize("interruption", [ValueError, KeyboardInterrupt])
def test_exception_inside_with_block_leaves_no_file(tmp_path, format_name, interruption):
    writer_class = writer_for(format_name)
    with pytest.raises(interruption):
        with writer_class(tmp_path / f"product{writer_class.suffix}") as writer:
            writer.write(make_batch(4, 0))
            raise interruption("stopped mid-product")

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format_name", FORMATS)
def test_later_batches_are_cast_to_first_batch_dtypes(tmp_path, format_name):
    first = make_batch(3, 0)
    second = make_batch(2, 10)
    second["match_rank"] = second["match_rank"].astype("int32")
    second = second[list(reversed(second.columns))]
    path = write_product(format_name, tmp_path, batches=[first, second])

    columns, n_rows = read_columns_and_rows(format_name, path)
    assert columns == list(first.columns)
    assert n_rows == 5


@pytest.mark.parametrize("format_name", FORMATS)
def test_batch_with_other_columns_is_refused(tmp_path, format_name):
    with pytest.raises(InputError, match=r"missing: \['mag_g'\]"):
        write_product(
            format_name,
            tmp_path,
            batches=[make_batch(3, 0), make_batch(2, 9).drop(columns="mag_g")],
        )
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_names_the_choices():
    with pytest.raises(InputError) as caught:
        writer_for("xlsx")
    assert str(caught.value) == (
        "unknown output format 'xlsx'; choose one of: parquet, csv, fits, hdf5, hats"
    )


def test_writers_table_maps_names_to_classes_with_suffixes():
    assert tuple(WRITERS) == OUTPUT_FORMATS == ("parquet", "csv", "fits", "hdf5", "hats")
    assert [name for name, writer in WRITERS.items() if writer.partitioned] == ["hats"]
    for name, writer_class in WRITERS.items():
        assert issubclass(writer_class, TableWriter)
        assert writer_class.format_name == name
        assert writer_class.suffix == f".{name}"


@pytest.mark.parametrize("format_name", ["fits", "hdf5"])
def test_string_longer_than_given_width_is_an_error(tmp_path, format_name):
    with pytest.raises(InputError, match=r"'OZ\d+-a*' of column 'ozdes_id' is \d+ bytes"):
        write_product(format_name, tmp_path, string_widths={"ozdes_id": 4})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format_name", ["fits", "hdf5"])
def test_string_longer_than_first_batch_width_is_an_error(tmp_path, format_name):
    first = make_batch(2, 0)  # longest ozdes_id: "OZ1-a"
    later = make_batch(6, 0)
    with pytest.raises(InputError, match=r"string_widths=\{'ozdes_id': 9\}"):
        write_product(format_name, tmp_path, batches=[first, later], string_widths={})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format_name", ["fits", "hdf5"])
def test_given_string_width_sets_the_column_width(tmp_path, format_name):
    path = write_product(format_name, tmp_path, string_widths={"ozdes_id": 32})
    if format_name == "fits":
        with fits.open(path) as hdul:
            assert hdul["TRAINING_SET"].columns["ozdes_id"].format == "32A"
    else:
        with h5py.File(path, "r") as handle:
            assert handle["photometry/ozdes_id"].dtype.itemsize == 32


def test_constructor_checks_folder_and_parameters(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        writer_for("csv")(tmp_path / "missing" / "product.csv")
    with pytest.raises(InputError, match="JSON"):
        writer_for("fits")(tmp_path / "product.fits", metadata={"when": object()})
    with pytest.raises(InputError, match="positive"):
        writer_for("hdf5")(tmp_path / "product.hdf5", string_widths={"ozdes_id": 0})


def test_close_without_any_batch_is_a_programming_error(tmp_path):
    writer = writer_for("parquet")(tmp_path / "product.parquet")
    with pytest.raises(RuntimeError, match="write"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ memory


@pytest.mark.slow
def test_parquet_memory_stays_bounded_by_a_few_batches(tmp_path):
    n_batches, rows_per_batch = 200, 50_000
    rng = np.random.default_rng(42)
    base_flux = rng.normal(1000.0, 100.0, rows_per_batch)

    def batch(index: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "objectId": np.arange(rows_per_batch, dtype="int64") + index * rows_per_batch,
                "ra": base_flux * 1e-3 + index,
                "dec": base_flux * -1e-3,
                "flux_g": base_flux + index,
                "flux_r": (base_flux * 1.1).astype("float32"),
            }
        )

    batch_bytes = int(batch(0).memory_usage(index=False).sum())
    total_bytes = batch_bytes * n_batches
    peak_arrow_bytes = 0
    tracemalloc.start()
    try:
        with writer_for("parquet")(tmp_path / "big.parquet", units=UNITS) as writer:
            for index in range(n_batches):
                writer.write(batch(index))
                peak_arrow_bytes = max(peak_arrow_bytes, pa.total_allocated_bytes())
        _, peak_traced_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert writer.rows_written == n_batches * rows_per_batch
    assert pq.ParquetFile(tmp_path / "big.parquet").metadata.num_rows == writer.rows_written
    # Everything at once would be ~400 MB; a streaming writer holds a few batches.
    assert total_bytes > 300e6
    assert peak_traced_bytes < 5 * batch_bytes, peak_traced_bytes
    assert peak_arrow_bytes < 5 * batch_bytes, peak_arrow_bytes


@pytest.mark.slow
def test_parquet_does_not_hold_thousands_of_small_batches(tmp_path):
    # A run at low spec-z density gives thousands of partitions of a few dozen rows:
    # far fewer rows than a row group, but each pandas frame costs tens of kB.
    n_batches, rows_per_batch, n_columns = 3_000, 2, 40
    rng = np.random.default_rng(7)
    values = rng.normal(size=(rows_per_batch, n_columns))

    def batch(index: int) -> pd.DataFrame:
        columns = {f"flux_{c}": values[:, c] + index for c in range(n_columns)}
        columns["objectId"] = np.arange(rows_per_batch, dtype="int64") + index * rows_per_batch
        return pd.DataFrame(columns)

    with writer_for("parquet")(tmp_path / "warm-up.parquet") as writer:  # imports, caches
        for index in range(200):
            writer.write(batch(index))
    tracemalloc.start()
    try:
        held = [batch(index) for index in range(200)]
        per_batch_bytes = tracemalloc.get_traced_memory()[0] / len(held)
        del held
        tracemalloc.reset_peak()
        baseline_bytes = tracemalloc.get_traced_memory()[0]
        with writer_for("parquet")(tmp_path / "small.parquet") as writer:
            for index in range(n_batches):
                writer.write(batch(index))
        peak_bytes = tracemalloc.get_traced_memory()[1] - baseline_bytes
    finally:
        tracemalloc.stop()

    assert n_batches * rows_per_batch < ParquetWriter.row_group_rows  # all in one row group
    metadata = pq.ParquetFile(tmp_path / "small.parquet").metadata
    assert metadata.num_rows == n_batches * rows_per_batch
    assert metadata.num_row_groups == 1
    table = pq.read_table(tmp_path / "small.parquet", columns=["objectId", "flux_3"])
    np.testing.assert_array_equal(
        table["objectId"].to_numpy(), np.arange(n_batches * rows_per_batch)
    )
    np.testing.assert_allclose(
        table["flux_3"].to_numpy(), np.concatenate([values[:, 3] + i for i in range(n_batches)])
    )
    # The pending rows themselves (numpy buffers under the Arrow tables) are held until
    # the row group is written; holding every pandas batch as well would take
    # n_batches x per_batch_bytes, ~8x more here.
    data_bytes = n_batches * rows_per_batch * (n_columns + 1) * 8
    assert n_batches * per_batch_bytes > 5 * data_bytes
    # At most a conversion's worth of batches waits, plus its concatenated copy.
    assert peak_bytes < data_bytes + 6 * ParquetWriter.convert_batches * per_batch_bytes, (
        peak_bytes, data_bytes, per_batch_bytes)


def make_other_dtypes_batch() -> pd.DataFrame:
    """Less common dtypes: nullable bool/uint/float, small ints, more pyarrow types."""
    return pd.DataFrame(
        {
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "n_exposures": pd.array([3, None, 255, 0], dtype="UInt8"),
            "visit": np.array([1, 2, 4_000_000_000, 7], dtype="uint32"),
            "tiny": np.array([-128, 0, 5, 127], dtype="int8"),
            "z_err": pd.array([0.5, None, 0.25, 1.0], dtype="Float64"),
            "pa_flag": pd.array([None, True, False, True], dtype="bool[pyarrow]"),
            "pa_mag": pd.array([21.5, 22.25, None, 23.0], dtype="float[pyarrow]"),
            "pa_tract": pd.array([1, None, 3, 4], dtype="int32[pyarrow]"),
            "pa_name": pd.array(["a", "bb", None, "dddd"], dtype=pd.ArrowDtype(pa.large_string())),
        }
    )


def test_fits_stores_other_dtypes_with_documented_null_handling(tmp_path):
    batch = make_other_dtypes_batch()
    path = write_product("fits", tmp_path, batches=[batch], string_widths={})

    with fits.open(path) as hdul:
        hdul.verify("exception")
        columns = hdul["TRAINING_SET"].columns
        formats = {column.name: column.format for column in columns}
        assert formats == {
            "flag": "L",
            "n_exposures": "I",  # nullable uint8 is widened, so 255 stays a value
            "visit": "K",
            "tiny": "I",
            "z_err": "D",
            "pa_flag": "L",
            "pa_mag": "E",
            "pa_tract": "J",
            "pa_name": "4A",
        }
        nulls = {column.name: column.null for column in columns}
        assert nulls["n_exposures"] == -32768
        assert nulls["pa_tract"] == np.iinfo(np.int32).min
        assert nulls["tiny"] is None and nulls["visit"] is None
        data_offset_bytes = hdul.fileinfo(1)["datLoc"]
        row_bytes = hdul["TRAINING_SET"].header["NAXIS1"]
    # "flag" is the first field of each row: T, FITS null byte, F, T.
    raw = np.frombuffer(path.read_bytes(), dtype="u1", offset=data_offset_bytes)
    assert raw[: 4 * row_bytes : row_bytes].tobytes() == b"T\0FT"
    with warnings.catch_warnings():
        # astropy >= 8 warns that it reads the null byte as False.
        warnings.filterwarnings("ignore", "Column .* contains NULL", AstropyUserWarning)
        table = Table.read(path, hdu="TRAINING_SET")
    # A missing nullable bool is the FITS null byte, which astropy reads as False.
    assert table["flag"].tolist() == [True, False, False, True]
    assert table["pa_flag"].tolist() == [False, True, False, True]
    assert canonical(np.ma.asarray(table["visit"]).tolist()) == [1, 2, 4_000_000_000, 7]
    assert canonical(np.ma.asarray(table["tiny"]).tolist()) == [-128, 0, 5, 127]
    assert canonical(np.ma.asarray(table["n_exposures"]).tolist()) == [3, None, 255, 0]
    assert canonical(np.ma.asarray(table["z_err"]).tolist()) == [0.5, None, 0.25, 1.0]
    assert canonical(np.ma.asarray(table["pa_mag"]).tolist()) == [21.5, 22.25, None, 23.0]
    assert canonical(np.ma.asarray(table["pa_tract"]).tolist()) == [1, None, 3, 4]
    assert canonical(np.ma.asarray(table["pa_name"]).tolist()) == ["a", "bb", None, "dddd"]


def test_hdf5_stores_other_dtypes_with_masks(tmp_path):
    path = write_product("hdf5", tmp_path, batches=[make_other_dtypes_batch()], string_widths={},
                         layout="table")

    with h5py.File(path, "r") as handle:
        dtype = handle["training_set"].dtype
        assert dtype["n_exposures"] == np.uint8 and dtype["visit"] == np.uint32
        assert dtype["tiny"] == np.int8 and dtype["pa_name"] == np.dtype("S4")
        raw = handle["training_set"][()]
    # Missing values hold an implausible value; the mask field is authoritative.
    assert raw["n_exposures"].tolist() == [3, 255, 255, 0]
    assert raw["n_exposures.mask"].tolist() == [False, True, False, False]
    assert raw["pa_tract"].tolist() == [1, np.iinfo(np.int32).min, 3, 4]
    table = Table.read(path, path="training_set")
    assert canonical(np.ma.asarray(table["flag"]).tolist()) == [True, None, False, True]
    assert canonical(np.ma.asarray(table["pa_flag"]).tolist()) == [None, True, False, True]
    assert canonical(np.ma.asarray(table["n_exposures"]).tolist()) == [3, None, 255, 0]
    assert canonical(np.ma.asarray(table["pa_tract"]).tolist()) == [1, None, 3, 4]
    assert canonical(np.ma.asarray(table["z_err"]).tolist()) == [0.5, None, 0.25, 1.0]
    assert canonical(np.ma.asarray(table["pa_name"]).tolist()) == ["a", "bb", None, "dddd"]


@pytest.mark.parametrize("format_name", ["parquet", "csv"])
def test_parquet_and_csv_store_other_dtypes(tmp_path, format_name):
    batch = make_other_dtypes_batch()
    path = write_product(format_name, tmp_path, batches=[batch])

    frame = pd.read_parquet(path) if format_name == "parquet" else pd.read_csv(path)
    for name in batch.columns:
        assert canonical(frame[name].tolist()) == canonical(batch[name].tolist()), name


@pytest.mark.parametrize("format_name", ["fits", "hdf5"])
def test_fixed_layout_formats_refuse_unsupported_dtypes_at_first_batch(tmp_path, format_name):
    batch = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(InputError, match=(
        rf"^column 'when' has type datetime64\[\w+\], which {format_name} cannot hold; choose "
        r"one of the formats that can \(parquet, hats, csv\), or drop the column$")):
        write_product(format_name, tmp_path, batches=[batch])
    assert list(tmp_path.iterdir()) == []


def test_parquet_dictionary_encodes_text_columns_only(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "objectId": np.arange(5000, dtype="int64"),
        "flux_g": rng.normal(1000.0, 100.0, 5000),
        "survey": pd.array(rng.choice(["DESI", "2dFLenS"], 5000), dtype="str"),
    })
    path = write_product("parquet", tmp_path, batches=[frame])

    row_group = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {row_group.column(i).path_in_schema: set(row_group.column(i).encodings)
                 for i in range(row_group.num_columns)}
    assert "RLE_DICTIONARY" in encodings["survey"]
    assert not encodings["flux_g"] & {"RLE_DICTIONARY", "PLAIN_DICTIONARY"}
    assert not encodings["objectId"] & {"RLE_DICTIONARY", "PLAIN_DICTIONARY"}
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def _partition_rows(ra: list[float], dec: list[float], z: list[float]) -> pd.DataFrame:
    from tsmaker.matching.healpix import healpix29

    frame = pd.DataFrame({"ra": ra, "dec": dec, "z": z})
    return frame.set_axis(pd.Index(healpix29(ra, dec), name="_healpix_29"), axis=0)


def test_hats_writer_writes_one_file_per_partition_that_lsdb_reads(tmp_path):
    import lsdb

    from tsmaker.matching.healpix import healpix29

    first = _partition_rows([10.0, 10.01], [0.0, 0.01], [0.1, 0.2])
    second = _partition_rows([200.0], [30.0], [0.3])
    pixels = [(2, int(healpix29([10.0], [0.0])[0] >> 54)),
              (2, int(healpix29([200.0], [30.0])[0] >> 54))]
    final_path = tmp_path / "product.hats"
    with HatsCatalogWriter(final_path, ra_column="ra", dec_column="dec",
                           units={"ra": "deg"}, metadata=PARAMETERS) as writer:
        writer.write(first, [pixels[0]])
        writer.write(second.iloc[:0], [(2, 0)])  # a partition without matches: no file
        writer.write(second, [pixels[1]])
        assert not final_path.exists()
    assert sorted(p.name for p in final_path.rglob("Npix=*.parquet")) == sorted(
        f"Npix={pixel}.parquet" for _, pixel in pixels)
    catalog = lsdb.open_catalog(final_path)
    assert sorted(catalog.compute(progress_bar=False)["z"].tolist()) == [0.1, 0.2, 0.3]
    assert [p.name for p in tmp_path.iterdir()] == ["product.hats"]


def test_hats_writer_needs_coordinates_and_one_partition_per_batch(tmp_path):
    rows = _partition_rows([10.0], [0.0], [0.1])
    with pytest.raises(InputError, match="coordinate columns"):
        with HatsCatalogWriter(tmp_path / "a.hats") as writer:
            writer.write(rows, [(2, 0)])
    with pytest.raises(InputError, match="one partition at a time"):
        with HatsCatalogWriter(tmp_path / "b.hats", ra_column="ra", dec_column="dec") as writer:
            writer.write(rows, [(2, 0), (2, 1)])
    with pytest.raises(InputError, match="empty training set cannot be written as HATS"):
        with HatsCatalogWriter(tmp_path / "c.hats", ra_column="ra", dec_column="dec") as writer:
            writer.write(rows.iloc[:0])
    assert list(tmp_path.iterdir()) == []
