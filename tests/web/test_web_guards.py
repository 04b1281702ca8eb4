"""The server refuses bad input with a clear message or status, registers nothing, loses nothing.

The application is driven in-process through Starlette's test client (its lifespan runs:
the registry is reaped and the job manager started; no run is submitted here), on the
real DP1 Object metadata and a real 2dFLenS sample.
"""

import re
import subprocess
import sys

import pytest
from conftest import DP1_COLLECTION, SAMPLES
from starlette.testclient import TestClient
from web_helpers import field_error

from tsmaker.web.app import create_app
from tsmaker.web.config import ServerConfig

TWODF = SAMPLES / "2dflens_final_release_random_sample.parquet"
LIMIT = 1 << 20
TOKEN = "a-token-of-some-length"


@pytest.fixture
def catalogs(registry):
    registry.add_catalog(kind="object", name="dp1", location=str(DP1_COLLECTION), profile="dp1")
    registry.add_catalog(kind="redshift", name="twodf", location=str(TWODF))
    return registry


@pytest.fixture
def client(catalogs, tsmaker_home):
    config = ServerConfig(home=tsmaker_home, max_upload_bytes=LIMIT)
    with TestClient(create_app(config), base_url="http://127.0.0.1:8000",
                    follow_redirects=False) as client:
        yield client


def form(**changes) -> dict[str, str]:
    values = {"name": "t", "description": "", "redshift_catalog": "twodf",
              "object_catalog": "dp1", "flux_type": "", "dust": "none", "magnitudes": "mag",
              "zero_point": "31.4", "radius_arcsec": "1.0", "n_neighbors": "1",
              "unique": "none", "output_format": "parquet"}
    return {**values, **changes}


def stored_uploads(tsmaker_home):
    folder = tsmaker_home / "server" / "uploads"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_an_invalid_form_shows_each_message_beside_its_field_and_registers_nothing(
        client, catalogs):
    answer = client.post("/runs", data=form(name="", radius_arcsec="abc", n_neighbors="0",
                                            where="quality > 2"))
    assert answer.status_code == 422
    page = answer.text
    assert field_error(page, "name") == (
        "--name is empty; give the product a name, e.g. --name dp1_train")
    assert field_error(page, "radius_arcsec") == (
        "--radius 'abc' is not a number; use e.g. --radius 1.0")
    assert field_error(page, "n_neighbors") == "--neighbors 0 must be a whole number >= 1"
    assert field_error(page, "where").startswith(
        "--where 'quality > 2' names unknown column 'quality'")
    assert 'id="radius_arcsec" name="radius_arcsec" type="text" value="abc"' in page
    assert re.search(r'<details id="advanced"\s+open>', page)  # the filter's error shows
    assert catalogs.list_products() == []

    # Beyond the catalog's margin: the message the command line gives for the same run.
    page = client.post("/runs", data=form(radius_arcsec="6")).text
    assert re.search(r'<details id="advanced"\s*>', page)  # nothing set in there
    page_with_group = client.post("/runs", data=form(radius_arcsec="6", seed="0",
                                                     hdf5_group="training")).text
    assert re.search(r'<details id="advanced"\s+open>', page_with_group)  # a group is set
    assert field_error(page, "radius_arcsec") == (
        "--radius 6.0 arcsec is larger than the object catalog's margin (5 arcsec), which "
        "would lose matches across partition edges; use --radius <= 5 or build a wider margin "
        "with hats-import")
    page = client.post("/runs", data=form(flux_type="nope", dust="sfd")).text
    assert field_error(page, "flux_type").startswith("flux type 'nope' is not in object catalog")
    assert catalogs.list_products() == []


def test_the_form_offers_the_catalogs_flux_types_and_marks_missing_dust_maps(client):
    page = client.get("/runs/new").text
    assert '<option value="twodf"' in page
    page = client.get("/runs/new", params={"like": 99}).text
    assert "There is no product 99" in page
    page = client.post("/runs", data=form(radius_arcsec="x")).text  # re-shown with dp1 chosen
    for flux_type in ("cModel", "gaap0p7", "kron", "free_psf"):
        assert f'<option value="{flux_type}" >{flux_type} (ugrizy)</option>' in page
    assert re.search(r'<option value="sfd"\s+disabled title="not installed: run `tsmaker '
                     r'dust fetch sfd`">sfd \(not installed\)</option>', page)


