"""Tests of the SQLite registry, on real database files in tmp_path."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path, PurePosixPath

import pytest

from tsmaker import settings
from tsmaker.errors import CatalogError, InputError, ProductError, RegistryError
from tsmaker.registry import database as registry_module
from tsmaker.registry import sqlite_file
from tsmaker.registry.database import STALE_PRODUCT_MESSAGE, Registry
from tsmaker.registry.filesystems import network_filesystem_type
from tsmaker.registry.records import CatalogRecord, ProductRecord, safe_file_stem

OZDES_COLUMNS = {"ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual", "id": "OzDES_ID"}


@pytest.fixture
def registry(tmp_path: Path):
    with Registry(tmp_path / "home" / "registry.sqlite") as opened:
        yield opened


def add_ozdes(registry: Registry, name: str = "ozdes") -> CatalogRecord:
    return registry.add_catalog(
        kind="redshift",
        name=name,
        location="/data/ozdes.fits",
        columns=OZDES_COLUMNS,
        description="OzDES DR2",
        row_count=25_000,
        fingerprint={"size": 123, "mtime": 1.5},
    )


def start_product(registry: Registry, name: str = "mytrain") -> ProductRecord:
    return registry.create_product(
        name=name,
        description="test run",
        parameters={"radius_arcsec": 1.0, "output": Path("/out/x.parquet")},
        inputs={"redshift": {"location": "/data/ozdes.fits", "fingerprint": {"size": 123}}},
        versions={"tsmaker": "0.1.0", "lsdb": "0.11.0"},
    )


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- catalogs


def test_add_catalog_returns_stored_record(registry: Registry) -> None:
    record = add_ozdes(registry)
    assert record.id == 1
    assert record.kind == "redshift"
    assert record.columns == OZDES_COLUMNS
    assert record.fingerprint == {"size": 123, "mtime": 1.5}
    assert record.row_count == 25_000
    assert record.profile is None
    assert record.created_at.endswith("+00:00")
    assert json.loads(json.dumps(record.to_dict())) == record.to_dict()
    assert record.to_dict()["name"] == "ozdes"


def test_find_catalog_by_name_and_id(registry: Registry) -> None:
    ozdes = add_ozdes(registry)
    dp1 = registry.add_catalog(kind="object", name="dp1", location="/hats/dp1", profile="dp1")
    assert registry.find_catalog("ozdes") == ozdes
    assert registry.find_catalog(str(dp1.id)) == dp1
    assert registry.find_catalog(dp1.id) == dp1
    assert registry.find_catalog("dp1", kind="object") == dp1
    assert registry.find_catalog("dp1", kind="redshift") is None
    assert registry.find_catalog("nope") is None
    assert registry.find_catalog("99") is None


def test_list_catalogs_by_kind(registry: Registry) -> None:
    add_ozdes(registry, "zcosmos")
    add_ozdes(registry, "desi")
    registry.add_catalog(kind="object", name="dp1", location="/hats/dp1")
    assert [record.name for record in registry.list_catalogs()] == ["desi", "dp1", "zcosmos"]
    assert [record.name for record in registry.list_catalogs("redshift")] == ["desi", "zcosmos"]
    assert [record.name for record in registry.list_catalogs("object")] == ["dp1"]
    with pytest.raises(InputError, match="catalog kind 'photo' is not one of"):
        registry.list_catalogs("photo")


def test_duplicate_catalog_name_is_refused_across_kinds(registry: Registry) -> None:
    registry.add_catalog(kind="object", name="main", location="/hats/dp1")
    with pytest.raises(CatalogError) as raised:
        add_ozdes(registry, "main")
    assert str(raised.value) == (
        "catalog 'main' already exists (object catalog at /hats/dp1); remove it with "
        "`tsmaker catalogs remove main` or pick another name"
    )
    assert len(registry.list_catalogs()) == 1


def test_replace_catalog_keeps_id_and_updates_fields(registry: Registry) -> None:
    first = add_ozdes(registry)
    replaced = registry.add_catalog(
        kind="redshift", name="ozdes", location="/data/ozdes_v2.fits", replace=True
    )
    assert replaced.id == first.id
    assert replaced.location == "/data/ozdes_v2.fits"
    assert replaced.columns == {}
    assert registry.get_catalog("ozdes") == replaced


def test_invalid_catalog_names_and_kinds(registry: Registry) -> None:
    with pytest.raises(InputError, match="not only digits"):
        registry.add_catalog(kind="object", name="42", location="/x")
    with pytest.raises(InputError, match="non-empty"):
        registry.add_catalog(kind="object", name="  ", location="/x")
    with pytest.raises(InputError, match="is not one of: object, redshift"):
        registry.add_catalog(kind="spectra", name="x", location="/x")


def test_get_unknown_catalog_lists_known_names_of_that_kind(registry: Registry) -> None:
    add_ozdes(registry, "ozdes")
    add_ozdes(registry, "desi")
    registry.add_catalog(kind="object", name="dp1", location="/hats/dp1")
    with pytest.raises(CatalogError) as raised:
        registry.get_catalog("vvds", kind="redshift")
    assert str(raised.value) == (
        "unknown redshift catalog 'vvds'; known redshift catalogs: desi, ozdes "
        "(see `tsmaker catalogs list`)"
    )
    with pytest.raises(CatalogError, match="'dp1' is an object catalog, not a redshift"):
        registry.get_catalog("dp1", kind="redshift")


def test_get_unknown_catalog_in_empty_registry(registry: Registry) -> None:
    with pytest.raises(CatalogError) as raised:
        registry.get_catalog("dp1", kind="object")
    assert "no object catalogs are registered yet" in str(raised.value)
    assert "`tsmaker catalogs list`" in str(raised.value)


def test_remove_catalog(registry: Registry) -> None:
    ozdes = add_ozdes(registry)
    assert registry.remove_catalog(str(ozdes.id)) == ozdes
    assert registry.find_catalog("ozdes") is None
    with pytest.raises(CatalogError, match="unknown catalog 'ozdes'"):
        registry.remove_catalog("ozdes")
    # The name is free again, and the new catalog gets a fresh id.
    assert add_ozdes(registry).id == ozdes.id + 1


# ---------------------------------------------------------------- products


def test_product_lifecycle_running_to_done(registry: Registry) -> None:
    product = start_product(registry)
    assert product.status == "running"
    assert product.full_name == f"mytrain_{product.id}"
    assert product.pid == os.getpid()
    assert product.parameters["output"] == "/out/x.parquet"
    assert product.finished_at is None

    registry.update_product_summary(product.id, {"matched": 10, "timing_s": {"match": 2}})
    registry.update_product_summary(product.id, {"matched": 12})
    done = registry.finish_product(
        product.id, rows=12, files=["/out/mytrain_1.parquet"], summary={"written": 12}
    )
    assert done.status == "done"
    assert done.rows == 12
    assert done.files == ["/out/mytrain_1.parquet"]
    assert done.summary == {"matched": 12, "timing_s": {"match": 2}, "written": 12}
    assert done.finished_at is not None and done.finished_at >= done.created_at
    assert registry.get_product(str(product.id)) == done
    assert json.loads(json.dumps(done.to_dict()))["full_name"] == done.full_name

    with pytest.raises(ProductError, match="is done, not running"):
        registry.finish_product(product.id, rows=1, files=[], summary={})


def test_fail_and_interrupt_products(registry: Registry) -> None:
    failed = start_product(registry, "a")
    interrupted = start_product(registry, "b")
    registry.fail_product(failed.id, message="column 'z' not found")
    registry.fail_product(interrupted.id, status="interrupted", message="Ctrl-C")
    assert registry.get_product(failed.id).status == "failed"
    assert registry.get_product(failed.id).message == "column 'z' not found"
    assert registry.get_product(interrupted.id).status == "interrupted"
    assert registry.get_product(interrupted.id).finished_at is not None

    # A product that already ended keeps its status and message.
    registry.fail_product(failed.id, status="interrupted", message="late")
    assert registry.get_product(failed.id).status == "failed"
    assert registry.get_product(failed.id).message == "column 'z' not found"

    with pytest.raises(InputError, match="failure status 'done' is not one of"):
        registry.fail_product(failed.id, status="done", message="x")
    # A product removed while it ran: nothing to mark, and the run's own error stays.
    registry.fail_product(999, message="x")
    assert registry.find_product(999) is None
    with pytest.raises(ProductError, match="is failed, not running"):
        registry.finish_product(failed.id, rows=1, files=[], summary={})


def test_list_products_newest_first_and_by_status(registry: Registry) -> None:
    first = start_product(registry, "one")
    second = start_product(registry, "two")
    third = start_product(registry, "three")
    registry.finish_product(second.id, rows=0, files=[], summary={})
    assert [record.id for record in registry.list_products()] == [third.id, second.id, first.id]
    assert [record.id for record in registry.list_products("running")] == [third.id, first.id]
    assert [record.id for record in registry.list_products("done")] == [second.id]
    with pytest.raises(InputError, match="product status 'ok' is not one of"):
        registry.list_products("ok")


def test_get_product_by_id_full_name_and_bare_name(registry: Registry) -> None:
    odd = start_product(registry, "my train/set v2")
    twins = [start_product(registry, "twin"), start_product(registry, "twin")]
    tricky = start_product(registry, "run_1")  # looks like the full name of product 1

    assert registry.get_product(str(odd.id)) == odd
    assert registry.get_product(f"my train/set v2_{odd.id}") == odd
    assert registry.get_product("my train/set v2") == odd
    assert registry.get_product(f"twin_{twins[1].id}") == twins[1]
    assert registry.get_product("run_1") == tricky
    assert registry.get_product(f"run_1_{tricky.id}") == tricky

    with pytest.raises(ProductError) as raised:
        registry.get_product("twin")
    assert str(raised.value) == (
        f"several products are named 'twin' (twin_{twins[0].id}, twin_{twins[1].id}); "
        "refer to one by its full name or id"
    )
    with pytest.raises(ProductError) as raised:
        registry.get_product("nothing")
    assert str(raised.value) == "unknown product 'nothing'; see `tsmaker products list`"
    assert registry.find_product("77") is None
    assert registry.find_product(f"twin_{odd.id}") is None


def test_product_named_with_digits_only(registry: Registry) -> None:
    product = start_product(registry, "2024")
    assert registry.get_product("2024") == product  # no product has id 2024
    assert registry.get_product(f"2024_{product.id}") == product


def test_product_ids_are_never_reused(registry: Registry) -> None:
    first = start_product(registry)
    second = start_product(registry)
    registry.fail_product(second.id, message="x")
    registry.remove_product(second.full_name)
    registry.fail_product(first.id, message="x")
    registry.remove_product(first.id)
    assert registry.list_products() == []
    assert start_product(registry).id == second.id + 1


def test_remove_product_returns_record_and_refuses_running(registry: Registry) -> None:
    product = start_product(registry)
    with pytest.raises(ProductError, match=f"mytrain_{product.id} is still running"):
        registry.remove_product(product.id)
    removed = registry.remove_product(product.id, force=True)
    assert removed.id == product.id
    assert registry.find_product(product.id) is None
    with pytest.raises(ProductError, match="unknown product"):
        registry.remove_product(product.id)


def test_product_name_must_not_be_empty(registry: Registry) -> None:
    with pytest.raises(InputError, match="non-empty name"):
        start_product(registry, " ")


def test_unserialisable_parameters_are_an_input_error(registry: Registry) -> None:
    with pytest.raises(InputError, match="cannot store the parameters.*object"):
        registry.create_product(
            name="x", description="", parameters={"bad": object()}, inputs={}, versions={}
        )
    assert registry.list_products() == []


# ---------------------------------------------------------------- concurrency

WORKER = """
import json, sys, time
from pathlib import Path
from tsmaker.registry.database import Registry

