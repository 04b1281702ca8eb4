"""The pages that change the registry, through the app in-process: each form's happy path and
its problems beside the fields (real DP1 Object metadata, a real 2dFLenS sample)."""

import re

import pytest
from conftest import DP1_COLLECTION, SAMPLES
from starlette.testclient import TestClient
from web_helpers import field_error

from tsmaker.errors import ParameterError
from tsmaker.web.app import create_app
from tsmaker.web.config import ServerConfig
from tsmaker.web.forms import parse_text


@pytest.fixture
def client(registry, tsmaker_home):
    with TestClient(create_app(ServerConfig(home=tsmaker_home)),
                    base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        yield client


def done_product(registry, folder, name="made"):
    folder.mkdir(exist_ok=True)
    data, sidecar = folder / f"{name}.csv", folder / f"{name}.json"
    data.write_text("a\n1\n")
    sidecar.write_text("{}")
    product = registry.create_product(name=name, description="", parameters={}, inputs={},
                                      versions={})
    with registry.finishing(product.id) as done:
        done(rows=1, files=[str(data), str(sidecar)], summary={"matched_fraction": 0.5})
    return registry.get_product(product.id)


def test_an_object_catalog_is_registered_by_path_with_problems_beside_the_fields(
        client, registry, tmp_path):
    form = {"name": "dp1", "location": str(tmp_path / "nowhere"), "profile": "dp1"}
    refused = client.post("/catalogs/object", data=form)
    assert refused.status_code == 422
    assert field_error(refused.text, "location") == (
        f"object catalog path '{tmp_path / 'nowhere'}' does not exist; check it")
    assert f'value="{tmp_path / "nowhere"}"' in refused.text  # the values are kept
    added = client.post("/catalogs/object", data={**form, "location": str(DP1_COLLECTION)})
    assert (added.status_code, added.headers["location"]) == (303, "/catalogs?added=dp1")
    record = registry.get_catalog("dp1")
    assert (record.kind, record.profile, record.location) == ("object", "dp1",
                                                              str(DP1_COLLECTION))
    taken = client.post("/catalogs/object", data={**form, "location": str(DP1_COLLECTION)})
    assert field_error(taken.text, "object_name").startswith("catalog 'dp1' already exists")
    page = client.get("/catalogs?added=dp1").text
    assert "Registered catalog &#39;dp1&#39;." in page
    assert re.search(r'<tr id="catalog-dp1">.*?<td data-field="reachable">yes</td>', page,
                     flags=re.DOTALL)


def test_a_catalog_is_removed_after_a_confirmation(client, registry):
    registry.add_catalog(kind="redshift", name="twodf",
                         location=str(SAMPLES / "2dflens_final_release_random_sample.parquet"))
    asked = client.get("/catalogs/twodf/remove")
    assert asked.status_code == 200 and 'id="confirm-remove"' in asked.text
    assert registry.find_catalog("twodf") is not None  # asking removes nothing
    removed = client.post("/catalogs/twodf/remove")
    assert (removed.status_code, removed.headers["location"]) == (303,
                                                                  "/catalogs?removed=twodf")
    assert registry.find_catalog("twodf") is None
    assert client.get("/catalogs/twodf/remove").status_code == 404
    assert client.post("/catalogs/demo/remove").status_code == 422  # built in, not registered


def test_a_product_is_deleted_with_its_files_after_a_confirmation(client, registry, tmp_path):
    product = done_product(registry, tmp_path / "products")
    asked = client.get(f"/products/{product.id}/delete")
    assert "made.csv" in asked.text and "made.json" in asked.text
    assert registry.get_product(product.id).status == "done"
    deleted = client.post(f"/products/{product.id}/delete")
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/products")
    assert registry.find_product(product.id) is None
    assert list((tmp_path / "products").iterdir()) == []
    assert client.post(f"/products/{product.id}/delete").status_code == 404


def test_the_pages_show_products_and_refuse_what_does_not_apply(client, registry, tmp_path):
    product = done_product(registry, tmp_path / "products")
    listed = client.get("/products").text
    assert f'<a href="/products/{product.id}">made_{product.id}</a>' in listed
    assert "50.0%" in listed and 'data-live="no"' in listed  # nothing running: polled slowly
    page = client.get(f"/products/{product.id}").text
    assert f'href="/api/products/{product.id}/files/0" download>made.csv</a>' in page
    refused = client.post(f"/products/{product.id}/cancel")
    assert refused.status_code == 409
    assert re.search(r"made_\d+ is done; only a queued or running product can be cancelled",
                     refused.text)
    assert client.get("/").headers["location"] == "/products"


def test_dust_maps_say_where_they_were_looked_for_and_how_to_get_them(client):
    maps = client.get("/api/dust").json()
    assert [entry["map"] for entry in maps] == ["sfd", "csfd", "planck", "planck-gnilc"]
    assert all(not entry["found"] for entry in maps)
    assert maps[0]["hint"] == "tsmaker dust fetch sfd"
    assert any(line.startswith("TSMAKER_HOME: ") for line in maps[0]["searched"])


def test_text_from_a_form_becomes_values_with_the_command_lines_words():
    assert parse_text("radius_arcsec", "2") == 2.0
    assert parse_text("seed", " 7 ") == 7
    assert parse_text("keep_sentinels", "on") is True
    assert parse_text("extinction_coeffs", "u=4.8, g=3.6") == {"u": 4.8, "g": 3.6}
    assert parse_text("where", " z > 1 ") == "z > 1"
    assert parse_text("z_min", "") is None and parse_text("name", "  ") == ""
    for parameter, text, message in [
        ("radius_arcsec", "one", "--radius 'one' is not a number; use e.g. --radius 1.0"),
        ("n_neighbors", "2.5", "--neighbors '2.5' is not a whole number; use e.g. --neighbors 1"),
        ("magnitudes", "maybe", "--mag 'maybe' is not one of: yes, no"),
        ("extinction_coeffs", "u4.8", "--extinction-coeffs: cannot read 'u4.8'; write "
         "band=value pairs, e.g. u=4.81,g=3.64,r=2.70"),
    ]:
        with pytest.raises(ParameterError) as raised:
            parse_text(parameter, text)
        assert (raised.value.parameter, raised.value.message("cli")) == (parameter, message)


def test_a_queued_run_whose_job_started_shows_as_starting(client, registry):
    # Queued by another server sharing the registry: waiting in that server's queue.
    waiting = registry.create_product(name="elsewhere", description="", parameters={},
                                      inputs={}, versions={}, status="queued")
    assert 'data-field="status">queued</span>' in client.get("/products").text
    page = client.get(f"/products/{waiting.id}").text
    assert 'id="product-status" data-field="status">queued</span>' in page

    # Its job has started: it is planning, and records its steps.
    product = registry.create_product(name="planning", description="", parameters={},
                                      inputs={}, versions={}, status="queued")
    registry.update_product_summary(product.id, {"progress": {
        "step": "Reading the redshift catalog"}})
    listed = client.get("/products").text
    assert 'data-field="status">starting</span>' in listed
    assert "Reading the redshift catalog" in listed
    page = client.get(f"/products/{product.id}").text
    assert 'id="product-status" data-field="status">starting</span>' in page
