"""Object-catalog profiles and flux-type discovery on the real DP1 schema."""

import pyarrow.parquet as pq
import pytest
from conftest import DP1_COLLECTION

from tsmaker.errors import CatalogError, InputError
from tsmaker.inputs.object_catalog import read_object_catalog_info
from tsmaker.inputs.profiles import discover_flux_types, get_profile

DP1_FLUX_TYPES = [
    "ap03", "ap06", "ap09", "ap12", "ap17", "ap25", "ap35", "ap50", "ap70", "cModel", "calib",
    "free_cModel", "free_psf", "gaap0p7", "gaap1p0", "gaap1p5", "gaap2p5", "gaap3p0",
    "gaapOptimal", "gaapPsf", "kron", "psf", "sersic",
]


def test_flux_types_discovered_on_real_dp1_schema():
    info = read_object_catalog_info(str(DP1_COLLECTION))
    found = discover_flux_types(info.columns)
    assert sorted(found) == sorted(DP1_FLUX_TYPES)
    assert all(bands == ("u", "g", "r", "i", "z", "y") for bands in found.values())
    # independent check straight from the Parquet schema
    names = set(pq.read_schema(DP1_COLLECTION / "object_lc" / "dataset" / "_common_metadata")
                .names)
    for flux_type in found:
        for band in "ugrizy":
            assert f"{band}_{flux_type}Flux" in names and f"{band}_{flux_type}FluxErr" in names


def test_real_dp1_collection_metadata():
    info = read_object_catalog_info(str(DP1_COLLECTION))
    assert (info.ra_column, info.dec_column) == ("coord_ra", "coord_dec")
    assert info.total_rows == 2_299_726
    assert info.margin_threshold_arcsec == 5.0
    assert info.fingerprint["partitions"] == 389
    assert len(info.columns) == 1305


def test_partial_flux_type_needs_both_flux_and_error():
    found = discover_flux_types(["g_xFlux", "g_xFluxErr", "r_xFlux", "i_yFluxErr", "VIS_xFlux",
                                 "VIS_xFluxErr"])
    assert found == {"x": ("g", "VIS")}


def test_not_hats_and_unknown_profile(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="is not a HATS catalog or collection"):
        read_object_catalog_info(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="unknown catalog profile 'dp3'; choose one of: "
                                         "dp1, dp02, lsstcam, generic"):
        get_profile("dp3")