def test_an_upload_that_is_not_a_table_is_refused_and_not_kept(client, catalogs,
                                                                tsmaker_home):
    answer = client.post("/catalogs/upload",
                         files={"file": ("specz.csv", b"\x00\x01\x02binary" * 100)})
    assert answer.status_code == 422
    assert field_error(answer.text, "file") == (
        "'specz.csv' is not a text CSV file (it holds binary bytes such as NUL or control "
        "characters); give a comma-separated text file, or a Parquet, FITS or HDF5 file with "
        "the matching extension")
    answer = client.post("/catalogs/upload", files={"file": ("table.parquet", b"PAR1 no")})
    assert answer.status_code == 422
    assert field_error(answer.text, "file").startswith("cannot read parquet file 'table.parquet'")
    answer = client.post("/catalogs/upload", files={"file": ("notes.doc", b"a,b\n1,2\n")})
    assert field_error(answer.text, "file") == (
        "cannot tell the format of 'notes.doc' from its name; upload a file ending in .csv, "
        ".fits, .hdf5, .parquet")
    answer = client.post("/api/catalogs/redshift", data={"name": "junk"},
                         files={"file": ("junk.fits", b"SIMPLE  = nothing")})
    assert answer.status_code == 422 and "junk.fits" in answer.json()["detail"]
    assert stored_uploads(tsmaker_home) == []
    assert sorted(c.name for c in catalogs.list_catalogs()) == ["dp1", "twodf"]


