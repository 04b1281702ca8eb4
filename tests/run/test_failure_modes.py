"""Failure modes a hostile user finds (issue 19): nothing lost, nothing half-done.

Each test reproduces one failure seen on the code before the fix, with real processes
(``python -m tsmaker``), real signals, real SQLite files and, where the test can make
them (as root), real mounts: small tmpfs file systems that fill up, read-only bind
mounts. Where a mount cannot be made the test is skipped with the reason. Every run
uses the built-in demo catalogs, generated once for the module and given by path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import Completed, without_library_warnings

from tsmaker.registry.database import Registry

pytestmark = pytest.mark.slow  # real processes, signals and mounts

TIMEOUT_SECONDS = 300
FORMATS = ("parquet", "csv", "fits", "hdf5", "hats")


# ---------------------------------------------------------------------------- helpers


def environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("TSMAKER_DUSTMAPS_DIR", "TSMAKER_SCHEDULER", "TSMAKER_DEBUG"):
        env.pop(name, None)
    env.update({"TSMAKER_HOME": str(home), "COLUMNS": "200"}, **(extra or {}))
    return env


def start(args: Sequence[str], home: Path, *, harness: str | None = None,
          extra_env: Mapping[str, str] | None = None, preexec=None) -> subprocess.Popen:
    """``python -m tsmaker ARGS`` (or the harness script) in a session of its own."""
    command = [sys.executable, "-c", harness, *args] if harness else [
        sys.executable, "-m", "tsmaker", *args]

    def prepare() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal starts it
        if preexec is not None:
            preexec()

    return subprocess.Popen(
        command, env=environment(home, extra_env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=prepare,
    )


def finish(process: subprocess.Popen, timeout: float = TIMEOUT_SECONDS) -> Completed:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return Completed(tuple(process.args[3:]), process.returncode, stdout, stderr)


def tsmaker(*args: str, home: Path, timeout: float = TIMEOUT_SECONDS, **options) -> Completed:
    return finish(start(args, home, **options), timeout)


def error_lines(result: Completed) -> list[str]:
    return without_library_warnings(result.stderr)


def products(home: Path) -> list:
    with Registry(home / "registry.sqlite") as registry:
        return registry.list_products()


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def rows_of(path: Path) -> int:
    from tsmaker.formats.tables import read_product_table

    return len(read_product_table(path))


# ------------------------------------------------------------------------- mounts


def _mount(*args: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to make the file system this case is about")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip()})")


def _unmount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path``: a disk that fills up for real."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _unmount(path)


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` (a file or folder) bind-mounted read-only onto itself: even root cannot write."""
    _mount("--bind", str(path), str(path))
    try:
        remounted = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)],
                                   capture_output=True, text=True)
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only here ({remounted.stderr.strip()})")
        yield path
    finally:
        _unmount(path)


