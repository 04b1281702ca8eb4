"""Reading HATS metadata and partitions with pyarrow alone, checked against hats itself."""

import shutil
from pathlib import Path

import hats
import pytest
from conftest import DP1_COLLECTION
from oracle import oracle_collection

from tsmaker.errors import CatalogError
from tsmaker.inputs.hats_files import HatsLocation, open_object_catalog, read_catalog


def _hats_pixels(catalog) -> list[tuple[int, int]]:
    return sorted((p.order, p.pixel) for p in catalog.get_healpix_pixels())


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return oracle_collection(tmp_path_factory, 400)


def test_real_dp1_metadata_reads_as_hats_reads_it():
    files = open_object_catalog(str(DP1_COLLECTION))
    loaded = hats.read_hats(DP1_COLLECTION)

    assert sorted(files.main.pixels) == _hats_pixels(loaded.main_catalog)
    assert len(files.main.pixels) == 389
    assert files.main.total_rows == loaded.main_catalog.catalog_info.total_rows == 2_299_726
    assert (files.main.ra_column, files.main.dec_column) == ("coord_ra", "coord_dec")
    assert files.margin.margin_threshold_arcsec == 5.0
    assert sorted(files.margin.pixels) == _hats_pixels(
        hats.read_hats(loaded.default_margin_catalog_dir))
    schema = files.main.schema()
    assert schema.names == loaded.main_catalog.schema.names
    assert len(schema.names) == 1305
    # The escaped colon of the Java properties file is read as hats reads it.
    assert files.main.properties["hats_creation_date"] == "2025-06-25T15:14UTC"


def test_pixels_are_in_sky_order_and_files_exist(collection):
    files = open_object_catalog(str(collection))
    starts = [pixel << (2 * (29 - order)) for order, pixel in files.main.pixels]
    assert starts == sorted(starts)
    loaded = hats.read_hats(collection)
    assert sorted(files.main.pixels) == _hats_pixels(loaded.main_catalog)
    assert len({order for order, _ in files.main.pixels}) > 1  # mixed orders exercised
    for order, pixel in files.main.pixels:
        path = Path(files.main.pixel_file(order, pixel).path)
        assert path.is_file(), path
        assert path.parent.name == f"Dir={pixel // 10000 * 10000}"


def test_partition_list_falls_back_to_parquet_metadata(collection, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(collection, copy)
    expected = open_object_catalog(str(copy)).main.pixels
    (copy / "object_lc" / "partition_info.csv").unlink()

    assert open_object_catalog(str(copy)).main.pixels == expected


def test_catalog_with_no_partition_list_is_one_clear_error(collection, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(collection / "object_lc", copy)
    (copy / "partition_info.csv").unlink()
    (copy / "dataset" / "_metadata").unlink()

    with pytest.raises(CatalogError, match="neither partition_info.csv nor dataset/_metadata"):
        read_catalog(HatsLocation.of(str(copy)))


def test_bare_catalog_without_collection_has_no_margin(collection):
    files = open_object_catalog(str(collection / "object_lc"))
    assert files.margin is None
    assert files.main.pixels


def test_relative_url_paths_resolve_like_hats():
    location = HatsLocation.of("https://example.org/hats/dp1/object_lc")
    assert location.join("..", "object_lc_5arcs").describe() == (
        "https://example.org/hats/dp1/object_lc_5arcs")
    local = HatsLocation.of("file:///data/dp1/object_lc")
    assert local.join("..", "margin").path == "/data/dp1/margin"
    assert local.filesystem is None
    assert location.filesystem is not None