def test_an_upload_over_the_limit_is_refused_while_it_streams(client, tsmaker_home):
    big = b"ra,dec,z\n" + b"1.0,2.0,0.5\n" * (3 * LIMIT // 12)
    for path in ("/catalogs/upload", "/api/catalogs/redshift"):
        answer = client.post(path, data={"name": "big"}, files={"file": ("big.csv", big)})
        assert answer.status_code == 413
        assert answer.text.startswith("upload larger than the server's limit of 1 MiB")

    def chunks():  # no Content-Length: counted as it arrives
        yield (b'--B\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\n'
               b"ra,dec,z\n")
        for _ in range(40):
            yield b"1.0,2.0,0.5\n" * 8000
        yield b"\r\n--B--\r\n"

    answer = client.post("/catalogs/upload", content=chunks(),
                         headers={"content-type": "multipart/form-data; boundary=B"})
    assert answer.status_code == 413
    assert stored_uploads(tsmaker_home) == []
    assert client.get("/healthz").json() == {"ok": True}


def test_a_good_upload_is_confirmed_then_registered(client, catalogs, tsmaker_home):
    page = client.post("/catalogs/upload",
                       files={"file": ("2df.parquet", TWODF.read_bytes())}).text
    assert "1000 rows, 13 columns" in page
    for role, column in {"ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual",
                         "id": "unique_id"}.items():
        assert re.search(rf'<select id="{role}" name="{role}" >.*?<option value="{column}" '
                         r"selected>", page, flags=re.DOTALL), role
    upload_id = re.search(r'action="/catalogs/uploads/([0-9a-f]{32}\.parquet)"', page)[1]
    assert stored_uploads(tsmaker_home) == [upload_id]
    refused = client.post(f"/catalogs/uploads/{upload_id}",
                          data={"name": "twodf", "ra": "RA", "dec": "Dec", "z": "umag"})
    assert refused.status_code == 422  # the name is taken: said beside it
    assert field_error(refused.text, "name").startswith("catalog 'twodf' already exists")
    done = client.post(f"/catalogs/uploads/{upload_id}",
                       data={"name": "twodf2", "ra": "RA", "dec": "Dec", "z": "z",
                             "z_flag": "qual", "id": ""})  # no id column: none is used
    assert (done.status_code, done.headers["location"]) == (303, "/catalogs?added=twodf2")
    record = catalogs.get_catalog("twodf2")
    # Confirmed: the roles left empty are none, not detected again by each run.
    assert record.columns == {"ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual",
                              "z_err": "none", "id": "none"}
    assert record.location == str(tsmaker_home / "server" / "uploads" / upload_id)
    assert record.row_count == 1000
    assert client.get("/catalogs/uploads/..%2F..%2Fregistry.sqlite").status_code == 404
    assert client.get("/catalogs/uploads/registry.sqlite").status_code == 422


def test_unknown_products_and_paths_outside_the_products_are_not_found(client, catalogs,
                                                                        tmp_path):
    data = tmp_path / "x_1.csv"
    data.write_text("a\n1\n")
    product = catalogs.create_product(name="x", description="", parameters={}, inputs={},
                                      versions={})
    with catalogs.finishing(product.id) as done:
        done(rows=1, files=[str(data)], summary={})
    assert client.get("/api/products/999").json() == {
        "detail": "unknown product id 999; see GET /api/products"}
    assert client.get("/api/products/999").status_code == 404
    assert client.delete("/api/products/999").status_code == 404
    assert client.get("/products/999").status_code == 404
    assert client.get("/api/products/abc").status_code == 422
    assert client.get(f"/api/products/{product.id}/files/0").text == "a\n1\n"
    assert client.get(f"/api/products/{product.id}/files/1").status_code == 404
    for path in (f"/api/products/{product.id}/files/..%2F..%2Fregistry.sqlite",
                 f"/api/products/{product.id}/download/..%2F..%2Fregistry.sqlite",
                 "/static/..%2F..%2F..%2Fregistry.sqlite", "/static/%2e%2e/web/app.py"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert b"SQLite format" not in answer.content and b"create_app" not in answer.content
    assert catalogs.get_product(product.id).status == "done" and data.exists()


def test_cross_site_posts_and_foreign_hosts_are_refused(client, catalogs):
    product = catalogs.create_product(name="keep", description="", parameters={}, inputs={},
                                      versions={}, status="queued")
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        answer = client.post("/runs", data=form(), headers=headers)
        assert answer.status_code == 403, headers
        assert answer.text.startswith("Forbidden: a form or call from another site")
        assert client.delete(f"/api/products/{product.id}", headers=headers).status_code == 403
    assert client.get("/products", headers={"Host": "evil.example"}).status_code == 421
    assert client.post("/runs", data=form(radius_arcsec="0"),
                       headers={"Sec-Fetch-Site": "same-origin",
                                "Origin": "http://127.0.0.1:8000"}).status_code == 422
    assert [p.id for p in catalogs.list_products()] == [product.id]


def test_with_a_token_every_page_and_call_asks_for_it(catalogs, tsmaker_home):
    config = ServerConfig(home=tsmaker_home, token=TOKEN, host="0.0.0.0")
    with TestClient(create_app(config), base_url="http://myhost.example:8000",
                    follow_redirects=False) as client:
        refused = client.get("/api/products")
        assert (refused.status_code, refused.headers["www-authenticate"]) == (401, "Bearer")
        assert client.post("/runs", data=form()).status_code == 401
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/api/products", headers={"Authorization": "Bearer nope"}
                          ).status_code == 401
        assert client.get("/api/products", headers={"Authorization": f"Bearer {TOKEN}"}
                          ).json() == []
        login = client.get("/products/3")
        assert (login.status_code, login.headers["location"]) == (
            303, "/login?next=%2Fproducts%2F3")
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/app.js").status_code == 200
        wrong = client.post("/login", data={"token": "nope", "next": "/catalogs"})
        assert wrong.status_code == 401
        assert field_error(wrong.text, "token") == "That is not this server's token."
        assert "tsmaker_session" not in client.cookies
        right = client.post("/login", data={"token": TOKEN, "next": "https://evil.example/"})
        assert (right.status_code, right.headers["location"]) == (303, "/products")
        assert TOKEN not in right.headers["set-cookie"]
        assert client.get("/products").status_code == 200
        client.cookies.clear()
        opened = client.get(f"/catalogs?token={TOKEN}&x=1")
        assert (opened.status_code, opened.headers["location"]) == (303, "/catalogs?x=1")
        assert client.get("/catalogs").status_code == 200


@pytest.mark.slow  # starts the command line twice
def test_a_server_reachable_from_elsewhere_will_not_start_without_a_token(tsmaker_home):
    started = subprocess.run([sys.executable, "-m", "tsmaker", "serve", "--host", "0.0.0.0",
                              "--port", "0"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 1
    assert started.stderr.splitlines() == [
        "Error: --host 0.0.0.0 is reachable from other machines, so the server needs a token: "
        "give --token (or set TSMAKER_TOKEN), or --generate-token to have one made and "
        "printed once"]
    short = subprocess.run([sys.executable, "-m", "tsmaker", "serve", "--token", "short"],
                           capture_output=True, text=True, timeout=120)
    assert short.returncode == 1 and "too short" in short.stderr


def test_the_api_describes_itself_and_checks_runs_before_queueing(client, catalogs):
    schema = client.get("/openapi.json").json()
    for path in ("/api/runs", "/api/products", "/api/products/{product_id}",
                 "/api/products/{product_id}/download", "/api/catalogs",
                 "/api/catalogs/{ref}/flux-types", "/api/dust"):
        assert path in schema["paths"], path
    run_keys = schema["components"]["schemas"]["RunRequest"]["properties"]
    assert {"radius_arcsec", "n_neighbors", "like", "split_fraction"} <= set(run_keys)
    docs = client.get("/docs").text
    assert "/static-docs/swagger-ui-bundle.js" in docs and "https://" not in docs
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200

    from tsmaker.manage.catalogs import flux_types

    assert client.get("/api/catalogs/dp1/flux-types").json() == flux_types("dp1", catalogs)
    assert client.get("/api/catalogs/nope/flux-types").status_code == 404
    refused = client.post("/api/runs", json={"name": "a", "redshift_catalog": "twodf",
                                             "object_catalog": "dp1", "radius_arcsec": 6,
                                             "n_neighbors": 0})
    assert refused.status_code == 422
    assert refused.json()["problems"] == {
        "n_neighbors": "n_neighbors 0 must be a whole number >= 1",
        "radius_arcsec": "radius_arcsec 6.0 arcsec is larger than the object catalog's margin "
        "(5 arcsec), which would lose matches across partition edges; use radius_arcsec <= 5 "
        "or build a wider margin with hats-import"}
    assert client.post("/api/runs", json={"name": "a", "bogus": 1}).status_code == 422
    assert client.post("/api/runs", json={"radius_arcsec": 1}).json()["detail"].startswith(
        "missing required parameters: name, redshift_catalog, object_catalog")
    checked = client.post("/api/runs/check", json={"name": "a", "redshift_catalog": "twodf",
                                                   "object_catalog": "dp1"}).json()
    assert checked["ok"] and checked["flux_type"] == "cModel"
    assert catalogs.list_products() == []