# ------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Demo:
    objects: Path
    specz: Path
    big_specz: Path
    """80 jittered copies of the demo spec-z (200,000 rows): a run that lasts seconds."""

    def run_args(self, name: str, output_dir: Path, *extra: str) -> list[str]:
        return ["run", "--name", name, "--redshift", str(self.specz), "--object",
                str(self.objects), "--output-dir", str(output_dir), *extra]

    def slow_run_args(self, name: str, output_dir: Path) -> list[str]:
        return ["run", "--name", name, "--redshift", str(self.big_specz), "--object",
                str(self.objects), "--output-dir", str(output_dir), "--format", "csv",
                "--radius", "3", "--neighbors", "5", "--threads-per-worker", "1"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from tsmaker.demo.builtin import ensure_demo_data

    folder = tmp_path_factory.mktemp("demo")
    objects, specz = ensure_demo_data(folder / "data")
    frame = pd.read_parquet(specz)
    rng = np.random.default_rng(19)
    copies = []
    for copy in range(80):
        jitter = rng.normal(0.0, 0.5 / 3600.0, (2, len(frame)))
        copies.append(frame.assign(ra=frame["ra"] + jitter[0], dec=frame["dec"] + jitter[1],
                                   specz_id=frame["specz_id"] + copy * 10**6))
    big = folder / "big_specz.parquet"
    pd.concat(copies, ignore_index=True).to_parquet(big, index=False)
    return Demo(objects, specz, big)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def wait_for(condition, what: str, timeout: float = TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --------------------------------------------------- products never overwrite each other


def _assert_record_matches_its_file(product) -> None:
    assert product.status == "done"
    data = Path(product.files[0])
    assert rows_of(data) == product.rows
    sidecar = json.loads(Path(product.files[1]).read_text())
    assert (sidecar["id"], sidecar["rows"], sidecar["files"]) == (
        product.id, product.rows, product.files)


@pytest.mark.parametrize("how", ["moved aside", "truncated"])
def test_a_registry_started_afresh_never_reuses_a_products_names(demo, home, how):
    first = tsmaker(*demo.run_args("t", home / "products"), home=home)
    assert first.code == 0, first.stderr
    (old,) = products(home)
    old_bytes = Path(old.files[0]).read_bytes()
    registry = home / "registry.sqlite"
    if how == "moved aside":  # what the message about a damaged registry suggests
        registry.rename(home / "registry.aside")
    else:
        registry.write_bytes(b"")
    second = tsmaker(*demo.run_args("t", home / "products", "--z-min", "1"), home=home)
    assert second.code == 0, second.stderr
    (new,) = products(home)
    assert new.id == old.id + 1, "ids continue after the products found beside the registry"
    assert Path(old.files[0]).read_bytes() == old_bytes
    assert new.rows < old.rows
    _assert_record_matches_its_file(new)
    assert listing(home / "products") == sorted(
        [Path(name).name for name in old.files + new.files])


def test_two_homes_sharing_an_output_folder_never_overwrite(demo, tmp_path, out):
    homes = [tmp_path / f"home{index}" for index in range(4)]
    z_mins = ["0", "0.3", "0.6", "0.9"]  # four different products, all with id 1
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda case: tsmaker(*demo.run_args("t", out, "--z-min", case[1]), home=case[0]),
            zip(homes, z_mins, strict=True)))
    for result in results:
        assert result.code == 0, result.stderr
    records = [products(home_folder)[0] for home_folder in homes]
    assert [record.id for record in records] == [1, 1, 1, 1]
    stems = sorted(Path(record.files[0]).stem for record in records)
    assert stems == ["t_1", "t_1-2", "t_1-3", "t_1-4"]
    for record in records:
        _assert_record_matches_its_file(record)
    assert len({record.rows for record in records}) == 4
    assert len(listing(out)) == 8, "each product's data file and sidecar, nothing else"
    renamed = [result for result in results if "files named t_1-" in result.stderr]
    assert len(renamed) == 3


def test_a_later_run_into_the_same_folder_takes_a_fresh_name(demo, tmp_path, out):
    first = tsmaker(*demo.run_args("t", out), home=tmp_path / "a")
    assert first.code == 0, first.stderr
    before = (out / "t_1.parquet").read_bytes()
    second = tsmaker(*demo.run_args("t", out, "--z-min", "1"), home=tmp_path / "b")
    assert second.code == 0, second.stderr
    assert second.stdout.startswith(f"t_1: 704 rows -> {out / 't_1-2.parquet'}")
    assert "Note: files named t_1-2.* because t_1.* already exist" in second.stderr
    assert (out / "t_1.parquet").read_bytes() == before


@pytest.mark.parametrize("output_format", ["parquet", "hats"])
def test_a_file_appearing_under_the_final_name_is_never_replaced(demo, home, out,
                                                                 output_format):
    from tsmaker import make_training_set
    from tsmaker.errors import ParameterError

    final = out / f"t_1.{output_format}"

    def someone_else_writes_there(event: str, **info) -> None:
        if event == "finishing":  # after the names were claimed, before the rename
            if output_format == "hats":
                final.mkdir()
                (final / "theirs.txt").write_text("theirs")
            else:
                final.write_text("theirs")

    with Registry(home / "registry.sqlite") as registry:
        with pytest.raises(ParameterError, match="appeared in output folder") as raised:
            make_training_set("t", demo.specz, demo.objects, output_dir=out,
                              output_format=output_format, registry=registry,
                              report=someone_else_writes_there)
        (product,) = registry.list_products()
    assert "never replaces a file it did not create" in raised.value.message("cli")
    assert product.status == "failed"
    theirs = final / "theirs.txt" if output_format == "hats" else final
    assert theirs.read_text() == "theirs"
    assert listing(out) == [final.name], "no sidecar, no temporary file, no claim left"


# --------------------------------------------- removal and cancellation are transactions


