"""Where the Dask graph runs: every executor must give the in-process run's exact rows.

Real components only: a mock DP1-shaped HATS collection on disk, a `dask scheduler` and
two `dask worker` processes on 127.0.0.1, a LocalCluster, a plain HTTP server on
127.0.0.1 serving the collection, and dask-jobqueue's own SLURM script generator.
"""

import contextlib
import functools
import http.server
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_helpers import closed_port
from typer.testing import CliRunner

from tsmaker.cli.app import app
from tsmaker.errors import CatalogError, InputError
from tsmaker.registry.database import Registry
from tsmaker.run.execution import (
    ExecutionSettings,
    Executor,
    PartitionTask,
    SlurmSettings,
    slurm_job_script,
)
from tsmaker.run.pipeline import make_training_set

OBJECT_ROWS = 20_000
SPECZ_ROWS = 2_000
#: Small enough for at least 8 partitions: more than the Dask workers have threads.
PARTITION_ROWS = 3_000
#: Two neighbours within 2 arcsec, so ranks and blends make the row order non-trivial.
MATCH_OPTIONS = {"radius_arcsec": 2.0, "n_neighbors": 2}
COLLECTION_NAME = "dp1_mock_collection"
PROCESS_START_SECONDS = 60

# Every Dask scheduler opens an HTTP server, on 8787 when free: another scheduler on this
# machine only moves it, which is not what these tests are about.
pytestmark = [
    pytest.mark.slow,  # local clusters, schedulers, HTTP and S3 servers
    pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning"),
]


@dataclass(frozen=True)
class Inputs:
    folder: Path
    collection: Path
    specz: Path

    def registry(self) -> Registry:
        return Registry(self.folder / "registry.sqlite")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    from tsmaker.demo.mock import mock_object_frame
    from tsmaker.demo.mock_hats import write_object_collection
    from tsmaker.demo.mock_specz import mock_specz_frame

    folder = tmp_path_factory.mktemp("execution")
    objects = mock_object_frame(
        OBJECT_ROWS, seed=11, fields={"ECDFS": (53.13, -28.10)}, field_radius_deg=1.5,
        flux_types=("cModel",),
    )
    collection = write_object_collection(
        objects, folder / "served" / COLLECTION_NAME, highest_order=7,
        partition_rows=PARTITION_ROWS,
    )
    specz = folder / "specz.parquet"
    mock_specz_frame(objects, n_rows=SPECZ_ROWS, seed=12).to_parquet(specz, index=False)
    return Inputs(folder, collection, specz)


def run_and_read(
    inputs: Inputs, name: str, object_catalog: str | Path, execution: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """One training set through the Python API; its rows as written, and its record."""
    with inputs.registry() as registry:
        product = make_training_set(
            name, inputs.specz, object_catalog, registry=registry,
            output_dir=str(inputs.folder / "products"), execution=execution, **MATCH_OPTIONS,
        )
    assert product.status == "done"
    return pd.read_parquet(product.files[0]), product


@pytest.fixture(scope="module")
def in_process(inputs: Inputs) -> pd.DataFrame:
    """The reference: dask's threaded scheduler in this process."""
    frame, product = run_and_read(inputs, "in_process", inputs.collection, {})
    assert product.summary["executor"].endswith("in-process threads")
    assert product.summary["partitions"] >= 8
    # Enough rows, neighbours and unmatched spec-z that a reordering or loss would show.
    assert len(frame) > 1_000
    assert set(frame["match_rank"]) == {1, 2}
    assert frame["specz_id"].nunique() < SPECZ_ROWS
    return frame


# ------------------------------------------------------------- a real dask cluster


@dataclass(frozen=True)
class DaskProcesses:
    address: str
    worker_count: int


def _dask_command(role: str) -> list[str]:
    script = shutil.which("dask", path=str(Path(sys.executable).parent))
    if script:
        return [script, role]
    return [sys.executable, "-m", f"distributed.cli.dask_{role}"]


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process group we started, then SIGKILL what is still alive."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """`dask scheduler` plus two single-thread `dask worker` processes on 127.0.0.1."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    logs = []
    processes: list[subprocess.Popen] = []

    def start(command: list[str], log_name: str) -> None:
        log = (folder / log_name).open("wb")
        logs.append(log)
        # Own session: the nanny's worker child goes down with the group on teardown.
        processes.append(subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=folder,
        ))

    try:
        start(_dask_command("scheduler") + [
            "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file),
        ], "scheduler.log")
        for index in range(2):
            start(_dask_command("worker") + [
                "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--no-dashboard",
                "--host", "127.0.0.1", "--local-directory", str(folder / f"worker{index}"),
                "--death-timeout", "60",
            ], f"worker{index}.log")
        deadline = time.monotonic() + PROCESS_START_SECONDS
        while not scheduler_file.exists() or not scheduler_file.stat().st_size:
            if time.monotonic() > deadline or processes[0].poll() is not None:
                pytest.fail("dask scheduler did not start:\n"
                            + (folder / "scheduler.log").read_text())
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, set_as_default=False, timeout="30s") as client:
            client.wait_for_workers(2, timeout=PROCESS_START_SECONDS)
            worker_count = len(client.scheduler_info(n_workers=-1)["workers"])
        yield DaskProcesses(address, worker_count)
    finally:
        _stop(processes)
        for log in logs:
            log.close()


