"""Tests of the DP1-shaped mock catalogs and the built-in demo data."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import PROJECT_ROOT

from tsmaker.demo.builtin import ensure_demo_data
from tsmaker.demo.mock import mock_object_dtypes, mock_object_frame
from tsmaker.demo.mock_hats import write_object_collection
from tsmaker.demo.mock_sky import DP1_FIELDS
from tsmaker.demo.mock_specz import mock_specz_frame
from tsmaker.inputs.profiles import BANDS
from tsmaker.science.photometry import AB_ZERO_POINT_NJY

DP1_SCHEMA_PATH = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "dp1_object_collection"
    / "object_lc"
    / "dataset"
    / "_common_metadata"
)
# Fields at RA ~ 6 deg / Dec -72 deg and near the equator exercise the spherical geometry.
TEST_FIELDS = {name: DP1_FIELDS[name] for name in ("47_Tuc", "ECDFS", "Rubin_SV_38_7")}


@pytest.fixture(scope="module")
def objects() -> pd.DataFrame:
    return mock_object_frame(20_000, seed=7, fields=TEST_FIELDS, field_radius_deg=0.6)


@pytest.fixture(scope="module")
def dp1_schema() -> pa.Schema:
    return pq.read_schema(DP1_SCHEMA_PATH)


def _angular_matches(specz: pd.DataFrame, objects: pd.DataFrame, nth: int = 1) -> np.ndarray:
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    object_coords = SkyCoord(
        objects["coord_ra"].to_numpy() * u.deg, objects["coord_dec"].to_numpy() * u.deg
    )
    specz_coords = SkyCoord(specz["ra"].to_numpy() * u.deg, specz["dec"].to_numpy() * u.deg)
    _, separation, _ = specz_coords.match_to_catalog_sky(object_coords, nthneighbor=nth)
    return separation.arcsec


@pytest.mark.parametrize("extra_columns", [False, True])
def test_object_dtypes_equal_real_dp1_schema(dp1_schema: pa.Schema, extra_columns: bool) -> None:
    frame = mock_object_frame(500, seed=1, extra_columns=extra_columns)
    assert list(frame.columns) == list(mock_object_dtypes(extra_columns=extra_columns))
    generated = pa.Schema.from_pandas(frame, preserve_index=False)
    for field in generated:
        assert field.name in dp1_schema.names, field.name
        assert field.type == dp1_schema.field(field.name).type, field.name
    if extra_columns:
        assert 90 <= frame.shape[1] <= 120
    else:
        for band in BANDS:
            for flux_type in ("cModel", "gaap1p0", "psf"):
                assert f"{band}_{flux_type}Flux" in frame
                assert f"{band}_{flux_type}FluxErr" in frame


def test_object_ids_unique_and_positions_valid(objects: pd.DataFrame) -> None:
    assert objects["objectId"].is_unique
    assert objects["coord_ra"].between(0.0, 360.0, inclusive="left").all()
    assert objects["coord_dec"].between(-90.0, 90.0).all()
    # 47 Tuc sits at Dec -72: a flat (RA, Dec) disc would spill far beyond the radius.
    centre_ra, centre_dec = np.radians(DP1_FIELDS["47_Tuc"])
    ra, dec = np.radians(objects["coord_ra"]), np.radians(objects["coord_dec"])
    cos_distance = np.sin(dec) * np.sin(centre_dec) + np.cos(dec) * np.cos(centre_dec) * np.cos(
        ra - centre_ra
    )
    near_tuc = np.degrees(np.arccos(np.clip(cos_distance, -1, 1))) < 5
    assert near_tuc.sum() > 5_000
    assert np.degrees(np.arccos(np.clip(cos_distance[near_tuc], -1, 1))).max() <= 0.6 + 1e-6


def test_field_across_ra_zero_wraps_into_range() -> None:
    frame = mock_object_frame(3_000, seed=3, fields={"edge": (0.2, -30.0)}, field_radius_deg=1.0)
    ra = frame["coord_ra"]
    assert ra.between(0.0, 360.0, inclusive="left").all()
    assert (ra > 358.0).any() and (ra < 2.0).any()


def test_same_seed_same_frame_other_seed_differs() -> None:
    first = mock_object_frame(2_000, seed=11, extra_columns=True)
    again = mock_object_frame(2_000, seed=11, extra_columns=True)
    pd.testing.assert_frame_equal(first, again)
    other = mock_object_frame(2_000, seed=12, extra_columns=True)
    assert not np.array_equal(first["coord_ra"], other["coord_ra"])


def test_photometry_looks_like_dp1(objects: pd.DataFrame) -> None:
    flux = objects["r_cModelFlux"]
    magnitude = AB_ZERO_POINT_NJY - 2.5 * np.log10(flux[flux > 0])
    assert 21.0 < magnitude.median() < 25.0
    # DP1 has a few percent of negative and of missing fluxes.
    assert 0.005 < (flux <= 0).mean() < 0.08
    assert 0.01 < flux.isna().mean() < 0.10
    errors = objects["r_cModelFluxErr"]
    assert (errors.dropna() > 0).all()
    # Errors grow with flux (Poisson term) and colours correlate between bands.
    bright = flux > flux.quantile(0.95)
    faint = flux < flux.quantile(0.5)
    assert errors[bright].median() > errors[faint].median()
    both = (objects["g_cModelFlux"] > 0) & (flux > 0)
    assert np.corrcoef(np.log10(objects["g_cModelFlux"][both]), np.log10(flux[both]))[0, 1] > 0.9
    # PSF fluxes of galaxies are lower than their total fluxes.
    galaxy = (objects["refExtendedness"] == 1) & (flux > 2_000)
    assert (objects["r_psfFlux"][galaxy] < flux[galaxy]).mean() > 0.8
    assert objects["ebv"].between(0.005, 0.3).all()


def test_specz_matches_blends_and_empties(objects: pd.DataFrame) -> None:
    specz = mock_specz_frame(
        objects, n_rows=2_000, seed=5, matched_fraction=0.7, blend_fraction=0.05
    )
    assert specz["specz_id"].is_unique
    assert list(specz.columns) == ["specz_id", "ra", "dec", "z", "z_err", "z_flag", "survey"]
    nearest = _angular_matches(specz, objects)
    matched = nearest < 3.0
    assert abs(matched.mean() - 0.7) < 0.01
    # The rows without counterpart have nothing within 5 arcsec.
    assert (nearest[~matched] > 5.0).all()
    second = _angular_matches(specz, objects, nth=2)
    assert (second < 3.0).sum() >= 0.05 * len(specz)
    assert specz["z"].between(0.01, 3.0).all()
    assert set(specz["z_flag"]) <= {1, 2, 3, 4}
    assert (specz["z_flag"] >= 3).mean() > 0.7


def test_specz_sentinels_and_column_names(objects: pd.DataFrame) -> None:
    specz = mock_specz_frame(
        objects, n_rows=3_000, seed=6, with_sentinels=True, ra_column="RA", dec_column="DEC"
    )
    assert {"RA", "DEC"} <= set(specz.columns)
    assert (specz["z"] == -1).sum() > 0 and (specz["z"] == 99).sum() > 0
    again = mock_specz_frame(
        objects, n_rows=3_000, seed=6, with_sentinels=True, ra_column="RA", dec_column="DEC"
    )
    pd.testing.assert_frame_equal(specz, again)


def test_specz_rejects_blends_beyond_matches(objects: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="blend_fraction"):
        mock_specz_frame(objects, n_rows=10, seed=1, matched_fraction=0.1, blend_fraction=0.2)


@pytest.mark.slow
def test_write_object_collection_round_trip(objects: pd.DataFrame, tmp_path: Path) -> None:
    import lsdb

    path = write_object_collection(
        objects, tmp_path / "collection", highest_order=8, partition_rows=3_000
    )
    catalog = lsdb.open_catalog(path, columns=["objectId", "r_cModelFlux", "ebv"])
    assert catalog.hc_structure.catalog_name == "object_lc"
    assert len(catalog.get_healpix_pixels()) > 1
    loaded = catalog.compute()
    assert len(loaded) == len(objects)
    assert sorted(loaded["objectId"].to_numpy()) == sorted(objects["objectId"].to_numpy())
    assert catalog.margin is not None
    assert catalog.margin.hc_structure.catalog_info.margin_threshold == 5.0
    assert catalog.margin.hc_structure.catalog_info.total_rows > 0
    assert (path / "object_lc_5arcs").is_dir()
    written = pq.read_schema(path / "object_lc" / "dataset" / "_common_metadata")
    assert written.field("r_cModelFlux").type == pa.float32()
    with pytest.raises(FileExistsError):
        write_object_collection(objects, path)


@pytest.mark.slow
def test_ensure_demo_data_is_idempotent_and_atomic(tmp_path: Path) -> None:
    import lsdb

    demo_dir = tmp_path / "demo"
    collection, redshifts = ensure_demo_data(demo_dir)
    catalog = lsdb.open_catalog(collection)
    assert 20_000 <= catalog.hc_structure.catalog_info.total_rows <= 30_000
    assert catalog.margin.hc_structure.catalog_info.margin_threshold == 5.0
    specz = pd.read_parquet(redshifts)
    assert 2_000 <= len(specz) <= 3_000
    # No staging folder is left behind.
    assert sorted(p.name for p in demo_dir.iterdir()) == [
        "demo_object_collection",
        "demo_specz.parquet",
        "demo_version.txt",
    ]

    mtimes = {p: p.stat().st_mtime_ns for p in (collection, redshifts)}
    assert ensure_demo_data(demo_dir) == (collection, redshifts)
    assert {p: p.stat().st_mtime_ns for p in (collection, redshifts)} == mtimes

    # An older generator version (or an interrupted run without marker) is rebuilt.
    (demo_dir / "demo_version.txt").write_text("0\n")
    ensure_demo_data(demo_dir)
    assert redshifts.stat().st_mtime_ns != mtimes[redshifts]
    assert (demo_dir / "demo_version.txt").read_text().strip() != "0"
    pd.testing.assert_frame_equal(pd.read_parquet(redshifts), specz)


@pytest.mark.slow
def test_ensure_demo_data_defaults_to_settings_demo_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TSMAKER_HOME", str(tmp_path))
    collection, redshifts = ensure_demo_data()
    assert collection.parent == tmp_path / "demo"
    assert redshifts.is_file()