def _start_slow_run(demo: Demo, home: Path, out: Path) -> subprocess.Popen:
    warm = tsmaker("products", "list", home=home)  # the registry exists before the race
    assert warm.code == 0, warm.stderr
    process = start(demo.slow_run_args("slow", out), home)
    wait_for(lambda: any(".partial-" in name for name in os.listdir(out))
             or process.poll() is not None, "the run to write its file")
    assert process.poll() is None, "the run ended before it could be stopped"
    return process


def test_rm_force_stops_a_running_run_and_keeps_nothing(demo, home, out):
    process = _start_slow_run(demo, home, out)
    removed = tsmaker("products", "rm", "slow_1", "--force", "--yes", home=home)
    assert removed.code == 0, removed.stderr
    assert removed.stderr.strip() == "Removed slow_1 (0 file(s))"
    assert listing(out) == [], "no file under a final name, no sidecar, no temporary file"
    result = finish(process)
    assert result.code == 130
    assert error_lines(result) == [
        "Error: product slow_1 was removed while it ran; its files were not kept"]
    assert result.stdout == ""
    assert products(home) == [] and listing(out) == []


def test_cancel_stops_a_running_run_and_keeps_nothing(demo, home, out):
    from tsmaker.manage.products import cancel_product

    process = _start_slow_run(demo, home, out)
    with Registry(home / "registry.sqlite") as registry:
        cancelled = cancel_product("slow_1", registry=registry)
    assert cancelled.status == "cancelled"
    assert listing(out) == []
    result = finish(process)
    assert result.code == 130
    assert error_lines(result) == [
        "Error: product slow_1 was cancelled while it ran; its files were not kept"]
    (record,) = products(home)
    assert record.status == "cancelled" and record.files == []


def test_rm_on_a_read_only_registry_changes_nothing(demo, home, out):
    made = tsmaker(*demo.run_args("t", out), home=home)
    assert made.code == 0, made.stderr
    files = sorted(out.iterdir())
    with read_only(home / "registry.sqlite"):
        removed = tsmaker("products", "rm", "t_1", "--yes", home=home)
        located = tsmaker("products", "path", "t_1", home=home)
    assert removed.code == 1
    registry = home / "registry.sqlite"
    assert error_lines(removed) == [
        f"Error: the registry {registry} is read-only (attempt to write a readonly database), "
        f"so nothing was changed; make it and its folder writable (e.g. chmod u+w {registry} "
        f"{home}), or set TSMAKER_HOME to a writable folder"]
    assert sorted(out.iterdir()) == files, "the files were not deleted"
    assert located.code == 0 and located.stdout == f"{out / 't_1.parquet'}\n"
    (record,) = products(home)
    assert record.status == "done"


def test_products_path_refuses_a_missing_file(demo, home, out):
    made = tsmaker(*demo.run_args("t", out), home=home)
    assert made.code == 0, made.stderr
    (out / "t_1.parquet").unlink()
    located = tsmaker("products", "path", "t_1", home=home)
    assert located.code == 1 and located.stdout == ""
    assert error_lines(located) == [
        f"Error: data file '{out / 't_1.parquet'}' of product t_1 is missing; it was moved "
        "or deleted: run the product again, or remove it with `tsmaker products rm`"]


def test_a_removal_cut_short_is_reported_then_finished_by_the_next_command(demo, home, out):
    made = tsmaker(*demo.run_args("t", out), home=home)
    assert made.code == 0, made.stderr
    with read_only(out):
        removed = tsmaker("products", "rm", "t_1", "--yes", home=home)
        (during,) = products(home)
    assert removed.code == 1
    (line,) = error_lines(removed)
    assert line.startswith(f"Error: cannot delete '{out / 't_1.parquet'}' of product t_1 "
                           "(Read-only file system); it is marked 'removing'")
    assert during.status == "removing"
    listed = tsmaker("products", "list", "--json", home=home)
    assert listed.code == 0 and json.loads(listed.stdout) == []
    assert products(home) == [] and listing(out) == []


# ------------------------------------------------------------- a disk that refuses


def _disk_message(folder: Path, reason: str, errno_value: int, advice: str) -> str:
    return (f"Error: cannot write the product into output folder '{folder}': {reason} "
            f"(errno {errno_value}); {advice}, or choose another folder with --output-dir")


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_full_disk_gives_one_line_naming_the_folder(demo, home, tmp_path, output_format):
    with tmpfs(tmp_path / "full", "64k") as full:
        result = tsmaker(*demo.run_args("t", full, "--format", output_format), home=home)
        left = listing(full)
    assert result.code == 1, result.stderr
    assert error_lines(result) == [
        _disk_message(full, "no space left on device", 28, "free space there")]
    assert left == [], "no partial file, no claim"
    (record,) = products(home)
    assert record.status == "failed" and "no space left on device" in record.message