def _executed_counts(address: str) -> dict[str, int]:
    from distributed import Client

    with Client(address, set_as_default=False, timeout="30s") as client:
        # A nested function is shipped by value: the workers cannot import this module.
        def executed(dask_worker: Any) -> int:
            return dask_worker.state.executed_count

        return client.run(executed)


def test_remote_scheduler_gives_the_same_rows(
    inputs: Inputs, in_process: pd.DataFrame, dask_processes: DaskProcesses
) -> None:
    address = dask_processes.address
    assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", address)
    assert dask_processes.worker_count == 2
    before = _executed_counts(address)

    frame, product = run_and_read(inputs, "remote", inputs.collection, {"scheduler": address})

    after = _executed_counts(address)
    pd.testing.assert_frame_equal(frame, in_process)
    assert product.summary["executor"] == f"scheduler {address}"
    assert product.parameters["execution"] == {"scheduler": address}
    # Both worker processes computed partitions.
    assert sorted(after) == sorted(before)
    assert all(after[worker] > before[worker] for worker in after)


def test_cli_scheduler_flag_gives_the_same_rows(
    inputs: Inputs, in_process: pd.DataFrame, dask_processes: DaskProcesses, tsmaker_home: Path
) -> None:
    result = CliRunner().invoke(app, [
        "run", "--name", "cli_remote", "--redshift", str(inputs.specz),
        "--object", str(inputs.collection), "--output-dir", str(tsmaker_home / "out"),
        "--radius", str(MATCH_OPTIONS["radius_arcsec"]),
        "--neighbors", str(MATCH_OPTIONS["n_neighbors"]),
        "--scheduler", dask_processes.address, "--json",
    ])

    assert result.exit_code == 0, result.output
    product = json.loads(result.stdout)
    assert product["status"] == "done"
    assert product["summary"]["executor"] == f"scheduler {dask_processes.address}"
    assert product["rows"] == len(in_process)
    pd.testing.assert_frame_equal(pd.read_parquet(product["files"][0]), in_process)


# ------------------------------------------------------------------ local cluster


def test_local_cluster_of_two_workers_gives_the_same_rows(
    inputs: Inputs, in_process: pd.DataFrame
) -> None:
    frame, product = run_and_read(inputs, "local_cluster", inputs.collection, {"workers": 2})

    pd.testing.assert_frame_equal(frame, in_process)
    assert product.summary["executor"] == "local cluster of 2 workers"


def test_failure_on_a_local_worker_is_one_line(inputs: Inputs, tmp_path: Path) -> None:
    """The worker's own log of the failed task does not reach the user's terminal."""
    broken = shutil.copytree(inputs.collection, tmp_path / COLLECTION_NAME)
    partition_files = sorted(broken.glob("*/dataset/Norder=*/Dir=*/Npix=*.parquet"))
    margin_files = sorted(broken.glob("*_*arcs/dataset/Norder=*/Dir=*/Npix=*.parquet"))
    for path in set(partition_files) - set(margin_files):
        path.write_bytes(path.read_bytes()[:100])
    environment = {
        key: value for key, value in os.environ.items()
        if key not in ("TSMAKER_DEBUG", "TSMAKER_SCHEDULER")
    }
    environment["TSMAKER_HOME"] = str(tmp_path / "home")

    finished = subprocess.run(
        [sys.executable, "-m", "tsmaker", "run", "--name", "broken", "--redshift",
         str(inputs.specz), "--object", str(broken), "--workers", "1",
         "--output-dir", str(tmp_path / "out")],
        env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=PROCESS_START_SECONDS * 3,
    )

    assert finished.returncode == 1
    assert finished.stderr.startswith("Error: object catalog file ")
    assert "cannot be read" in finished.stderr
    assert finished.stderr.count("\n") == 1, finished.stderr


