"""The HTTP API of a real `tsmaker serve --jobs 2` on 127.0.0.1, with real runs.

The demo submitted through the API is the CLI's product row for row; five runs at once
wait their turn two by two; a running and a queued run are cancelled, and a running one
deleted, leaving nothing under a final name.
"""

import io
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from web_helpers import (
    copy_demo,
    process_alive,
    server_environment,
    start_server,
    wait_for_status,
    wait_gone,
)

pytestmark = pytest.mark.slow  # a server and its runs' processes

DEMO_RUN = {"redshift_catalog": "demo-specz", "object_catalog": "demo", "n_neighbors": 2,
            "radius_arcsec": 2.0, "flux_type": "gaap1p0", "split_fraction": 0.8, "seed": 3}


@pytest.fixture(scope="module")
def home(tmp_path_factory, demo_dir):
    return copy_demo(demo_dir, tmp_path_factory.mktemp("web_api") / "home")


@pytest.fixture(scope="module")
def server(home):
    server = start_server(home, "--jobs", "2")
    yield server
    assert server.stop() == 0, server.log()
    assert server.log().rstrip().endswith("tsmaker serve: stopped"), server.log()


def products_files(home: Path) -> set[str]:
    folder = home / "products"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def test_a_run_from_the_api_is_the_command_lines_row_for_row(server, home):
    with server.client() as client:
        answer = client.post("/api/runs", json={"name": "api_demo", **DEMO_RUN})
        assert answer.status_code == 202, answer.text
        submitted = answer.json()
        assert submitted["status"] == "queued" and submitted["full_name"] == (
            f"api_demo_{submitted['id']}")
        assert answer.headers["location"] == f"/api/products/{submitted['id']}"
        record = wait_for_status(client, submitted["id"], ("done", "failed"))
        assert record["status"] == "done", record["message"]
        progress = record["progress"]
        assert progress["partitions_done"] == progress["partitions_total"] == (
            record["summary"]["partitions"]) > 1
        assert progress["rows"] >= record["rows"] > 0
        download = client.get(f"/api/products/{submitted['id']}/download")
        assert download.status_code == 200
        assert download.headers["content-disposition"] == (
            f'attachment; filename="api_demo_{submitted["id"]}.parquet"')
        from_api = pd.read_parquet(io.BytesIO(download.content))
        sidecar = client.get(f"/api/products/{submitted['id']}/files/1").json()
        assert sidecar["id"] == submitted["id"] and sidecar["rows"] == len(from_api)

    cli = subprocess.run(
        [sys.executable, "-m", "tsmaker", "run", "--name", "cli_demo", "--redshift",
         "demo-specz", "--object", "demo", "--neighbors", "2", "--radius", "2", "--flux-type",
         "gaap1p0", "--split", "0.8", "--seed", "3", "--json"],
        env=server_environment(home), capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    from_cli = pd.read_parquet(json.loads(cli.stdout)["files"][0])
    assert {"is_training", "r_gaap1p0Mag", "match_rank"} <= set(from_api.columns)
    assert from_api["match_rank"].max() == 2
    pd.testing.assert_frame_equal(from_api, from_cli)

    # One registry: each front end lists the other's product.
    listed = subprocess.run([sys.executable, "-m", "tsmaker", "products", "list", "--json"],
                            env=server_environment(home), capture_output=True, text=True,
                            timeout=120)
    names = {product["full_name"] for product in json.loads(listed.stdout)}
    assert {f"api_demo_{submitted['id']}", json.loads(cli.stdout)["full_name"]} <= names
    with server.client() as client:
        assert json.loads(cli.stdout)["full_name"] in {
            product["full_name"] for product in client.get("/api/products").json()}


def test_five_runs_at_once_take_turns_two_by_two_and_all_finish(server, home):
    def submit(index: int) -> dict:
        with server.client() as client:
            answer = client.post("/api/runs", json={"name": f"many{index}", **DEMO_RUN})
            assert answer.status_code == 202, answer.text
            return answer.json()

    with ThreadPoolExecutor(5) as pool:
        submitted = list(pool.map(submit, range(5)))
    ids = [product["id"] for product in submitted]
    assert len(set(ids)) == 5
    most_running = 0
    deadline = time.monotonic() + 300
    with server.client() as client:
        while True:
            records = [r for r in client.get("/api/products").json() if r["id"] in ids]
            statuses = [record["status"] for record in records]
            most_running = max(most_running, statuses.count("running"),
                               len(client.get("/api/server").json()["running"]))
            if all(status not in ("queued", "running") for status in statuses):
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.05)
    assert statuses == ["done"] * 5, [r["message"] for r in records]
    assert most_running == 2  # two ran together, never three
    files = [record["files"][0] for record in records]
    assert len(set(files)) == 5
    frames = [pd.read_parquet(name) for name in files]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])