@pytest.mark.parametrize("output_format", ["parquet", "csv", "fits", "hdf5"])
def test_a_file_size_limit_gives_one_line_naming_the_folder(demo, home, out, output_format):
    import resource

    def limit_file_size() -> None:  # `ulimit -f 250`: no root needed, the same code path
        resource.setrlimit(resource.RLIMIT_FSIZE, (250 * 1024, 250 * 1024))

    warm = tsmaker("products", "list", home=home)
    assert warm.code == 0
    result = tsmaker(*demo.run_args("t", out, "--format", output_format), home=home,
                     preexec=limit_file_size)
    assert result.code == 1, result.stderr
    assert error_lines(result) == [_disk_message(
        out, "file too large (for the file system, or the file size limit of `ulimit -f`)",
        27, "raise the limit")]
    assert listing(out) == []


def test_a_full_disk_under_the_registry_gives_one_line(demo, tmp_path, out):
    with tmpfs(tmp_path / "home", "40k") as full_home:
        result = tsmaker(*demo.run_args("t", out), home=full_home)
    registry = full_home / "registry.sqlite"
    assert result.code == 1
    assert error_lines(result) == [
        f"Error: the disk holding the registry {registry} is full (database or disk is full), "
        "so nothing was changed; free space there, or set TSMAKER_HOME to another folder"]
    assert listing(out) == []


def test_a_read_only_output_folder_is_refused_before_anything_is_registered(demo, home, out):
    with read_only(out):
        result = tsmaker(*demo.run_args("t", out), home=home)
    assert result.code == 1
    assert error_lines(result) == [
        f"Error: output folder '{out}' is not writable (Read-only file system); choose "
        "another with --output-dir"]
    assert products(home) == []


# ---------------------------------------------------------- filters bounded in time


@pytest.mark.parametrize("where", ["z < 9 ** 9 ** 9 ** 9", "z ** 10 ** 100000000 >= 0"])
def test_filters_with_huge_powers_finish_at_once(demo, home, out, where):
    result = tsmaker(*demo.run_args("t", out, "--where", where), home=home, timeout=60)
    assert result.code == 0, result.stderr  # powers are float64: inf at once
    assert result.stdout.startswith("t_1: 1996 rows")


def test_filters_refuse_text_repeated_a_billion_times(demo, home, out):
    result = tsmaker(*demo.run_args("t", out, "--where", "survey * 1000000000 == 'x'"),
                     home=home, timeout=60)
    assert result.code == 1
    assert error_lines(result) == [
        "Error: --where \"survey * 1000000000 == 'x'\": cannot compute 'survey * 1000000000' "
        "on text or lists; use arithmetic on numeric columns only"]
    assert products(home) == []


def test_filters_refuse_deep_nesting(demo, home, out):
    result = tsmaker(*demo.run_args("t", out, "--where", "z > " + "-" * 100_000 + "1"),
                     home=home, timeout=60)
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith("Error: --where 'z > ----") and "write a shorter filter" in line


# ------------------------------------------------------------- interrupts at any moment


#: ``python -c`` script: the CLI, sending itself a signal when the run reports an event
#: (``SIGNAL_AT=event:SIGNAME``; ``exit`` sends it while the interpreter exits).
SIGNAL_AT = """
import atexit, os, signal, sys
wanted, name = os.environ["SIGNAL_AT"].split(":")
signum = getattr(signal, name)
from tsmaker.cli import render
report = render.ProgressReporter.__call__
def call(self, event, **info):
    report(self, event, **info)
    if event == wanted:
        os.kill(os.getpid(), signum)
render.ProgressReporter.__call__ = call
if wanted == "exit":
    atexit.register(os.kill, os.getpid(), signum)
from tsmaker.cli.app import main
sys.argv[0] = "tsmaker"
main()
"""


