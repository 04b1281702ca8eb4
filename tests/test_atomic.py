"""atomic.py: whole files only, and never a file replaced that the writer did not create."""

import os

import pytest

from tsmaker import atomic, exclusive_rename


@pytest.fixture(params=["renameat2", "portable"])
def rename_path(request, monkeypatch):
    """Each case runs with Linux renameat2 and with the portable fallback (link / mkdir)."""
    if request.param == "portable":
        monkeypatch.setattr(exclusive_rename, "_renameat2", lambda: None)
    elif exclusive_rename._renameat2() is None:
        pytest.skip("this C library has no renameat2")
    return request.param


def test_a_file_never_replaces_an_existing_one(tmp_path, rename_path):
    mine, theirs = tmp_path / ".mine.partial-1", tmp_path / "theirs.parquet"
    mine.write_text("mine")
    theirs.write_text("theirs")
    with pytest.raises(FileExistsError):
        atomic.commit(mine, theirs)
    assert theirs.read_text() == "theirs" and mine.read_text() == "mine"
    fresh = tmp_path / "fresh.parquet"
    atomic.commit(mine, fresh)
    assert fresh.read_text() == "mine" and not mine.exists()


def test_a_folder_never_replaces_an_existing_one_even_empty(tmp_path, rename_path):
    mine = tmp_path / ".mine.hats.partial-1"
    (mine / "dataset").mkdir(parents=True)
    for existing in ("empty.hats", "full.hats"):
        (tmp_path / existing).mkdir()
    (tmp_path / "full.hats" / "theirs.txt").write_text("theirs")
    for existing in ("empty.hats", "full.hats"):
        with pytest.raises(FileExistsError):
            atomic.commit(mine, tmp_path / existing)
    assert os.listdir(tmp_path / "empty.hats") == []
    assert (tmp_path / "full.hats" / "theirs.txt").read_text() == "theirs"
    atomic.commit(mine, tmp_path / "new.hats")
    assert (tmp_path / "new.hats" / "dataset").is_dir() and not mine.exists()


def test_replace_is_only_for_what_the_user_names(tmp_path):
    target = tmp_path / "plot.png"
    target.write_text("old")
    atomic.write_text(target, "new", replace=True)
    assert target.read_text() == "new"
    with pytest.raises(FileExistsError):
        atomic.write_text(target, "newer")
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["plot.png"], "no temporary file left"


def test_claims_are_exclusive_and_skip_existing_names(tmp_path):
    suffixes = [".parquet", ".json"]
    first = atomic.claim_names(tmp_path, "t_1", suffixes)
    second = atomic.claim_names(tmp_path, "t_1", suffixes)  # held by the first: a fresh stem
    (tmp_path / "t_1-3.json").write_text("{}")  # an existing product's sidecar
    third = atomic.claim_names(tmp_path, "t_1", suffixes)
    assert (first.stem, second.stem, third.stem) == ("t_1", "t_1-2", "t_1-4")
    assert sorted(os.listdir(tmp_path)) == [
        ".t_1-2.json.claim", ".t_1-2.parquet.claim", ".t_1-4.json.claim",
        ".t_1-4.parquet.claim", ".t_1.json.claim", ".t_1.parquet.claim", "t_1-3.json"]
    first.release()
    again = atomic.claim_names(tmp_path, "t_1", suffixes)
    assert again.stem == "t_1" and again.path(".json") == tmp_path / "t_1.json"
    for claim in (second, third, again):
        claim.release()
    assert os.listdir(tmp_path) == ["t_1-3.json"]


def test_leftovers_hold_only_this_processes_claims(tmp_path):
    claim = atomic.claim_names(tmp_path, "t_1", [".parquet"])
    final = claim.path(".parquet")
    atomic.partial_path(final).write_text("partial")
    assert atomic.leftovers(final, os.getpid()) == [
        atomic.partial_path(final), atomic.claim_marker(final)]
    assert atomic.leftovers(final, os.getpid() + 1) == [], "another pid's claim is not ours"
    claim.release()


def test_a_pending_file_that_cannot_take_its_name_is_deleted(tmp_path):
    final = tmp_path / "t_1.csv"
    final.write_text("theirs")
    temporary = atomic.partial_path(final)
    temporary.write_text("mine")
    with pytest.raises(FileExistsError):
        atomic.PendingFile(temporary, final).commit()
    assert final.read_text() == "theirs" and not temporary.exists()


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_commit_stopped_after_its_rename_takes_the_file_back(tmp_path, monkeypatch, kind):
    def disk_fails(folder):  # the folder's sync, after the rename: an I/O error
        raise OSError(5, "Input/output error", str(folder))

    final = tmp_path / ("t_1.parquet" if kind == "file" else "t_1")
    temporary = atomic.partial_path(final)
    if kind == "file":
        temporary.write_text("mine")
    else:
        temporary.mkdir()
        (temporary / "part.parquet").write_text("mine")
    monkeypatch.setattr(atomic, "_fsync_folder", disk_fails)
    with pytest.raises(OSError, match="Input/output"):
        atomic.PendingFile(temporary, final).commit()
    assert sorted(tmp_path.iterdir()) == []
    with pytest.raises(OSError, match="Input/output"), atomic.atomic_path(final) as written:
        written.write_text("mine")
    assert sorted(tmp_path.iterdir()) == []


def test_taking_back_leaves_another_processes_file_of_that_name(tmp_path):
    final = tmp_path / "t_1.csv"
    temporary = atomic.partial_path(final)
    temporary.write_text("mine")
    pending = atomic.PendingFile(temporary, final)
    moved = pending.identity()
    pending.commit()
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("theirs")
    os.replace(theirs, final)  # the name taken by another file since
    pending.take_back(moved)
    assert final.read_text() == "theirs"
    pending.take_back(atomic.identity(final))
    assert not final.exists()