def test_a_running_and_a_queued_run_are_cancelled_and_a_running_one_deleted(server, home,
                                                                           big_specz):
    before = products_files(home)
    big = {"redshift_catalog": str(big_specz), "object_catalog": "demo",
           "radius_arcsec": 5.0, "n_neighbors": 5}
    with server.client() as client:
        first = client.post("/api/runs", json={"name": "big_a", **big}).json()
        second = client.post("/api/runs", json={"name": "big_b", **big}).json()
        waiting = client.post("/api/runs", json={"name": "small_c", **DEMO_RUN}).json()

        running = wait_for_status(client, first["id"], ("running", "done", "failed"))
        wait_for_status(client, second["id"], ("running", "done", "failed"))
        queued = client.get(f"/api/products/{waiting['id']}").json()
        assert (queued["status"], queued["queue_position"]) == ("queued", 1)
        server_pid = queued["pid"]
        listed = client.get("/products").text  # waiting, beside the two started ones
        row = listed.split(f'id="product-{waiting["id"]}"')[1].split("</tr>")[0]
        assert 'data-field="status">queued<' in row and "waiting (1 in the queue)" in row

        cancelled = client.post(f"/api/products/{waiting['id']}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"

        assert running["status"] == "running", running
        cancelled = client.post(f"/api/products/{first['id']}/cancel").json()
        assert cancelled["status"] == "cancelled", cancelled
        progress = cancelled["progress"] or {}
        assert progress.get("partitions_done", 0) < (progress.get("partitions_total") or 1)
        wait_gone(running["pid"])

        deleted_run = client.get(f"/api/products/{second['id']}").json()
        assert deleted_run["status"] == "running", deleted_run
        assert client.delete(f"/api/products/{second['id']}").status_code == 200
        assert client.get(f"/api/products/{second['id']}").status_code == 404
        wait_gone(deleted_run["pid"])

        time.sleep(1.5)  # the supervisor would have started the cancelled queued run by now
        assert client.get(f"/api/products/{waiting['id']}").json()["pid"] == server_pid
        final = client.get(f"/api/products/{first['id']}").json()
        assert (final["status"], final["files"], final["rows"]) == ("cancelled", [], None)
        assert client.post(f"/api/products/{first['id']}/cancel").status_code == 409
        assert client.get(f"/api/products/{first['id']}/download").status_code == 409
        state = client.get("/api/server").json()
        assert (state["running"], state["queued"], state["max_jobs"]) == ([], [], 2)
    assert products_files(home) == before  # no data, sidecar or temporary file was left


def test_a_product_page_and_list_show_the_run(server):
    with server.client() as client:
        listed = client.get("/products").text
        product = client.get("/api/products").json()[-1]
        assert f'href="/products/{product["id"]}">{product["full_name"]}</a>' in listed
        page = client.get(f"/products/{product['id']}").text
        assert f'<h1 id="product-name">{product["full_name"]}</h1>' in page
        assert f'href="/runs/new?like={product["id"]}"' in page
        plot = client.get(f"/api/products/{product['id']}/plot")
        assert plot.headers["content-type"] == "image/png"
        assert plot.content[:8] == b"\x89PNG\r\n\x1a\n"
        again = client.get(f"/runs/new?like={product['id']}").text
        assert 'name="name" type="text" value="api_demo"' in again
        assert 'id="radius_arcsec" name="radius_arcsec" type="text" value="2.0"' in again
        assert 'id="split_fraction" name="split_fraction" type="text" value="0.8"' in again
        assert '<option value="gaap1p0" selected>' in again
        # Run again with the split cleared: a blank field is the default, not the old value.
        shown = dict(re.findall(r'<input id="(\w+)" name="\w+" type="text" value="([^"]*)"',
                                again))
        form = {**shown, "split_fraction": "", "like": str(product["id"]),
                "redshift_catalog": "demo-specz", "object_catalog": "demo",
                "flux_type": "gaap1p0", "dust": "none", "magnitudes": "mag", "unique": "none",
                "output_format": "parquet", "z_flag_better": "higher", "coord_unit": "auto"}
        made = client.post("/runs", data=form, follow_redirects=False)
        assert made.status_code == 303, made.text
        rerun = int(made.headers["location"].rsplit("/", 1)[1])
        record = wait_for_status(client, rerun, ("done", "failed"))
        assert record["status"] == "done", record["message"]
        assert record["parameters"]["split_fraction"] is None
        assert (record["parameters"]["n_neighbors"], record["parameters"]["flux_type"]) == (
            2, "gaap1p0")
    assert os.path.exists(server.home / "server" / "plots" / f"{product['id']}.png")
    assert process_alive(server.process.pid)


def test_the_form_names_columns_for_rail_and_keeps_the_hdf5_layout(server):
    with server.client() as client:
        page = client.get("/runs/new").text
        for name, default in (("naming", "rubin"), ("crd_duplicates", "keep-ties"),
                              ("hdf5_layout", "columns")):
            assert f'<select id="{name}" name="{name}"' in page
            assert re.search(rf'<select id="{name}"[^>]*>\s*(<option[^>]*>[^<]*</option>\s*)*'
                             rf'<option value="{default}" selected>', page), name
        form = {"name": "rail_form", "redshift_catalog": "demo-specz", "object_catalog": "demo",
                "flux_type": "cModel", "dust": "none", "magnitudes": "mag", "unique": "none",
                "output_format": "hdf5", "naming": "rail", "radius_arcsec": "1",
                "n_neighbors": "1", "z_flag_better": "higher", "coord_unit": "auto",
                "crd_duplicates": "drop-ties", "hdf5_layout": "table"}
        made = client.post("/runs", data=form, follow_redirects=False)
        assert made.status_code == 303, made.text
        made_id = int(made.headers["location"].rsplit("/", 1)[1])
        record = wait_for_status(client, made_id, ("done", "failed"))
        assert record["status"] == "done", record["message"]
        assert {key: record["parameters"][key] for key in form.keys() & {
            "naming", "crd_duplicates", "hdf5_layout"}} == {
            "naming": "rail", "crd_duplicates": "drop-ties", "hdf5_layout": "table"}
    from astropy.table import Table

    written = Table.read(record["files"][0], path="training_set")  # the "table" layout
    assert {"redshift", "mag_g_lsst", "mag_err_g_lsst"} <= set(written.colnames)
    assert "z" not in written.colnames and "g_cModelMag" not in written.colnames
    assert len(written) == record["rows"] > 0
    assert np.isfinite(np.asarray(written["mag_g_lsst"], dtype=float)).all()  # 99 if undetected


def test_a_rerun_from_the_api_refuses_a_changed_spec_z_file_unless_accepted(server, home,
                                                                           tmp_path):
    specz_path = tmp_path / "specz.parquet"
    specz = pd.read_parquet(home / "demo" / "demo_specz.parquet")
    specz.to_parquet(specz_path, index=False)
    run = {"redshift_catalog": str(specz_path), "object_catalog": "demo"}
    with server.client() as client:
        first = client.post("/api/runs", json={"name": "first", **run}).json()
        first = wait_for_status(client, first["id"], ("done", "failed"))
        assert first["status"] == "done", first["message"]
        specz.iloc[10:].to_parquet(specz_path, index=False)  # 10 rows lost

        refused = client.post("/api/runs", json={"name": "again", "like": first["id"]})
        assert refused.status_code == 202, refused.text  # checked by the job, as by the CLI
        refused = wait_for_status(client, refused.json()["id"], ("done", "failed"))
        assert refused["status"] == "failed"
        assert refused["message"].startswith(
            f"redshift catalog '{specz_path}' changed since product {first['full_name']} "
            f"was made: rows read {len(specz)} -> {len(specz) - 10}, size ")
        assert refused["message"].endswith("accept_changed_inputs=True (the change is recorded)")

        accepted = client.post("/api/runs", json={
            "name": "again", "like": first["full_name"], "accept_changed_inputs": True}).json()
        accepted = wait_for_status(client, accepted["id"], ("done", "failed"))
        assert accepted["status"] == "done", accepted["message"]
        assert accepted["inputs"]["redshift"]["changed_since"]["product"] == first["full_name"]
        assert accepted["summary"]["specz_rows"] == first["summary"]["specz_rows"] - 10

        page = client.get(f"/runs/new?like={first['id']}").text
        assert re.search(r'name="accept_changed_inputs" id="accept_changed_inputs" *>', page)
        form = {"like": str(first["id"]), "name": "from_form", "object_catalog": "demo",
                "redshift_catalog": str(specz_path), "radius_arcsec": "1", "n_neighbors": "1",
                "accept_changed_inputs": "on"}
        made = client.post("/runs", data=form, follow_redirects=False)
        assert made.status_code == 303, made.text
        from_form = wait_for_status(client, int(made.headers["location"].rsplit("/", 1)[1]),
                                    ("done", "failed"))
        assert from_form["status"] == "done", from_form["message"]
        assert "changed_since" in from_form["inputs"]["redshift"]

        without_like = client.post("/api/runs", json={
            "name": "x", "accept_changed_inputs": True, **run})
        assert without_like.status_code == 422
        assert without_like.json()["detail"].startswith("accept_changed_inputs applies to a rerun")
