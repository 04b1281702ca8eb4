"""Redshift catalogs: reading every format, column detection, cleaning and its counts."""

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

from tsmaker.errors import InputError, ParameterError
from tsmaker.formats.tables import read_table
from tsmaker.inputs.cleaning import clean_redshift_catalog, load_redshift_catalog
from tsmaker.inputs.redshift import RedshiftCatalog, detect_columns


def test_detects_real_2dflens_columns():
    frame = read_table(SAMPLES / "2dflens_final_release_random_sample.parquet")
    assert "__index_level_0__" not in frame.columns
    assert detect_columns(list(frame.columns), {}) == {
        "ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual", "id": "unique_id",
    }


def test_detects_real_ozdes_columns():
    frame = read_table(SAMPLES / "ozdes_dr2_random_sample.parquet")
    assert detect_columns(list(frame.columns), {}) == {
        "ra": "Alpha_J2000", "dec": "Delta_J2000", "z": "z", "z_flag": "qop", "id": "OzDES_ID",
    }


def test_ozdes_sentinels_are_dropped_and_counted():
    catalog = load_redshift_catalog(SAMPLES / "ozdes_dr2_random_sample.parquet", {})
    raw = pd.read_parquet(SAMPLES / "ozdes_dr2_random_sample.parquet")["z"]
    expected_dropped = int((raw.isna() | (raw <= -0.5) | (raw >= 99)).sum())
    assert expected_dropped > 0  # the real sample has -9.999 entries
    assert catalog.report["dropped_missing_redshift"] == expected_dropped
    assert len(catalog.frame) == len(raw) - expected_dropped
    assert catalog.key_column == "OzDES_ID"


def test_ambiguous_and_missing_columns_name_the_fix():
    # Two columns whose names differ only by case are two candidates of equal standing.
    with pytest.raises(ParameterError) as raised:
        detect_columns(["ra", "dec", "z", "Z"], {})
    assert raised.value.message("cli") == (
        "several columns could be the z column (z, Z, each the plain name); choose one with "
        "--z COLUMN")
    assert str(raised.value).endswith("choose one with z_column=COLUMN")
    # RA_deg has no Dec partner: the ra/dec pair is the only one.
    assert detect_columns(["ra", "RA_deg", "dec", "z"], {})["ra"] == "ra"
    with pytest.raises(ParameterError) as raised:
        detect_columns(["ra", "dec", "mag"], {})
    assert raised.value.message("cli") == (
        "no z column found among: ra, dec, mag; name it with --z COLUMN")
    with pytest.raises(ParameterError, match=r"z_column 'zz': no such column") as raised:
        detect_columns(["ra", "dec", "z"], {"z": "zz"})
    assert raised.value.message("cli").startswith("--z 'zz': no such column")
    assert detect_columns(["ra", "RA_deg", "dec", "z"], {"ra": "RA_deg"})["ra"] == "RA_deg"


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".fits", ".hdf5"])
def test_every_format_reads_the_same_rows(tmp_path, suffix):
    frame = pd.DataFrame({"RA": [10.0, 20.5, 359.9], "DEC": [-5.0, 0.0, 89.0],
                          "Z_SPEC": [0.1, 0.2, 1.5], "NAME": ["a", "bb", "ccc"]})
    path = tmp_path / f"specz{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".fits":
        from astropy.table import Table

        Table.from_pandas(frame).write(path)
    else:
        import h5py

        records = np.array(list(zip(frame.RA, frame.DEC, frame.Z_SPEC,
                                    frame.NAME.str.encode("ascii"), strict=True)),
                           dtype=[("RA", "f8"), ("DEC", "f8"), ("Z_SPEC", "f8"), ("NAME", "S3")])
        with h5py.File(path, "w") as handle:
            handle["specz"] = records
    read = read_table(path)
    pd.testing.assert_frame_equal(read[frame.columns].reset_index(drop=True), frame,
                                  check_dtype=False)


def _catalog(**columns) -> RedshiftCatalog:
    frame = pd.DataFrame(columns)
    return RedshiftCatalog(frame=frame, roles={"ra": "ra", "dec": "dec", "z": "z"})