def _worker_callbacks(dask_worker: Any) -> tuple[bool, float]:
    callbacks = dask_worker.periodic_callbacks
    return "profile" in callbacks, callbacks["tick"].callback_time


def test_local_workers_do_not_profile_their_tasks_and_tick_once_a_second() -> None:
    """The local cluster has no dashboard to show a profile: its workers take none.

    Their event loops (and the scheduler's) note their latency once a second, not every
    20 ms.
    """
    import dask

    from tsmaker.run.execution import open_executor

    with open_executor(ExecutionSettings(workers=1)) as executor:
        callbacks = executor.client.run(_worker_callbacks)
        scheduler_tick_ms = executor.client.cluster.scheduler.periodic_callbacks[
            "tick"].callback_time

    assert list(callbacks.values()) == [(False, 1000)]
    assert scheduler_tick_ms == 1000
    assert dask.config.get("distributed.worker.profile.enabled") is True  # left as it was
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc (Linux)")
def test_local_workers_start_with_their_imports_done_and_distributed_environment() -> None:
    """Workers are forked from a server that imported what tasks need, once.

    They start with pyarrow.parquet loaded (no task has run yet) and with the
    environment distributed gives the processes it starts (``OMP_NUM_THREADS=1``; such
    variables must be there when the process starts to take effect), but without its
    ``MALLOC_TRIM_THRESHOLD_``, which slows tasks down. Starting the server leaves the
    caller's environment as it was (distributed's Nanny itself then exports its
    variables to the caller's environment when it starts a worker), and the Dask
    configuration is left as it was.
    """
    import dask

    from tsmaker.run.execution import open_executor, start_worker_server

    environment = dict(os.environ)
    start_worker_server()  # a no-op when an earlier test started it
    assert dict(os.environ) == environment
    with open_executor(ExecutionSettings(workers=2)) as executor:
        worker_pids = list(executor.client.run(os.getpid).values())
        for pid in worker_pids:
            mapped = Path(f"/proc/{pid}/maps").read_text()
            started_with = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert "/pyarrow/_parquet." in mapped
            threads = os.environ.get("OMP_NUM_THREADS", "1")  # the caller's own value wins
            assert f"OMP_NUM_THREADS={threads}".encode() in started_with
            assert not any(item.startswith(b"MALLOC_TRIM_THRESHOLD_=") for item in started_with)
            status = Path(f"/proc/{pid}/status").read_text()
            blocked = int(re.search(r"SigBlk:\s*(\w+)", status)[1], 16)
            assert blocked >> (signal.SIGINT - 1) & 1  # Ctrl-C is the driver's to answer

    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"


_FORKSERVER_MASKS = """
import signal
from multiprocessing import forkserver
from pathlib import Path

from tsmaker.run.worker_server import start_worker_server

start_worker_server()
status = Path(f"/proc/{forkserver._forkserver._forkserver_pid}/status").read_text()
fields = dict(line.split(":", 1) for line in status.splitlines())
caller_blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
print(int(fields["SigBlk"], 16) >> (signal.SIGINT - 1) & 1, int(caller_blocked))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_forkserver_starts_with_ctrl_c_blocked_and_the_caller_keeps_its_mask() -> None:
    """In a fresh interpreter (no resource tracker yet), the forkserver that local
    workers are forked from has SIGINT blocked, so no worker prints a traceback on
    Ctrl-C, and the caller's own mask is given back (it still answers Ctrl-C).

    Starting multiprocessing's resource tracker unblocks SIGINT in its caller: started
    inside the blocked section, it undid the block before the forkserver was spawned.
    """
    done = subprocess.run(
        [sys.executable, "-c", _FORKSERVER_MASKS], capture_output=True, text=True,
        timeout=120, check=True,
    )
    assert done.stdout.split() == ["1", "0"]


# --------------------------------------------------------------------- over HTTP


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files quietly and remembers each request line and status code."""

    requests: list[tuple[str, int]]

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        self.requests.append((self.requestline, 0 if code == "-" else int(code)))

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None