def run_signalled(demo: Demo, home: Path, out: Path, event: str, name: str) -> Completed:
    return tsmaker(*demo.run_args("t", out), home=home, harness=SIGNAL_AT,
                   extra_env={"SIGNAL_AT": f"{event}:{name}"})


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_before_the_product_is_registered(demo, home, out, name):
    result = run_signalled(demo, home, out, "step", name)
    assert result.code == 130
    expected = "interrupted" if name == "SIGINT" else "stopped by SIGTERM"
    assert error_lines(result) == [f"Error: {expected}"]
    assert products(home) == [] and listing(out) == []


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_while_matching_leaves_an_interrupted_product(demo, home, out, name):
    result = run_signalled(demo, home, out, "advance", name)
    assert result.code == 130 and result.stdout == ""
    assert len(error_lines(result)) == 1
    (record,) = products(home)
    assert record.status == "interrupted" and record.files == []
    assert listing(out) == []


@pytest.mark.parametrize("event", ["finishing", "done", "exit"])
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_once_the_files_move_into_place_ends_done(demo, home, out, event, name):
    result = run_signalled(demo, home, out, event, name)
    assert result.code == 0, result.stderr
    assert result.stdout == f"t_1: 1996 rows -> {out / 't_1.parquet'}\n"
    assert "Error" not in result.stderr and "Traceback" not in result.stderr
    (record,) = products(home)
    assert record.status == "done"
    assert listing(out) == ["t_1.json", "t_1.parquet"]