def test_cleaning_steps_and_counts():
    catalog = _catalog(
        ra=[-10.0, 370.0, np.nan, 20.0, 30.0, 40.0, 50.0],
        dec=[0.0, 1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        z=[0.5, -1.0, 0.3, 0.2, 99.0, -0.0004, 2.5],
    )
    cleaned = clean_redshift_catalog(catalog, source="t", z_max=2.0)
    assert cleaned.report == {
        "rows_read": 7, "dropped_nan_coordinates": 2, "ra_wrapped_into_0_360": 2,
        "dropped_missing_redshift": 2, "dropped_z_max": 1, "rows_kept": 2,
    }
    assert cleaned.frame["ra"].tolist() == [350.0, 40.0]
    assert cleaned.frame["specz_row"].tolist() == [0, 5]  # row numbers in the file
    assert cleaned.frame["z"].tolist() == [0.5, -0.0004]  # a star's tiny blueshift is kept


@pytest.mark.parametrize("file_has_specz_row", [False, True])
@pytest.mark.parametrize("coord_unit", ["deg", "hour", "rad"])
def test_cleaning_leaves_the_callers_frame_as_it_was(coord_unit, file_has_specz_row):
    ra = {"deg": [-10.0, 370.0, 20.0, 30.0], "hour": [-1.0, 25.0, 2.0, 3.0],
          "rad": [-0.1, 6.5, 0.3, 0.5]}[coord_unit]
    extra = {"specz_row": [9, 8, 7, 6]} if file_has_specz_row else {}
    catalog = _catalog(ra=ra, dec=[0.0, 1.0, np.nan, 0.5], z=[0.5, 0.3, 0.2, -1.0], **extra)
    before = catalog.frame.copy(deep=True)
    cleaned = clean_redshift_catalog(catalog, source="t", coord_unit=coord_unit, z_max=2.0)
    pd.testing.assert_frame_equal(catalog.frame, before)
    assert cleaned.report["ra_wrapped_into_0_360"] == 2
    assert cleaned.frame["specz_row"].tolist() == [0, 1]
    if file_has_specz_row:
        assert cleaned.frame["specz_row_file"].tolist() == [9, 8]
    assert ((cleaned.frame["ra"] >= 0) & (cleaned.frame["ra"] < 360)).all()


def test_cleaning_that_drops_nothing_keeps_every_row_in_order():
    catalog = _catalog(ra=[3.0, 1.0, 2.0], dec=[0.0, 1.0, 2.0], z=[0.1, 0.2, 0.3],
                       q=[4, 4, 4])
    cleaned = clean_redshift_catalog(catalog, source="t", z_min=0.0, z_max=1.0, where="q >= 3")
    assert cleaned.frame["ra"].tolist() == [3.0, 1.0, 2.0]
    assert cleaned.frame["specz_row"].tolist() == [0, 1, 2]
    assert cleaned.frame.index.tolist() == [0, 1, 2]
    assert sum(v for k, v in cleaned.report.items() if k.startswith("dropped_")) == 0


def test_dec_out_of_range_is_refused():
    with pytest.raises(InputError, match=r"dec column 'dec' has 1 values outside \[-90, 90\] "
                                         r"\(e.g. 95.0\)"):
        clean_redshift_catalog(_catalog(ra=[1.0, 2.0], dec=[0.0, 95.0], z=[0.1, 0.2]),
                               source="t")


def test_radians_and_hours_are_detected_and_convertible():
    rng = np.random.default_rng(1)
    radians = _catalog(ra=rng.uniform(0, 6.2, 50), dec=rng.uniform(-1.5, 1.5, 50),
                       z=np.full(50, 0.3))
    with pytest.raises(InputError, match="look like radians"):
        clean_redshift_catalog(radians, source="t")
    converted = clean_redshift_catalog(radians, source="t", coord_unit="rad")
    assert converted.frame["ra"].max() == pytest.approx(np.degrees(radians.frame["ra"].max()))
    hours = _catalog(ra=rng.uniform(0, 23.9, 50), dec=rng.uniform(-60, 10, 50),
                     z=np.full(50, 0.3))
    with pytest.raises(InputError, match="RA looks like hours"):
        clean_redshift_catalog(hours, source="t")
    in_degrees = clean_redshift_catalog(hours, source="t", coord_unit="hour")
    assert np.allclose(in_degrees.frame["ra"], hours.frame["ra"] * 15)
    # a small real field at low RA is not mistaken for hours
    small = _catalog(ra=rng.uniform(5, 7, 50), dec=rng.uniform(-73, -71, 50), z=np.full(50, 1.))
    assert len(clean_redshift_catalog(small, source="t").frame) == 50


def test_duplicated_ids_and_empty_catalog_are_refused():
    catalog = _catalog(ra=[1.0, 2.0], dec=[0.0, 1.0], z=[0.1, 0.2], sid=[7, 7])
    catalog.roles["id"] = "sid"
    with pytest.raises(InputError, match=r"id column 'sid' has 2 rows with repeated ids "
                                         r"\(e.g. 7\)"):
        clean_redshift_catalog(catalog, source="t")
    with pytest.raises(InputError, match="has no rows"):
        clean_redshift_catalog(_catalog(ra=[], dec=[], z=[]), source="empty.csv")


def test_where_and_z_min_are_applied_after_sentinels():
    catalog = _catalog(ra=[1.0, 2.0, 3.0], dec=[0.0, 1.0, 2.0], z=[0.05, 0.5, 1.0],
                       q=[4, 2, 3])
    cleaned = clean_redshift_catalog(catalog, source="t", z_min=0.1, where="q >= 3")
    assert cleaned.frame["z"].tolist() == [1.0]
    assert cleaned.report["dropped_z_min"] == 1 and cleaned.report["dropped_where"] == 1


def test_hats_redshift_catalog_reads_like_a_file(tmp_path, capfd):
    import lsdb

    frame = pd.DataFrame({"ra": [10.0, 20.5, 200.0], "dec": [-5.0, 0.0, 40.0],
                          "z": [0.1, 0.2, 1.5], "specz_id": [3, 1, 2]})
    lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec", margin_threshold=None
                        ).write_catalog(tmp_path / "specz_hats", progress_bar=False)
    capfd.readouterr()
    read = read_table(tmp_path / "specz_hats")
    assert capfd.readouterr().err == ""  # no progress bar
    pd.testing.assert_frame_equal(
        read[frame.columns].sort_values("specz_id").reset_index(drop=True),
        frame.sort_values("specz_id").reset_index(drop=True), check_dtype=False)
