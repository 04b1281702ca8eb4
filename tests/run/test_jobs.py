"""Queued runs: submitted, run in a process of their own, cancelled; and the finishing guard."""

import contextlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tsmaker import atomic
from tsmaker.errors import ParameterError, ProductError, RunCancelled, RunInterrupted
from tsmaker.parameters import RunParameters
from tsmaker.registry import Registry
from tsmaker.run.cancellation import CancellationWatch
from tsmaker.run.ending import finish as _finish
from tsmaker.run.jobs import queued_parameters, submit_run


def _queued(registry: Registry, name: str = "q", **changes) -> int:
    parameters = RunParameters(name=name, redshift_catalog="demo-specz", object_catalog="demo",
                               **changes)
    return submit_run(parameters, registry).id


def test_submit_registers_a_queued_product_only_for_valid_parameters(registry):
    with pytest.raises(ParameterError, match="radius_arcsec 0"):
        _queued(registry, radius_arcsec=0)
    assert registry.list_products() == []
    product = registry.get_product(_queued(registry, n_neighbors=2))
    assert product.status == "queued" and product.pid is not None
    assert queued_parameters(product).n_neighbors == 2


def test_queued_lifecycle_start_cancel(registry):
    started = _queued(registry, "a")
    running = registry.start_product(started, parameters={"x": 1}, inputs={"i": 2}, versions={})
    assert running.status == "running" and running.parameters == {"x": 1}
    with pytest.raises(ProductError, match="is running, not queued"):
        registry.start_product(started, parameters={}, inputs={}, versions={})

    waiting = _queued(registry, "b")
    before = registry.cancel_product(waiting)
    assert before.status == "queued"
    assert registry.get_product(waiting).status == "cancelled"
    with pytest.raises(RunCancelled, match="b_2 is cancelled, not queued"):
        registry.start_product(waiting, parameters={}, inputs={}, versions={})
    with pytest.raises(ProductError, match="only a queued or running product can be cancelled"):
        registry.cancel_product(waiting)


def test_a_cancelled_run_keeps_no_file_under_its_final_name(registry, tmp_path):
    tmp_path = tmp_path / "products"
    tmp_path.mkdir()
    product = registry.create_product(name="c", description="", parameters={}, inputs={},
                                      versions={})
    data_path, sidecar = tmp_path / "c_1.parquet", tmp_path / "c_1.json"
    temporary = atomic.partial_path(data_path)
    temporary.write_bytes(b"rows")
    registry.cancel_product(product.id)

    with pytest.raises(RunCancelled, match="c_1 was cancelled while it ran"):
        _finish(registry, product, atomic.PendingFile(temporary, data_path), sidecar,
                {"rows": 1})
    assert list(tmp_path.iterdir()) == []
    assert registry.get_product(product.id).status == "cancelled"


def test_a_finished_run_moves_its_files_and_is_done_in_one_step(registry, tmp_path):
    tmp_path = tmp_path / "products"
    tmp_path.mkdir()
    product = registry.create_product(name="d", description="", parameters={}, inputs={},
                                      versions={})
    data_path, sidecar = tmp_path / "d_1.parquet", tmp_path / "d_1.json"
    temporary = atomic.partial_path(data_path)
    temporary.write_bytes(b"rows")
    done = _finish(registry, product, atomic.PendingFile(temporary, data_path), sidecar,
                   {"rows": 3})
    assert done.status == "done" and done.rows == 3
    assert data_path.read_bytes() == b"rows" and sidecar.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d_1.json", "d_1.parquet"]


class _SignalledOnceDone(Registry):
    """A registry whose ``finishing`` block is interrupted (SIGTERM's exception) just
    after it commits."""

    @contextlib.contextmanager
    def finishing(self, product_id: int):
        with super().finishing(product_id) as done:
            yield done
        raise RunInterrupted("stopped by SIGTERM")