def _live_processes(group: int) -> list[str]:
    """Processes of a process group still running (zombies, ended but not reaped, are not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(entry.name)
    return found


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.45])
@pytest.mark.parametrize(("name", "line"), [("SIGINT", "Error: interrupted"),
                                            ("SIGTERM", "Error: stopped by SIGTERM")])
def test_a_signal_while_the_command_starts_gives_one_line(demo, home, out, delay, name,
                                                          line):
    # The command line's frameworks and the run's libraries are still being imported.
    process = start(demo.run_args("t", out), home)
    time.sleep(delay)
    os.killpg(process.pid, getattr(signal, name))
    result = finish(process)
    if result.code == 0:  # it finished (or was moving its files into place) first
        assert [record.status for record in products(home)] == ["done"]
    else:
        assert (result.code, error_lines(result), result.stdout) == (130, [line], "")
        assert [record.status for record in products(home)] in ([], ["interrupted"])
        assert listing(out) == []


@pytest.mark.parametrize("delay", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_ctrl_c_while_local_workers_start_gives_one_line(demo, home, out, delay):
    warm = tsmaker("products", "list", home=home)
    assert warm.code == 0
    process = start(demo.run_args("t", out, "--workers", "2"), home)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
    result = finish(process)
    lines = error_lines(result)
    records = products(home)
    if result.code == 0:  # it finished before the signal came
        assert records[0].status == "done" and len(result.stdout.splitlines()) == 1
    else:
        assert (result.code, lines, result.stdout) == (130, ["Error: interrupted"], "")
        assert [record.status for record in records] in ([], ["interrupted"])
        assert listing(out) == []
    wait_for(lambda: not _live_processes(process.pid), "the workers to stop", timeout=30)


# ------------------------------------------------------- every message in one line


def test_a_deleted_margin_catalog_is_named_as_missing(demo, home, out, tmp_path):
    collection = tmp_path / "collection"
    shutil.copytree(demo.objects, collection)
    margins = [path for path in collection.iterdir() if path.name.endswith("arcs")]
    assert len(margins) == 1
    shutil.rmtree(margins[0])
    result = tsmaker("run", "--name", "t", "--redshift", str(demo.specz), "--object",
                     str(collection), "--output-dir", str(out), home=home)
    assert result.code == 1
    assert error_lines(result) == [
        f"Error: the margin cache (default_margin) '{margins[0].name}' of collection "
        f"'{collection}' is missing (no '{margins[0] / 'hats.properties'}'); restore it, or "
        "rebuild the collection with hats-import"]


def test_a_latin1_csv_is_reported_as_not_utf8(demo, home, out, tmp_path):
    frame = pd.read_parquet(demo.specz).head(50).assign(survey="Cañón")
    latin1 = tmp_path / "specz.csv"
    latin1.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    result = tsmaker("run", "--name", "t", "--redshift", str(latin1), "--object",
                     str(demo.objects), "--output-dir", str(out), home=home)
    assert result.code == 1
    assert error_lines(result) == [
        f"Error: redshift file '{latin1}' is not UTF-8 text (byte 0xf1 cannot be decoded); "
        "save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 specz.csv > utf8_specz.csv`"]


def test_save_config_into_a_folder_or_a_read_only_place(demo, home, out, tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    into_folder = tsmaker(*demo.run_args("t", out, "--save-config", str(folder)), home=home)
    assert into_folder.code == 1
    assert error_lines(into_folder) == [
        f"Error: --save-config '{folder}' is a folder; give a file path, e.g. "
        f"--save-config {folder / 'run.toml'}"]
    with read_only(folder):
        read_only_folder = tsmaker(
            *demo.run_args("t", out, "--save-config", str(folder / "run.toml")), home=home)
    assert read_only_folder.code == 1
    assert error_lines(read_only_folder) == [
        f"Error: --save-config '{folder / 'run.toml'}' cannot be written (Read-only file "
        "system); choose a writable file, e.g. --save-config run.toml"]
    assert products(home) == [] and listing(folder) == []


@pytest.mark.parametrize("refused", [
    ["--radius", "0"], ["--where", "z_>"], ["--object", "nosuch"], ["--flux-type", "x"],
    ["--ra", "nosuchcol"],
])
def test_a_refused_run_leaves_an_existing_config_untouched(demo, home, out, tmp_path,
                                                           refused):
    config = tmp_path / "run.toml"
    config.write_text("# mine\n")
    result = tsmaker(*demo.run_args("t", out, *refused, "--save-config", str(config)),
                     home=home)
    assert result.code in (1, 2) and len(error_lines(result)) == 1, result.stderr
    assert config.read_text() == "# mine\n"


def test_products_plot_into_a_folder_or_a_read_only_place(demo, home, out, tmp_path):
    made = tsmaker(*demo.run_args("t", out), home=home)
    assert made.code == 0, made.stderr
    folder = tmp_path / "plots"
    folder.mkdir()
    into_folder = tsmaker("products", "plot", "t_1", "-o", str(folder), home=home)
    assert into_folder.code == 1
    assert error_lines(into_folder) == [
        f"Error: plot file '{folder}' is a folder; give a file path, e.g. --output "
        f"{folder / 't_1.png'}"]
    with read_only(folder):
        read_only_folder = tsmaker("products", "plot", "t_1", "-o", str(folder / "t.png"),
                                   home=home)
    assert read_only_folder.code == 1
    assert error_lines(read_only_folder) == [
        f"Error: plot file '{folder / 't.png'}' cannot be written (Read-only file system); "
        "choose another --output path"]
    assert listing(folder) == []


def test_a_non_ascii_column_name_for_fits_is_refused_before_registering(demo, home, out,
                                                                        tmp_path):
    specz = tmp_path / "specz.parquet"
    pd.read_parquet(demo.specz).rename(columns={"survey": "relevé"}).to_parquet(specz)
    result = tsmaker("run", "--name", "t", "--redshift", str(specz), "--object",
                     str(demo.objects), "--output-dir", str(out), "--format", "fits", home=home)
    assert result.code == 1
    assert error_lines(result) == [
        "Error: column name 'relevé' cannot be stored in FITS (header values are printable "
        "ASCII); rename the column, or choose another format (parquet, csv, hdf5)"]
    assert products(home) == []


@pytest.mark.parametrize(("flag", "value", "choices"), [
    ("--format", "xls", "parquet, csv, fits, hdf5, hats"),
    ("--dust", "foo", "none, catalog, sfd, csfd, planck, planck-gnilc"),
    ("--unique", "x", "none, closest"),
    ("--coord-unit", "x", "auto, deg, hour, rad"),
    ("--z-flag-better", "best", "higher, lower"),
])
def test_a_wrong_choice_is_a_usage_error(demo, home, out, flag, value, choices):
    from tsmaker import RunParameters
    from tsmaker.errors import ParameterError
    from tsmaker.parameters import FLAG_TO_FIELD

    result = tsmaker(*demo.run_args("t", out, flag, value), home=home)
    assert result.code == 2
    assert error_lines(result) == [f"Error: {flag} {value!r} is not one of: {choices}"]
    assert products(home) == []
    field = FLAG_TO_FIELD.get(flag[2:].replace("-", "_"), flag[2:].replace("-", "_"))
    with pytest.raises(ParameterError, match=f"^{field} {value!r} is not one of"):
        RunParameters("t", "s.parquet", "o", **{field: value}).validate()


@pytest.mark.parametrize(("flag", "value"), [
    ("--z-min", "nan"), ("--z-max", "nan"), ("--radius", "nan"), ("--zero-point", "nan"),
    ("--split", "nan"), ("--z-min", "inf"),
])
def test_nan_is_refused_wherever_a_number_is_taken(demo, home, out, flag, value):
    result = tsmaker(*demo.run_args("t", out, flag, value), home=home)
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith(f"Error: {flag} {value} must ")
    assert products(home) == []


@pytest.mark.parametrize(("line", "message"), [
    ("radius = nan", "--radius nan must be a number greater than 0 (arcsec); use e.g. "
     "--radius 1.0"),
    ("z-max = nan", "--z-max nan must be a finite number; use e.g. --z-max 3.0, or leave it "
     "out"),
    ("extinction-coeffs = { u = nan }", "--extinction-coeffs: R_u = nan must be a finite "
     "number, e.g. --extinction-coeffs u=4.81,g=3.64"),
])
def test_nan_in_a_config_file_is_refused(demo, home, out, tmp_path, line, message):
    config = tmp_path / "run.toml"
    config.write_text(f"[run]\n{line}\n")
    result = tsmaker(*demo.run_args("t", out, "--config", str(config)), home=home)
    assert result.code == 1
    assert error_lines(result) == [f"Error: {message}"]
    assert products(home) == []


@pytest.mark.parametrize("name", ["two\nlines", "c1\x85next"])
def test_catalog_names_with_control_characters_are_refused(demo, home, name):
    result = tsmaker("catalogs", "add-redshift", name, str(demo.specz), home=home)
    assert result.code == 1
    assert error_lines(result) == [
        f"Error: invalid catalog name {name!r}: it holds control characters (tab, "
        "newline...); use a name of printable characters"]


@pytest.mark.parametrize("name", ["two\nlines", "with\ttab", "bell\x07", "c1\x85next",
                                  "line\u2028separator"])
def test_names_with_control_characters_are_refused(demo, home, out, name):
    result = tsmaker(*demo.run_args(name, out), home=home)
    assert result.code == 1
    assert error_lines(result) == [
        f"Error: --name {name!r} holds control characters (tab, newline...); give a name of "
        "printable characters"]
    assert products(home) == []


def test_products_list_stays_one_line_per_product(demo, home, out):
    made = tsmaker(*demo.run_args("t", out, "--description", "two\nlines\tand a tab"),
                   home=home)
    assert made.code == 0, made.stderr
    listed = tsmaker("products", "list", home=home)
    header, row = listed.stdout.splitlines()
    assert header.split("\t") == ["id", "full_name", "status", "progress", "rows",
                                  "created_at", "description"]
    cells = row.split("\t")
    assert cells[:5] == ["1", "t_1", "done", "-", "1996"]
    assert cells[6] == "two\\nlines\\tand a tab"


@pytest.mark.parametrize(("unit", "convert"), [
    ("hour", lambda ra, dec: (ra / 15.0, dec)),
    ("rad", lambda ra, dec: (np.radians(ra), np.radians(dec))),
])
def test_specz_outside_the_footprint_are_refused_with_both_ranges(demo, home, out, tmp_path,
                                                                  unit, convert):
    frame = pd.read_parquet(demo.specz)
    ra, dec = convert(frame["ra"].to_numpy(), frame["dec"].to_numpy())
    specz = tmp_path / f"specz_{unit}.parquet"
    frame.assign(ra=ra, dec=dec).to_parquet(specz)
    result = tsmaker("run", "--name", "t", "--redshift", str(specz), "--object",
                     str(demo.objects), "--output-dir", str(out), home=home)
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith(f"Error: no spec-z of '{specz}' is inside the object catalog")
    assert f"the spec-z span RA {ra.min():.4g}..{ra.max():.4g}, Dec {dec.min():.4g}.." in line
    assert "and the catalog RA 36.56..60.14, Dec -51.26..7.783 (degrees)" in line
    assert "give their unit (--coord-unit hour or --coord-unit rad)" in line
    assert products(home) == [] and listing(out) == []
    fixed = tsmaker("run", "--name", "t", "--redshift", str(specz), "--object",
                    str(demo.objects), "--output-dir", str(out), "--coord-unit", unit,
                    home=home)
    assert fixed.code == 0, fixed.stderr
    assert fixed.stdout.startswith("t_1: 1996 rows")