registry_file, go_file, worker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
while not go_file.exists():
    time.sleep(0.005)
ids = []
with Registry(registry_file) as registry:
    for index in range(20):
        product = registry.create_product(
            name=f"worker{worker}", description="", parameters={"index": index},
            inputs={}, versions={},
        )
        registry.update_product_summary(product.id, {"started": index})
        registry.finish_product(product.id, rows=index, files=[], summary={"index": index})
        ids.append(product.id)
print(json.dumps(ids))
"""


@pytest.mark.slow
def test_eight_processes_share_one_registry(tmp_path: Path) -> None:
    # The registry file does not exist yet: the workers also race to create it.
    registry_file = tmp_path / "shared" / "registry.sqlite"
    go_file = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(registry_file), str(go_file), str(worker)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(8)
    ]
    time.sleep(0.5)  # let every interpreter start and wait on the go file
    go_file.touch()
    all_ids = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=180)
        assert worker.returncode == 0, stderr
        assert "database is locked" not in stderr
        all_ids.extend(json.loads(stdout))
    assert len(all_ids) == 160
    assert len(set(all_ids)) == 160

    with Registry(registry_file) as registry:
        products = registry.list_products()
        assert len(products) == 160
        assert {product.status for product in products} == {"done"}
        assert sorted(product.id for product in products) == sorted(all_ids)
        assert registry.list_products("running") == []


# ---------------------------------------------------------------- stale runs


@pytest.mark.slow
def test_reap_stale_products_marks_only_dead_processes(tmp_path: Path) -> None:
    registry_file = tmp_path / "registry.sqlite"
    create_and_exit = """
        import socket, sys
        from pathlib import Path
        from tsmaker.registry.database import Registry
        if len(sys.argv) > 2:
            socket.gethostname = lambda: sys.argv[2]
        with Registry(Path(sys.argv[1])) as registry:
            product = registry.create_product(
                name="crashed", description="", parameters={}, inputs={}, versions={}
            )
        print(product.id)
    """
    dead_run = run_python(create_and_exit, str(registry_file))
    assert dead_run.returncode == 0, dead_run.stderr
    dead_id = int(dead_run.stdout)
    other_host_run = run_python(create_and_exit, str(registry_file), "some-other-node")
    assert other_host_run.returncode == 0, other_host_run.stderr
    other_host_id = int(other_host_run.stdout)

    with Registry(registry_file) as registry:
        live = start_product(registry, "alive")
        assert registry.get_product(dead_id).pid not in (None, os.getpid())

        assert registry.reap_stale_products() == [dead_id]
        dead = registry.get_product(dead_id)
        assert dead.status == "interrupted"
        assert dead.message == STALE_PRODUCT_MESSAGE
        assert dead.finished_at is not None
        assert registry.get_product(live.id).status == "running"
        # Its process may be dead, but on another host we cannot tell.
        assert registry.get_product(other_host_id).status == "running"
        assert registry.reap_stale_products() == []


# ---------------------------------------------------------------- schema versions


def test_registry_newer_than_this_code_is_refused(tmp_path: Path) -> None:
    registry_file = tmp_path / "registry.sqlite"
    Registry(registry_file).close()
    future = sqlite3.connect(registry_file)
    future.execute("PRAGMA user_version = 99")
    future.commit()
    future.close()
    with pytest.raises(RegistryError) as raised:
        Registry(registry_file)
    assert str(registry_file) in str(raised.value)
    assert "schema version 99" in str(raised.value)
    assert "upgrade tsmaker" in str(raised.value)


def test_reopened_file_keeps_data(tmp_path: Path) -> None:
    registry_file = tmp_path / "registry.sqlite"
    with Registry(registry_file) as registry:
        catalog = add_ozdes(registry)
        product = start_product(registry)
    with Registry(registry_file) as registry:
        assert registry.get_catalog("ozdes") == catalog
        assert registry.get_product(product.id) == product
    check = sqlite3.connect(registry_file)
    assert check.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()


CURRENT_VERSION = len(registry_module._MIGRATIONS)


def test_a_version_1_file_is_upgraded_keeping_its_rows_and_its_id_sequence(tmp_path):
    registry_file = tmp_path / "registry.sqlite"
    old = sqlite3.connect(registry_file)
    for statement in registry_module._MIGRATIONS[0]:
        old.execute(statement)
    for name in ("a", "b", "c"):
        old.execute("INSERT INTO products (name, status, created_at) VALUES (?, 'done', 'x')",
                    (name,))
    old.execute("DELETE FROM products WHERE name = 'c'")  # id 3 must never come back
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()

    with Registry(registry_file) as registry:
        assert [p.full_name for p in registry.list_products()] == ["b_2", "a_1"]
        queued = registry.create_product(name="q", description="", parameters={}, inputs={},
                                         versions={}, status="queued")
        assert queued.id == 4 and queued.status == "queued"
    check = sqlite3.connect(registry_file)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 2
    check.close()


def test_newer_code_migrates_a_file(tmp_path: Path, monkeypatch) -> None:
    registry_file = tmp_path / "registry.sqlite"
    with Registry(registry_file) as registry:
        catalog = add_ozdes(registry)
    version_2 = ("ALTER TABLE catalogs ADD COLUMN sky_area_deg2 REAL",)
    monkeypatch.setattr(registry_module, "_MIGRATIONS", (*registry_module._MIGRATIONS, version_2))
    with Registry(registry_file) as registry:
        assert registry.get_catalog("ozdes") == catalog
    check = sqlite3.connect(registry_file)
    assert check.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION + 1
    columns = [row[1] for row in check.execute("PRAGMA table_info(catalogs)")]
    check.close()
    assert "sky_area_deg2" in columns


def test_failed_migration_leaves_file_unchanged(tmp_path: Path, monkeypatch) -> None:
    registry_file = tmp_path / "registry.sqlite"
    with Registry(registry_file) as registry:
        add_ozdes(registry)
    broken = ("ALTER TABLE catalogs ADD COLUMN good REAL", "THIS IS NOT SQL")
    monkeypatch.setattr(registry_module, "_MIGRATIONS", (*registry_module._MIGRATIONS, broken))
    with pytest.raises(RegistryError, match="syntax error"):
        Registry(registry_file)
    check = sqlite3.connect(registry_file)
    assert check.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION
    columns = [row[1] for row in check.execute("PRAGMA table_info(catalogs)")]
    check.close()
    assert "good" not in columns


# ---------------------------------------------------------------- unusable files


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    registry_file = tmp_path / "registry.sqlite"
    registry_file.write_bytes(b"this is a text file, not a database\n" * 200)
    with pytest.raises(RegistryError) as raised:
        Registry(registry_file)
    assert f"the registry file {registry_file} is not a valid SQLite database" in str(raised.value)


def test_registry_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    registry_file = blocker / "registry.sqlite"
    with pytest.raises(RegistryError) as raised:
        Registry(registry_file)
    message = str(raised.value)
    assert message.startswith(f"cannot create the registry {registry_file}")
    assert settings.ENV_HOME in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_registry_in_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(RegistryError, match="cannot create the registry .*TSMAKER_HOME"):
            Registry(folder / "registry.sqlite")
    finally:
        folder.chmod(0o755)


def test_closed_registry_cannot_be_used(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.sqlite")
    registry.close()
    registry.close()  # closing twice is harmless
    with pytest.raises(RegistryError, match="is closed"):
        registry.list_catalogs()


def test_open_default_uses_tsmaker_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(settings.ENV_HOME, str(tmp_path / "home"))
    with Registry.open_default() as registry:
        add_ozdes(registry)
        assert registry.path == tmp_path / "home" / "registry.sqlite"
    assert (tmp_path / "home" / "registry.sqlite").is_file()


# ---------------------------------------------------------------- network file systems

MOUNTS_SAMPLE = r"""sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/nvme0n1p2 / ext4 rw,relatime,errors=remount-ro 0 0
/dev/nvme0n1p3 /home ext4 rw,relatime 0 0
nas01.cluster:/export/home /home/alice nfs4 rw,relatime,vers=4.2,rsize=1048576,hard,proto=tcp 0 0
/dev/nvme1n1 /home/alice/scratch\040disk ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
10.0.0.5@o2ib:/lsst /lustre/lsst lustre rw,flock,lazystatfs 0 0
alice@login:/data /mnt/remote fuse.sshfs rw,nosuid,nodev,user_id=1000 0 0
"""


@pytest.mark.parametrize(
    ("folder", "expected_type"),
    [
        ("/home/alice/.local/share/tsmaker", "nfs4"),
        ("/home/alice", "nfs4"),
        ("/home/alicefoo/tsmaker", None),  # /home (ext4), not /home/alice
        ("/home/alice/scratch disk/tsmaker", None),
        ("/home/alice/scratch", "nfs4"),
        ("/tmp/alice/tsmaker", None),
        ("/lustre/lsst/users/alice", "lustre"),
        ("/mnt/remote/tsmaker", "fuse.sshfs"),
        ("/var/lib/tsmaker", None),
    ],
)
def test_network_filesystem_type(folder: str, expected_type: str | None) -> None:
    found = network_filesystem_type(PurePosixPath(folder), MOUNTS_SAMPLE)
    assert found == expected_type


def test_later_mount_on_same_point_wins() -> None:
    mounts = "/dev/sda1 /data ext4 rw 0 0\nserver:/data /data nfs rw 0 0\n"
    assert network_filesystem_type(PurePosixPath("/data/x"), mounts) == "nfs"


def test_registry_on_nfs_is_refused_with_hint() -> None:
    registry_file = Path("/home/alice/.local/share/tsmaker/registry.sqlite")
    with pytest.raises(RegistryError) as raised:
        sqlite_file._check_local_filesystem(registry_file, MOUNTS_SAMPLE)
    assert str(raised.value) == (
        f"the registry {registry_file} is on a network file system (nfs4), where SQLite "
        "locking is unsafe; set TSMAKER_HOME to a local disk folder (e.g. /tmp/$USER/tsmaker) "
        "and retry"
    )
    sqlite_file._check_local_filesystem(Path("/tmp/alice/registry.sqlite"), MOUNTS_SAMPLE)


def test_missing_mount_table_means_local() -> None:
    assert network_filesystem_type(PurePosixPath("/x"), "") is None


# ---------------------------------------------------------------- file stems


@pytest.mark.parametrize(
    ("name", "product_id", "expected"),
    [
        ("a/b c", 3, "a_b_c_3"),
        ("my train  set", 12, "my_train_set_12"),
        ("../../etc", 5, "etc_5"),
        (".hidden", 1, "hidden_1"),
        ("", 7, "product_7"),
        ("///", 8, "product_8"),
        ("données été", 9, "donnees_ete_9"),
        ("星系 sample", 10, "sample_10"),
        ("星系", 11, "product_11"),
        ("v1.2-final", 4, "v1.2-final_4"),
    ],
)
def test_safe_file_stem(name: str, product_id: int, expected: str) -> None:
    assert safe_file_stem(name, product_id) == expected


def test_safe_file_stem_is_at_most_100_characters() -> None:
    stem = safe_file_stem("x" * 500, 123456)
    assert len(stem) == 100
    assert stem.endswith("x_123456")