@pytest.mark.parametrize("recorded", [True, False])
def test_a_signal_once_the_product_is_recorded_done_keeps_its_files(tmp_path, recorded):
    """Stopped after the transaction committed, the product is done and its files stay
    (the interrupt goes on: a script's loop stops); stopped before (the sidecar failed),
    the rename is taken back and it stays running."""
    folder = tmp_path / "products"
    folder.mkdir()
    with _SignalledOnceDone(tmp_path / "registry.db") as registry:
        product = registry.create_product(name="s", description="", parameters={},
                                          inputs={}, versions={})
        data_path, sidecar = folder / "s_1.parquet", folder / "s_1.json"
        temporary = atomic.partial_path(data_path)
        temporary.write_bytes(b"rows")
        if not recorded:
            sidecar.mkdir()  # the sidecar cannot take its name: the transaction rolls back
        pending = atomic.PendingFile(temporary, data_path)
        if recorded:
            with pytest.raises(RunInterrupted):
                _finish(registry, product, pending, sidecar, {"rows": 3})
            done = registry.get_product(product.id)
            assert done.status == "done" and done.rows == 3
            assert data_path.read_bytes() == b"rows" and sidecar.is_file()
            assert not temporary.exists()
        else:
            with pytest.raises(FileExistsError):
                _finish(registry, product, pending, sidecar, {"rows": 3})
            assert registry.get_product(product.id).status == "running"
            assert sorted(p.name for p in folder.iterdir()) == ["s_1.json"]  # the folder


def test_cancellation_is_noticed_as_partitions_finish(registry, monkeypatch):
    product = registry.create_product(name="w", description="", parameters={}, inputs={},
                                      versions={})
    seen = []
    watch = CancellationWatch(registry, product, lambda event, **info: seen.append(event))
    monkeypatch.setattr(CancellationWatch, "INTERVAL_SECONDS", 0.0)
    watch("advance", rows=1, partitions=1)
    registry.cancel_product(product.id)
    with pytest.raises(RunCancelled, match="w_1 was cancelled while it ran"):
        watch("advance", rows=1, partitions=1)
    assert seen == ["advance", "advance"]


def test_removal_is_marked_first_and_finished_later(registry, tmp_path):
    from tsmaker.manage.products import remove_product
    from tsmaker.run.reaping import reap_interrupted_products

    product = registry.create_product(name="r", description="", parameters={}, inputs={},
                                      versions={})
    kept = tmp_path / "r_1.parquet"
    kept.write_bytes(b"x")
    with registry.finishing(product.id) as done:
        done(rows=1, files=[str(kept)], summary={})
    marked = registry.begin_removal(product.id)  # as a removal cut short would leave it
    assert marked.status == "done"
    assert registry.get_product(product.id).status == "removing"
    assert kept.exists()
    reap_interrupted_products(registry)  # the next command finishes it
    assert not kept.exists() and registry.find_product(product.id) is None

    running = registry.create_product(name="s", description="", parameters={}, inputs={},
                                      versions={})
    with pytest.raises(ProductError, match="is still running"):
        remove_product(running.id, registry=registry)
    assert registry.get_product(running.id).status == "running"
    remove_product(running.id, force=True, registry=registry)
    assert registry.find_product(running.id) is None


@pytest.mark.slow
def test_a_queued_run_runs_in_its_own_process_like_the_command_line(registry, tsmaker_home):
    queued = _queued(registry, "job", n_neighbors=2)
    finished = subprocess.run([sys.executable, "-m", "tsmaker.run.jobs", str(queued)],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    product = registry.get_product(queued)
    assert product.status == "done"
    rows = pd.read_parquet(product.files[0])
    assert len(rows) == product.rows > 0
    assert Path(product.files[1]).exists()

    cancelled = _queued(registry, "gone")
    registry.cancel_product(cancelled)
    refused = subprocess.run([sys.executable, "-m", "tsmaker.run.jobs", str(cancelled)],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 130  # a stopped run, like Ctrl-C
    assert refused.stderr.strip().splitlines() == [
        f"Error: product gone_{cancelled} is cancelled, not queued; "
        "only a queued product can be started"]