class _Requests(list):
    """The request lines and status codes a test server saw, and how it served."""

    kind = "whole_files"


class _RangeHandler(_RecordingHandler):
    """Also answers ``Range: bytes=a-b`` with 206, as real web servers and S3 do."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        wanted = self.headers.get("Range")
        path = self.translate_path(self.path)
        if not wanted or not wanted.startswith("bytes=") or not os.path.isfile(path):
            super().do_GET()
            return
        size = os.path.getsize(path)
        first_text, _, last_text = wanted.removeprefix("bytes=").partition("-")
        if first_text:
            first, last = int(first_text), min(int(last_text or size - 1), size - 1)
        else:  # a suffix: the last N bytes
            first, last = max(size - int(last_text), 0), size - 1
        with open(path, "rb") as handle:
            handle.seek(first)
            body = handle.read(last - first + 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module", params=["ranges", "whole_files"])
def http_collection(
    inputs: Inputs, request: pytest.FixtureRequest
) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """The collection's parent folder over http://127.0.0.1:PORT/ (no TLS, no auth).

    Served once with byte ranges (how web servers and S3 serve HATS) and once by a
    server that only sends whole files.
    """
    requests = _Requests()
    requests.kind = request.param
    base = _RangeHandler if request.param == "ranges" else _RecordingHandler
    handler = type("Handler", (base,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        functools.partial(handler, directory=str(inputs.collection.parent)),
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{COLLECTION_NAME}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_collection_over_http_gives_the_same_rows(
    inputs: Inputs, in_process: pd.DataFrame, http_collection: tuple[str, list]
) -> None:
    url, requests = http_collection
    requests.clear()

    frame, product = run_and_read(inputs, "over_http", url, {})

    pd.testing.assert_frame_equal(frame, in_process)
    assert product.inputs["object"]["location"] == url
    paths = [line.split()[1] for line, _ in requests]
    # The rows really came over HTTP: partition files of the catalog and of its margin.
    data_files = {path.split("?")[0] for path in paths if "/dataset/Norder=" in path}
    partitions = product.summary["partitions"]
    assert len([p for p in data_files if "_5arcs/" not in p]) >= partitions
    assert any("_5arcs/dataset/Norder=" in path for path in data_files)
    # hats reads named files only: no directory listing is ever asked for.
    assert not [path for path in paths if path.split("?")[0].endswith("/")]
    assert ("GET /" + COLLECTION_NAME + "/collection.properties HTTP/1.1", 200) in requests
    partial = [line for line, code in requests if code == 206 and "/dataset/Norder=" in line]
    if requests.kind == "ranges":
        # Only the footer and the columns read were fetched from each partition file.
        assert partial
    else:
        assert not partial


def test_url_that_does_not_answer_is_one_clear_catalog_error(inputs: Inputs) -> None:
    url = f"http://127.0.0.1:{closed_port()}/{COLLECTION_NAME}"
    started = time.monotonic()

    with pytest.raises(CatalogError) as raised:
        run_and_read(inputs, "nobody_home", url, {})

    message = str(raised.value)
    assert "\n" not in message
    assert repr(url) in message
    assert time.monotonic() - started < 20
    with inputs.registry() as registry:
        assert not [p for p in registry.list_products() if p.name == "nobody_home"]


@pytest.fixture(scope="module")
def s3_collection(inputs: Inputs) -> Iterator[str]:
    """The collection in a bucket of a local S3 server (moto) on 127.0.0.1.

    s3fs finds the server and the credentials through the standard AWS environment
    variables, as it would for any S3 service other than AWS (``AWS_ENDPOINT_URL``).
    """
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    environment = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        client = boto3.client("s3")
        client.create_bucket(Bucket="rubin-dp1")
        for path in inputs.collection.rglob("*"):
            if path.is_file():
                key = f"hats/{path.relative_to(inputs.collection.parent).as_posix()}"
                client.upload_file(str(path), "rubin-dp1", key)
        yield f"s3://rubin-dp1/hats/{COLLECTION_NAME}"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


def test_collection_on_s3_gives_the_same_rows(
    inputs: Inputs, in_process: pd.DataFrame, s3_collection: str
) -> None:
    frame, product = run_and_read(inputs, "over_s3", s3_collection, {})

    pd.testing.assert_frame_equal(frame, in_process)
    assert product.inputs["object"]["location"] == s3_collection


# ------------------------------------------------------------------------- SLURM

SLURM = SlurmSettings(
    queue="debug", account="phz123", cores=8, memory="32GB", walltime="02:00:00", jobs=3
)
#: dask-jobqueue's slurm_format_bytes_ceil: 32 GB = 32e9 bytes = 29.8 GiB, rounded *up* to
#: whole GiB and written with SLURM's "G" (GiB) suffix. The worker's own limit is the
#: same 32e9 bytes written by dask.utils.format_bytes.
SLURM_MEMORY = f"{math.ceil(32e9 / 2**30)}G"
WORKER_MEMORY = "29.80GiB"


def _check_slurm_script(script: str) -> None:
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    sbatch = [line for line in lines if line.startswith("#SBATCH")]
    assert sbatch == [
        "#SBATCH -J dask-worker",
        "#SBATCH -p debug",
        "#SBATCH -A phz123",
        "#SBATCH -n 1",
        "#SBATCH --cpus-per-task=8",
        f"#SBATCH --mem={SLURM_MEMORY}",
        "#SBATCH -t 02:00:00",
    ]
    assert SLURM_MEMORY == "30G"
    (command,) = [line for line in lines if "dask_worker" in line or "dask worker" in line]
    words = command.split()
    assert words[:3] == [sys.executable, "-m", "distributed.cli.dask_worker"]
    assert re.fullmatch(r"tcp://[^:]+:\d+", words[3])
    assert words[words.index("--nthreads") + 1] == "8"
    assert words[words.index("--memory-limit") + 1] == WORKER_MEMORY
    assert "--nanny" in words


def test_slurm_job_script() -> None:
    pytest.importorskip("dask_jobqueue")

    _check_slurm_script(slurm_job_script(SLURM))


def test_cli_prints_the_slurm_job_script() -> None:
    pytest.importorskip("dask_jobqueue")

    result = CliRunner().invoke(app, [
        "run", "--slurm", "--slurm-queue", "debug", "--slurm-account", "phz123",
        "--slurm-cores", "8", "--slurm-memory", "32GB", "--slurm-walltime", "02:00:00",
        "--slurm-jobs", "3", "--slurm-print-script",
    ])

    assert result.exit_code == 0, result.output
    _check_slurm_script(result.stdout)


# --------------------------------------------------- ordered, bounded streaming

FRAME_ROWS = 2**18
FRAME_BYTES = FRAME_ROWS * 8  # one float64 column: 2 MiB


def _big_frame(index: int, delay_seconds: float) -> pd.DataFrame:
    time.sleep(delay_seconds)
    return pd.DataFrame({"value": np.full(FRAME_ROWS, float(index))}, copy=False)


def test_threaded_results_stream_without_accumulating() -> None:
    executor = Executor(None, threads=4)
    window = executor.window()
    delays = random.Random(5).choices([0.0, 0.001, 0.004], k=200)
    tasks = [PartitionTask(_big_frame, (i, d)) for i, d in enumerate(delays)]
    # Warm up so that imports made by the first compute are not counted.
    for _ in executor.ordered_results(tasks[:window]):
        pass

    seen = []
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        for frame in executor.ordered_results(tasks):
            seen.append(int(frame["value"].iat[0]))
            assert len(frame) == FRAME_ROWS
            del frame
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert seen == list(range(200))
    # 200 frames are 400 MiB; a few windows' worth is all that may be alive at once.
    assert window == 8
    assert peak - start < 20 * FRAME_BYTES


def _timed(index: int, delay_seconds: float) -> tuple[int, float, float]:
    started = time.monotonic()
    time.sleep(delay_seconds)
    return index, started, time.monotonic()


def _check_order_and_window(executor: Executor, count: int) -> None:
    """Results come in task order although tasks finish out of order, within the window."""
    delays = [random.Random(7 + i).uniform(0.0, 0.03) for i in range(count)]
    tasks = [PartitionTask(_timed, (i, d)) for i, d in enumerate(delays)]
    results = []
    asked_at = []
    stream = executor.ordered_results(tasks)
    while True:
        asked_at.append(time.monotonic())
        try:
            results.append(next(stream))
        except StopIteration:
            break

    assert [index for index, _, _ in results] == list(range(count))
    finish_order = sorted(range(count), key=lambda i: results[i][2])
    assert finish_order != list(range(count)), "tasks finished in order; the test proves nothing"
    # Task j starts only after the consumer asked for result j - window.
    window = executor.window()
    late = [j for j in range(window, count) if results[j][1] < asked_at[j - window]]
    assert late == []


def test_threaded_results_come_in_task_order() -> None:
    _check_order_and_window(Executor(None, threads=4), 40)


def test_distributed_results_come_in_task_order() -> None:
    from distributed import Client, LocalCluster

    with (
        # processes=False talks over dask's in-process transport: no port is opened.
        LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                     dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        executor = Executor(client, threads=4)
        assert executor.window() == 8
        _check_order_and_window(executor, 40)


#: Threads that unpickled a _Recorded argument, in this process.
_UNPICKLED_ON: list[int] = []


class _Recorded:
    """An argument that notes which thread unpickles it."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _unpickle_recorded, ()


