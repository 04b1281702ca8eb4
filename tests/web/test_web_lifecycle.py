"""Stopping the server stops its runs cleanly; a killed server leaves nothing marked running.

Each test starts its own `tsmaker serve --jobs 1`, a run slow enough to be caught while it
runs, and one waiting behind it.
"""

import re
import signal
import subprocess
import sys
import time

import pytest
from web_helpers import (
    copy_demo,
    process_alive,
    server_environment,
    start_server,
    wait_for_status,
    wait_gone,
)

from tsmaker.registry import Registry
from tsmaker.web.jobs import SERVER_STOPPED_QUEUED

pytestmark = pytest.mark.slow  # servers and their runs' processes

BIG = {"object_catalog": "demo", "radius_arcsec": 5.0, "n_neighbors": 5}


@pytest.fixture
def home(tmp_path, demo_dir):
    return copy_demo(demo_dir, tmp_path / "home")


def start_two_runs(server, big_specz):
    """A big run running and a demo run queued behind it; their records."""
    with server.client() as client:
        running = client.post("/api/runs", json={
            "name": "big", "redshift_catalog": str(big_specz), **BIG,
        }).json()
        queued = client.post("/api/runs", json={
            "name": "small", "redshift_catalog": "demo-specz", "object_catalog": "demo",
        }).json()
        running = wait_for_status(client, running["id"], ("running", "done", "failed"))
        assert running["status"] == "running", running
        assert client.get(f"/api/products/{queued['id']}").json()["status"] == "queued"
    return running, queued


def listed_progress(home, product_id):
    """The progress cell of a product in `tsmaker products list` (tab-separated when piped)."""
    listed = subprocess.run([sys.executable, "-m", "tsmaker", "products", "list"],
                            env=server_environment(home), capture_output=True, text=True,
                            timeout=120)
    header, *rows = [line.split("\t") for line in listed.stdout.splitlines()]
    row = next(row for row in rows if row[0] == str(product_id))
    return row[header.index("progress")]


def leftovers(home):
    folder = home / "products"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_sigterm_stops_the_server_and_its_runs_cleanly(home, big_specz):
    server = start_server(home)
    running, queued = start_two_runs(server, big_specz)
    deadline = time.monotonic() + 120
    while not re.fullmatch(r"\d+/28 partitions", progress := listed_progress(home, running["id"])):
        assert time.monotonic() < deadline, progress  # the CLI shows a server run's progress
        time.sleep(0.2)
    # A queued run removed from the command line: its pid is the server's, which must
    # not be signalled; the server then never starts the run.
    with server.client() as client:
        extra = client.post("/api/runs", json={
            "name": "extra", "redshift_catalog": "demo-specz", "object_catalog": "demo"}).json()
    removed = subprocess.run(
        [sys.executable, "-m", "tsmaker", "products", "rm", "--force", "--yes",
         str(extra["id"])], env=server_environment(home), capture_output=True, text=True,
        timeout=120)
    assert removed.returncode == 0, removed.stderr
    time.sleep(1)
    assert process_alive(server.process.pid)
    with server.client() as client:
        assert client.get(f"/api/products/{extra['id']}").status_code == 404
        assert extra["id"] not in client.get("/api/server").json()["running"]
    assert server.stop(signal.SIGTERM) == 0, server.log()
    assert server.log().rstrip().endswith("tsmaker serve: stopped")
    assert not process_alive(running["pid"])  # stopped before the server returned
    with Registry(home / "registry.sqlite") as registry:
        stopped = registry.get_product(running["id"])
        waiting = registry.get_product(queued["id"])
    assert (stopped.status, stopped.message, stopped.files) == ("interrupted", "interrupted", [])
    assert (waiting.status, waiting.message) == ("interrupted", SERVER_STOPPED_QUEUED)
    assert leftovers(home) == []


def test_a_killed_server_leaves_no_product_running_after_the_next_start(home, big_specz):
    server = start_server(home)
    running, queued = start_two_runs(server, big_specz)
    server.stop(signal.SIGKILL)
    wait_gone(running["pid"])  # its run stops with it (parent-death signal)

    restarted = start_server(home)
    try:
        with restarted.client() as client:
            records = {r["id"]: r for r in client.get("/api/products").json()}
        assert records[running["id"]]["status"] == "interrupted"
        # The queued run belonged to the killed server: the next start marks it.
        assert records[queued["id"]]["status"] == "interrupted"
        assert "the process running it stopped" in records[queued["id"]]["message"]
        assert [r for r in records.values() if r["status"] in ("queued", "running")] == []
        assert leftovers(home) == []
    finally:
        assert restarted.stop() == 0, restarted.log()
