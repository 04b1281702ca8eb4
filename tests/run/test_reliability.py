"""Reliability: concurrent runs on one registry, runs killed or interrupted, determinism,
and property-based checks of the coordinate and magnitude arithmetic.

Runs go through the real CLI (``python -m tsmaker``) on a real HATS collection written by
LSDB from the oracle's synthetic catalogs; processes are signalled while their output
file is being written.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import Completed, without_library_warnings
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import oracle_collection, synthetic_catalogs

from tsmaker.inputs.cleaning import clean_redshift_catalog
from tsmaker.inputs.redshift import RedshiftCatalog
from tsmaker.registry.database import STALE_PRODUCT_MESSAGE, Registry
from tsmaker.science.photometry import flux_err_to_mag_err, flux_to_mag

pytestmark = pytest.mark.slow  # concurrent and signalled CLI processes

TIMEOUT_SECONDS = 300
CONCURRENT_RUNS = 8
#: Three neighbours within 3 arcsec: ranks, blends and ties make the row order non-trivial.
MATCH_FLAGS = ("--radius", "3", "--neighbors", "3")


def cli_environment(home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    for name in ("TSMAKER_DUSTMAPS_DIR", "TSMAKER_SCHEDULER", "TSMAKER_DEBUG"):
        environment.pop(name, None)
    environment["TSMAKER_HOME"] = str(home)
    return environment


def start(args: Sequence[str], home: Path) -> subprocess.Popen:
    """Start ``python -m tsmaker ARGS`` as a terminal would: SIGINT at its default."""
    return subprocess.Popen(
        [sys.executable, "-m", "tsmaker", *args], env=cli_environment(home),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def finish(process: subprocess.Popen) -> Completed:
    stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    return Completed(tuple(process.args[3:]), process.returncode, stdout, stderr)


def tsmaker(*args: str, home: Path) -> Completed:
    return finish(start(args, home))


def run_together(cases: Mapping[str, Sequence[str]], home: Path) -> dict[str, Completed]:
    with ThreadPoolExecutor(max_workers=max(2, len(cases))) as pool:
        futures = {key: pool.submit(tsmaker, *args, home=home) for key, args in cases.items()}
        return {key: future.result() for key, future in futures.items()}


def products(home: Path) -> list:
    with Registry(home / "registry.sqlite") as registry:
        return registry.list_products()


def read_rows(product) -> pd.DataFrame:
    return pd.read_parquet(product.files[0])


# ------------------------------------------------------------------------ inputs




@dataclass(frozen=True)
class Inputs:
    folder: Path
    fine: Path
    """Collection written with 300 rows per partition."""
    coarse: Path
    """The same objects written with 3000 rows per partition."""
    specz: Path
    small_specz: Path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("reliability")
    _, specz = synthetic_catalogs()
    fine = oracle_collection(tmp_path_factory, 300)
    coarse = oracle_collection(tmp_path_factory, 3000)
    specz_path = folder / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    small = folder / "small_specz.parquet"
    specz.iloc[:40].to_parquet(small, index=False)
    return Inputs(folder, fine, coarse, specz_path, small)


def test_collections_really_differ_in_partitioning(inputs):
    import hats

    fine = len(hats.read_hats(inputs.fine).main_catalog.get_healpix_pixels())
    coarse = len(hats.read_hats(inputs.coarse).main_catalog.get_healpix_pixels())
    assert fine >= 2 * coarse > 0


# ------------------------------------------------------------------ concurrency


def test_eight_runs_at_once_on_one_registry(inputs, tmp_path):
    home = tmp_path / "home"
    processes = [
        start(["run", "--name", f"together{i}", "--redshift", str(inputs.small_specz),
               "--object", str(inputs.fine), "--json"], home)
        for i in range(CONCURRENT_RUNS)
    ]
    results = [finish(process) for process in processes]

    for result in results:
        assert "database is locked" not in result.stderr
        assert result.code == 0, result.stderr
        assert without_library_warnings(result.stderr) == []
    records = [json.loads(result.stdout) for result in results]
    assert len({record["id"] for record in records}) == CONCURRENT_RUNS
    listed = products(home)
    assert sorted(p.status for p in listed) == ["done"] * CONCURRENT_RUNS
    assert {p.name for p in listed} == {f"together{i}" for i in range(CONCURRENT_RUNS)}
    frames = [read_rows(p) for p in listed]
    assert len(frames[0]) > 0
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])


# ------------------------------------------------------------ killed and stopped


SIGNALS = {"kill": signal.SIGKILL, "int": signal.SIGINT, "term": signal.SIGTERM}


@dataclass
class Stopped:
    home: Path
    output_dir: Path
    args: tuple[str, ...]
    result: Completed
    partial_seen: bool
    before_reap: list
    """Products as the registry held them right after the process ended."""
    listing: list[dict]
    """``tsmaker products list --json`` afterwards."""


def _stop_run_args(inputs: Inputs, output_dir: Path) -> list[str]:
    # One thread and many small partitions: the output file is written for seconds.
    return ["run", "--name", "stopped", "--redshift", str(inputs.specz), "--object",
            str(inputs.fine), "--output-dir", str(output_dir), "--threads-per-worker", "1",
            *MATCH_FLAGS]


@pytest.fixture(scope="module")
def stopped(inputs, tmp_path_factory) -> dict[str, Stopped]:
    """One run per signal, each signalled once its output file is being written."""
    running = {}
    for key in SIGNALS:
        home = tmp_path_factory.mktemp(f"stop_{key}")
        output_dir = home / "out"
        output_dir.mkdir()
        args = _stop_run_args(inputs, output_dir)
        running[key] = (home, output_dir, args, start(args, home))
    signalled: dict[str, bool] = {}
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        while len(signalled) < len(running) and time.monotonic() < deadline:
            for key, (_, output_dir, _, process) in running.items():
                if key in signalled:
                    continue
                if process.poll() is not None:
                    signalled[key] = False  # finished before we could stop it
                elif list(output_dir.glob(".*.parquet.partial-*")):
                    process.send_signal(SIGNALS[key])
                    signalled[key] = True
            time.sleep(0.01)
        results = {key: finish(entry[3]) for key, entry in running.items()}
    finally:
        for _, _, _, process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    before_reap = {key: products(entry[0]) for key, entry in running.items()}
    with ThreadPoolExecutor(max_workers=len(running)) as pool:
        listings = {key: pool.submit(tsmaker, "products", "list", "--json", home=entry[0])
                    for key, entry in running.items()}
        listings = {key: future.result() for key, future in listings.items()}
    stopped = {}
    for key, (home, output_dir, args, _) in running.items():
        listing = listings[key]
        assert listing.code == 0, listing.stderr
        stopped[key] = Stopped(home, output_dir, tuple(args), results[key],
                               signalled.get(key, False), before_reap[key],
                               json.loads(listing.stdout))
    return stopped


def _assert_interrupted_without_files(stop: Stopped) -> dict:
    assert stop.partial_seen, "the run ended before its output file was being written"
    (record,) = stop.listing
    assert record["status"] == "interrupted"
    assert record["files"] == []
    planned = [Path(name) for name in record["summary"]["planned_files"]]
    assert planned and all(path.parent == stop.output_dir.resolve() for path in planned)
    assert not any(path.exists() for path in planned), "no file under a final name"
    assert sorted(os.listdir(stop.output_dir)) == [], "no .partial- or other leftovers"
    return record


def test_sigkill_leaves_an_interrupted_product_and_no_files(stopped):
    stop = stopped["kill"]
    assert stop.result.code == -signal.SIGKILL
    (before,) = stop.before_reap
    assert before.status == "running", "a killed process cannot record anything itself"
    record = _assert_interrupted_without_files(stop)
    assert record["message"] == STALE_PRODUCT_MESSAGE


def test_rerun_after_sigkill_succeeds(stopped):
    stop = stopped["kill"]
    again = tsmaker(*stop.args, home=stop.home)
    assert again.code == 0, again.stderr
    listed = {p.id: p for p in products(stop.home)}
    assert len(listed) == 2
    old, new = listed[min(listed)], listed[max(listed)]
    assert old.status == "interrupted" and new.status == "done"
    assert again.stdout.startswith(f"stopped_{new.id}: {new.rows} rows -> ")
    assert len(read_rows(new)) == new.rows > 0
    assert sorted(os.listdir(stop.output_dir)) == sorted(Path(f).name for f in new.files)


@pytest.mark.parametrize("key", ["int", "term"])
def test_interrupted_run_records_itself_and_leaves_no_files(stopped, key):
    stop = stopped[key]
    (before,) = stop.before_reap
    assert before.status == "interrupted" and before.message == "interrupted"
    _assert_interrupted_without_files(stop)
    assert "Traceback" not in stop.result.stderr
    assert stop.result.stdout == ""


def test_sigterm_exits_130_with_one_line(stopped):
    result = stopped["term"].result
    assert result.code == 130
    assert without_library_warnings(result.stderr) == ["Error: stopped by SIGTERM"]


def test_sigint_exits_130_with_one_line(stopped):
    result = stopped["int"].result
    assert result.code == 130
    assert without_library_warnings(result.stderr) == ["Error: interrupted"]


# ------------------------------------------------------------------ determinism


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory) -> tuple[Path, object]:
    """In-process threads (``execution={"workers": None}``) on the fine collection."""
    from tsmaker import make_training_set

    home = tmp_path_factory.mktemp("determinism")
    with Registry(home / "registry.sqlite") as registry:
        product = make_training_set(
            "reference", inputs.specz, inputs.fine, registry=registry,
            output_dir=str(home / "products"), radius_arcsec=3.0, n_neighbors=3,
            split_fraction=0.7, seed=5, execution={"workers": None},
        )
    frame = read_rows(product)
    assert len(frame) > 200 and set(frame["match_rank"]) == {1, 2, 3}
    assert product.summary["partitions"] > 10
    return home, product


def test_partition_layout_does_not_change_rows(inputs, reference, tmp_path):
    from tsmaker import make_training_set

    _, expected = reference
    with Registry(tmp_path / "registry.sqlite") as registry:
        coarse = make_training_set(
            "coarse", inputs.specz, inputs.coarse, registry=registry,
            output_dir=str(tmp_path), radius_arcsec=3.0, n_neighbors=3, split_fraction=0.7,
            seed=5,
        )
    assert coarse.summary["partitions"] < expected.summary["partitions"]
    pd.testing.assert_frame_equal(read_rows(coarse), read_rows(expected))


@pytest.fixture(scope="module")
def like_runs(reference) -> dict[str, Completed]:
    home, product = reference
    return run_together({
        "again": ["run", "--like", product.full_name, "--name", "again", "--json"],
        "workers": ["run", "--like", str(product.id), "--name", "workers", "--workers", "2",
                    "--json"],
    }, home)


def test_like_reproduces_the_same_rows(reference, like_runs):
    _, product = reference
    result = like_runs["again"]
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["name"] == "again" and record["id"] != product.id
    ignored = {"name", "execution"}
    assert {k: v for k, v in record["parameters"].items() if k not in ignored} == {
        k: v for k, v in product.parameters.items() if k not in ignored}
    pd.testing.assert_frame_equal(pd.read_parquet(record["files"][0]), read_rows(product))


def test_two_worker_processes_give_the_same_rows(reference, like_runs):
    _, product = reference
    result = like_runs["workers"]
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["parameters"]["execution"] == {"workers": 2}
    assert record["summary"]["executor"] == "local cluster of 2 workers"
    pd.testing.assert_frame_equal(pd.read_parquet(record["files"][0]), read_rows(product))


# ------------------------------------------------------------ property-based


finite = st.floats(allow_nan=False, allow_infinity=False)
in_range_dec = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, in_range_dec), min_size=1, max_size=40))
def test_ra_is_wrapped_into_0_360_and_kept_modulo_360(rows):
    ra = np.array([r for r, _ in rows], dtype=np.float64)
    dec = np.array([d for _, d in rows], dtype=np.float64)
    frame = pd.DataFrame({"ra": ra, "dec": dec, "z": np.full(len(rows), 0.5)})
    catalog = RedshiftCatalog(frame=frame, roles={"ra": "ra", "dec": "dec", "z": "z"})

    cleaned = clean_redshift_catalog(catalog, source="hypothesis", coord_unit="deg")

    out = cleaned.frame
    np.testing.assert_array_equal(out["specz_row"], np.arange(len(rows)))
    wrapped = out["ra"].to_numpy()
    assert ((wrapped >= 0.0) & (wrapped < 360.0)).all()
    for given_ra, new_ra in zip(ra, wrapped, strict=True):
        # Exact rational arithmetic: the change is a whole number of turns, up to the
        # rounding of one addition of 360.
        change = Fraction(float(new_ra)) - Fraction(float(given_ra))
        turns = round(change / 360)
        assert abs(change - 360 * turns) <= Fraction(1, 10**12)
        if 0.0 <= given_ra < 360.0:
            assert new_ra == given_ra
    np.testing.assert_array_equal(out["dec"].to_numpy(), dec)
    outside = int(((ra < 0.0) | (ra >= 360.0)).sum())
    assert cleaned.report["ra_wrapped_into_0_360"] == outside


positive_flux = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False,
                          allow_nan=False)
zero_point = st.floats(min_value=-50.0, max_value=50.0)


@settings(max_examples=300, deadline=None)
@given(positive_flux, zero_point)
def test_magnitude_of_a_positive_flux(flux, zp):
    magnitude = float(flux_to_mag(flux, zp))
    assert abs(magnitude - (-2.5 * math.log10(flux) + zp)) <= 1e-9


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-30, max_value=1e30), zero_point)
def test_magnitude_round_trips_to_the_flux(flux, zp):
    magnitude = flux_to_mag(np.array([flux]), zp)[0]
    assert math.isclose(10 ** (-0.4 * (magnitude - zp)), flux, rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(max_value=0.0), st.just(float("nan"))), min_size=1,
                max_size=20),
       st.floats(min_value=0.0, max_value=1e6))
def test_no_magnitude_for_a_flux_that_is_not_positive(fluxes, error):
    assert np.isnan(flux_to_mag(fluxes)).all()
    assert np.isnan(flux_err_to_mag_err(fluxes, np.full(len(fluxes), error))).all()


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-20, max_value=1e20), st.floats(min_value=1e-20, max_value=1e20),
       st.floats(min_value=1e-3, max_value=1e3))
def test_magnitude_error_is_err_over_flux_scaled(flux, error, scale):
    mag_error = float(flux_err_to_mag_err(flux, error))
    assert math.isclose(mag_error, 2.5 / math.log(10) * error / flux, rel_tol=1e-12)
    # Only the ratio matters, and the error is linear in the flux error.
    assert math.isclose(float(flux_err_to_mag_err(flux * scale, error * scale)), mag_error,
                        rel_tol=1e-12)
    assert math.isclose(float(flux_err_to_mag_err(flux, 2 * error)), 2 * mag_error,
                        rel_tol=1e-12)