def _unpickle_recorded() -> "_Recorded":
    _UNPICKLED_ON.append(threading.get_ident())
    return _Recorded()


def _running_thread(argument: _Recorded) -> int:
    return threading.get_ident()


def test_task_inputs_are_unpickled_only_where_the_task_runs() -> None:
    """The scheduler passes a task's inputs on without unpickling and re-pickling them.

    It otherwise does, on its event loop: with a local cluster that is the driver's CPU,
    taken from the workers on a small machine.
    """
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                     dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        _UNPICKLED_ON.clear()
        task = PartitionTask(_running_thread, (_Recorded(),))
        (ran_on,) = Executor(client, threads=1).ordered_results([task])

    assert ran_on != threading.get_ident()
    assert _UNPICKLED_ON == [ran_on]


# -------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ExecutionSettings(workers=0), "--workers 0 must be at least 1"),
        (ExecutionSettings(threads_per_worker=0), "--threads-per-worker 0 must be at least 1"),
        (
            ExecutionSettings(scheduler="tcp://127.0.0.1:8786", slurm=SlurmSettings()),
            "--scheduler (or TSMAKER_SCHEDULER) and --slurm cannot be used together; choose one",
        ),
        (
            ExecutionSettings(scheduler="tcp://127.0.0.1:8786", workers=2),
            "--workers set(s) up a local cluster and cannot be combined with --scheduler",
        ),
        (ExecutionSettings(workers=2, memory_limit="4 gigs"),
         "--memory-limit '4 gigs' is not a size; write e.g. 4GB or 500MiB"),
        (
            ExecutionSettings(scheduler="10.0.0.5"),
            "--scheduler '10.0.0.5' is not a Dask scheduler address (missing port number",
        ),
        (ExecutionSettings(slurm=SlurmSettings(jobs=0)), "--slurm-jobs 0 must be at least 1"),
        (ExecutionSettings(in_flight=-1), "in_flight -1 must be at least 1"),
    ],
)
def test_impossible_settings_are_refused(settings: ExecutionSettings, message: str) -> None:
    with pytest.raises(InputError) as raised:
        settings.validate()

    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_possible_settings_pass() -> None:
    for settings in (
        ExecutionSettings(),
        ExecutionSettings(workers=2, threads_per_worker=1, memory_limit="1GB", in_flight=1),
        ExecutionSettings(scheduler="tcp://127.0.0.1:8786"),
        ExecutionSettings(scheduler="127.0.0.1:8786"),
        ExecutionSettings(scheduler="inproc://10.0.0.1/123/1"),
        ExecutionSettings(slurm=SlurmSettings(jobs=1)),
    ):
        settings.validate()


@pytest.mark.parametrize(
    ("execution", "message"),
    [
        ({"workers": 0}, "--workers 0 must be at least 1"),
        ({"scheduler": "10.0.0.5"}, "is not a Dask scheduler address"),
        # Before the check this made a "done" product with 0 rows from all partitions.
        ({"in_flight": -1}, "in_flight -1 must be at least 1"),
    ],
)
def test_impossible_settings_are_refused_before_a_product_is_registered(
    inputs: Inputs, execution: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        run_and_read(inputs, "refused", inputs.collection, execution)
    with inputs.registry() as registry:
        assert not [p for p in registry.list_products() if p.name == "refused"]
