"""Preflight: every problem a run would meet before reading spec-z rows, by parameter."""

import pytest
from conftest import DP1_COLLECTION, SAMPLES

from tsmaker.errors import CatalogError, DustMapError, ParameterError
from tsmaker.parameters import RunParameters
from tsmaker.run.preflight import preflight_run

TWODF = SAMPLES / "2dflens_final_release_random_sample.parquet"


@pytest.fixture
def catalogs(registry):
    registry.add_catalog(kind="object", name="dp1", location=str(DP1_COLLECTION), profile="dp1")
    registry.add_catalog(kind="redshift", name="twodf", location=str(TWODF))
    return registry


def check(registry, **changes):
    values = {"name": "t", "redshift_catalog": "twodf", "object_catalog": "dp1", **changes}
    return preflight_run(RunParameters(**values), registry)


def test_a_runnable_run_says_what_it_would_use(catalogs):
    found = check(catalogs, dust="catalog", unique="closest", where="qual >= 3")
    assert found.ok and found.problems == {}
    assert (found.flux_type, found.bands) == ("cModel", ("u", "g", "r", "i", "z", "y"))
    assert found.redshift_columns == {"ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual",
                                      "id": "unique_id"}


def test_every_problem_is_found_and_placed_by_parameter(catalogs):
    found = check(catalogs, radius_arcsec=6.0, n_neighbors=0, flux_type="nope",
                  dust="planck", where="quality > 2", output_format="xls")
    # The radius beyond DP1's 5 arcsec margin stops the object checks that follow it.
    assert set(found.problems) == {"n_neighbors", "output_format", "radius_arcsec", "where"}
    margin = found.problems["radius_arcsec"]
    assert isinstance(margin, ParameterError)
    assert margin.message("cli").startswith("--radius 6.0 arcsec is larger than the object "
                                            "catalog's margin (5 arcsec)")
    assert "'quality'" in str(found.problems["where"])
    assert not found.ok
    with pytest.raises(ParameterError, match="n_neighbors 0"):
        found.raise_first()


def test_catalog_problems_are_placed_beside_their_field(catalogs):
    found = check(catalogs, flux_type="nope", dust="planck")
    assert set(found.problems) == {"flux_type"}  # the dust map is checked after it
    assert "flux type 'nope' is not in object catalog" in str(found.problems["flux_type"])

    found = check(catalogs, dust="planck")
    assert isinstance(found.problems["dust"], DustMapError)
    assert "tsmaker dust fetch planck" in str(found.problems["dust"])

    found = check(catalogs, redshift_catalog="nowhere", object_catalog="nothing")
    assert set(found.problems) == {"redshift_catalog", "object_catalog"}
    assert isinstance(found.problems["object_catalog"], CatalogError)
    assert str(found.problems["redshift_catalog"]).startswith(
        "redshift catalog 'nowhere' is neither a registered name (twodf)")


def test_redshift_columns_come_from_the_header_only(catalogs, tmp_path):
    ambiguous = tmp_path / "both.csv"
    ambiguous.write_text("ra,dec,z,Z\n1,2,0.5,0.6\n")
    found = check(catalogs, redshift_catalog=str(ambiguous))
    assert set(found.problems) == {"z_column"}
    assert found.problems["z_column"].message("cli") == (
        "several columns could be the z column (z, Z, each the plain name); choose one with "
        "--z COLUMN")
    assert check(catalogs, redshift_catalog=str(ambiguous), z_column="Z").ok

    # Rows that do not parse are the run's to find (it reads them); the header is fine.
    broken = tmp_path / "broken.csv"
    broken.write_text("ra,dec,z\nnot,a,number\n")
    assert check(catalogs, redshift_catalog=str(broken)).ok


def test_empty_catalog_references_are_problems_of_their_own(catalogs):
    found = check(catalogs, redshift_catalog="", object_catalog=" ")
    assert found.problems["redshift_catalog"].message("cli") == (
        "--redshift is empty; give a registered catalog's name or a path, e.g. "
        "--redshift demo-specz")
    assert found.problems["object_catalog"].message("python").startswith(
        "object_catalog is empty")


def test_preflight_registers_nothing_and_writes_no_file(catalogs, tsmaker_home):
    check(catalogs, radius_arcsec=0)
    check(catalogs)
    assert catalogs.list_products() == []
    assert not (tsmaker_home / "products").exists() or not any(
        (tsmaker_home / "products").iterdir())


def test_an_unwritable_output_folder_is_a_problem(catalogs, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    found = check(catalogs, output_dir=str(blocked / "sub"))
    assert set(found.problems) == {"output_dir"}
    assert "is not writable" in found.problems["output_dir"].message("cli")
