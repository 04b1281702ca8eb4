"""Files that appear whole or not at all, and never replace a file they did not create.

Everything tsmaker writes for a user (product files and folders, sidecars, plots,
downloaded dust maps, saved configs) is first written under a hidden temporary name
next to its final path, ``.<name>.partial-<pid>``, then renamed onto the final path
when complete; a failure or an interrupt deletes the temporary file. A run killed
with SIGKILL cannot clean up after itself: the next command does, and it finds the
leftovers by the same rule (:func:`leftovers`), never touching a final name.

The rename never replaces a file unless the caller says so (``replace=True``, for a
file the user names: a plot, a config, a dust map fetched again): a product's files
are created exclusively. Before any work, a run reserves its names
(:func:`claim_names`): a stem none of whose final names exists, each name marked
taken by a hidden ``.<name>.claim`` file created exclusively, so two processes (two
registries sharing an output folder, a registry started afresh) never write the same
names; the rename itself refuses an existing name (:mod:`tsmaker.exclusive_rename`: Linux
``renameat2(RENAME_NOREPLACE)``, else a hard link, or an exclusive ``mkdir`` for a
folder).
"""

import errno
import os
import shutil
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tsmaker.exclusive_rename import rename_no_replace

PARTIAL_MARKER = ".partial-"
SCRATCH_SUFFIX = ".parts"
CLAIM_SUFFIX = ".claim"
#: Fresh stems tried after ``stem`` itself: ``stem-2``, ``stem-3``, ...
MAX_CLAIM_ATTEMPTS = 1000


def partial_path(final_path: Path, pid: int | None = None) -> Path:
    """The hidden temporary name of ``final_path`` for process ``pid`` (default: this one).

    Examples
    --------
    >>> partial_path(Path("/data/train_1.parquet"), pid=42).as_posix()
    '/data/.train_1.parquet.partial-42'
    """
    return final_path.with_name(f".{final_path.name}{PARTIAL_MARKER}{pid or os.getpid()}")


def scratch_folder(final_path: Path) -> Path:
    """A hidden folder next to ``final_path`` for intermediate files of its run.

    Examples
    --------
    >>> scratch_folder(Path("/data/train_1.parquet")).as_posix()
    '/data/.train_1.parquet.parts'
    """
    return final_path.with_name(f".{final_path.name}{SCRATCH_SUFFIX}")


def claim_marker(final_path: Path) -> Path:
    """The hidden file that reserves ``final_path`` for one process (:func:`claim_names`).

    Examples
    --------
    >>> claim_marker(Path("/data/train_1.parquet")).as_posix()
    '/data/.train_1.parquet.claim'
    """
    return final_path.with_name(f".{final_path.name}{CLAIM_SUFFIX}")


def remove(path: Path, *, strict: bool = False) -> None:
    """Delete a file or a folder tree; nothing happens when it is not there.

    Errors are ignored (a clean-up must not hide the error that led to it) unless
    ``strict``, which raises the OSError.
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except FileNotFoundError:
        return
    except OSError:
        if strict:
            raise


def leftovers(final_path: Path, pid: int) -> list[Path]:
    """The temporary files a process ``pid`` may have left for ``final_path``.

    Its partial file or folder, its scratch folder and its claim of the name; never
    the final path, and never another process's claim.
    """
    found = [partial_path(final_path, pid), scratch_folder(final_path)]
    found = [path for path in found if path.exists() or path.is_symlink()]
    marker = claim_marker(final_path)
    if _claim_owner(marker) == (pid, socket.gethostname()):
        found.append(marker)
    return found


@dataclass(frozen=True)
class Claim:
    """Final names reserved by this process: ``folder/<stem><suffix>`` for each suffix."""

    folder: Path
    stem: str
    """The stem reserved: the one asked for, or a fresh one (``<stem>-2``, ...)."""
    markers: tuple[Path, ...]
    """The hidden files that hold the reservation (``.<name>.claim``, one per name)."""

    def path(self, suffix: str) -> Path:
        """The final path of the reserved stem with ``suffix`` (e.g. ``.parquet``)."""
        return self.folder / f"{self.stem}{suffix}"

    def release(self) -> None:
        """Give the names back (the files written under them stay)."""
        for marker in self.markers:
            remove(marker)


def claim_names(folder: Path, stem: str, suffixes: Sequence[str]) -> Claim:
    """Reserve names ``<stem><suffix>`` in ``folder`` that no file has, before writing them.

    ``stem`` itself if none of its names exists and no other process holds one, else
    the first free of ``<stem>-2``, ``<stem>-3``, ... A name is held by creating its
    hidden marker ``.<name>.claim`` exclusively (O_CREAT | O_EXCL) and checked for a
    file only once held, so two processes never hold one name, and a process that
    wrote its files releases the names only once the files are there.

    Raises
    ------
    OSError
        The folder refuses the markers (read-only, full, missing), or no stem is free.

    Examples
    --------
    >>> folder = Path(getfixture("tmp_path"))
    >>> _ = (folder / "train_1.json").write_text("{}")     # another registry's product
    >>> claim = claim_names(folder, "train_1", [".parquet", ".json"])
    >>> claim.stem, claim.path(".parquet").name
    ('train_1-2', 'train_1-2.parquet')
    >>> claim.release()
    """
    for attempt in range(1, MAX_CLAIM_ATTEMPTS + 1):
        candidate = stem if attempt == 1 else f"{stem}-{attempt}"
        finals = [folder / f"{candidate}{suffix}" for suffix in suffixes]
        claim = Claim(folder, candidate, ())
        try:
            for final in finals:
                claim = Claim(folder, candidate, (*claim.markers, _create_marker(final)))
        except FileExistsError:
            claim.release()
            continue
        except BaseException:
            claim.release()
            raise
        if not any(final.exists() or final.is_symlink() for final in finals):
            return claim
        claim.release()
    raise OSError(
        errno.EEXIST, f"no free file name for {stem!r} after {MAX_CLAIM_ATTEMPTS} tries",
        str(folder),
    )


def _create_marker(final_path: Path) -> Path:
    """Create the claim marker of ``final_path`` exclusively, holding this pid and host."""
    marker = claim_marker(final_path)
    descriptor = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(descriptor, f"{os.getpid()} {socket.gethostname()}\n".encode())
    except BaseException:
        os.close(descriptor)
        remove(marker)
        raise
    os.close(descriptor)
    return marker


def _claim_owner(marker: Path) -> tuple[int, str] | None:
    """The (pid, host) written in a claim marker, or None when unreadable."""
    try:
        pid, host = marker.read_text(encoding="utf-8").split()
        return int(pid), host
    except (OSError, ValueError):
        return None


def commit(temporary: Path, final_path: Path, *, replace: bool = False) -> None:
    """Make a complete temporary file (or folder) durable and move it onto ``final_path``.

    Without ``replace`` an existing ``final_path`` is never touched: FileExistsError.
    With it, a file is replaced atomically and a folder (a HATS catalog) replaces an
    existing folder of that name.

    Raises
    ------
    FileExistsError
        ``final_path`` exists and ``replace`` is false.
    """
    if not temporary.is_dir():
        _fsync(temporary)
    if replace:
        if temporary.is_dir() and final_path.is_dir():
            shutil.rmtree(final_path)
        os.replace(temporary, final_path)
    else:
        rename_no_replace(temporary, final_path)
    _fsync_folder(final_path.parent)


@dataclass(frozen=True)
class PendingFile:
    """A complete temporary file (or folder) waiting to be moved onto its final path."""

    temporary: Path
    final_path: Path
    replace: bool = False
    """Whether an existing file under the final name may be replaced (never a product's)."""

    def commit(self) -> Path:
        """Move it into place (:func:`commit`); the final path.

        Raises
        ------
        FileExistsError
            The final path exists and ``replace`` is false; the temporary file is deleted.
        """
        moved = identity(self.temporary)
        try:
            commit(self.temporary, self.final_path, replace=self.replace)
        except BaseException:
            if not self.replace:  # before the temporary goes, so its inode is not reused
                remove_if_same(self.final_path, moved)
            remove(self.temporary)
            raise
        return self.final_path

    def discard(self) -> None:
        """Delete the temporary file; the final path is left as it was."""
        remove(self.temporary)

    def identity(self) -> tuple[int, int] | None:
        """The temporary file's identity, which its rename keeps (:func:`identity`)."""
        return identity(self.temporary)

    def take_back(self, moved: tuple[int, int] | None) -> None:
        """Delete the final path if it is the file moved there (:func:`remove_if_same`)."""
        remove_if_same(self.final_path, moved)


def identity(path: Path) -> tuple[int, int] | None:
    """A file's or folder's device and inode, which a rename keeps; None when absent."""
    try:
        status = os.lstat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def remove_if_same(path: Path, moved: tuple[int, int] | None) -> None:
    """Delete ``path`` if it is the file of :func:`identity` ``moved``; else nothing.

    A commit stopped after its rename (a signal, a failed folder sync) leaves the file
    under its final name: this takes it back, and leaves another process's file alone.
    """
    if moved is not None and identity(path) == moved:
        remove(path)


@contextmanager
def atomic_path(final_path: Path, *, replace: bool = False) -> Iterator[Path]:
    """Write to the yielded temporary path; it becomes ``final_path`` when the block ends.

    On an exception (or an interrupt) the temporary file is deleted and the final
    path is left as it was. An existing ``final_path`` is replaced only with
    ``replace`` (FileExistsError otherwise).

    Examples
    --------
    >>> target = Path(getfixture("tmp_path")) / "note.txt"
    >>> with atomic_path(target) as temporary:
    ...     _ = temporary.write_text("done")
    >>> target.read_text()
    'done'
    """
    temporary = partial_path(final_path)
    moved = None
    try:
        yield temporary
        moved = identity(temporary)
        commit(temporary, final_path, replace=replace)
    except BaseException:
        if not replace:  # before the temporary goes, so its inode is not reused
            remove_if_same(final_path, moved)
        remove(temporary)
        raise


def write_text(final_path: Path, text: str, *, replace: bool = False) -> Path:
    """Write a text file atomically (UTF-8) and return its path (see :func:`atomic_path`)."""
    with atomic_path(final_path, replace=replace) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return final_path


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable; some platforms cannot open folders, which is fine."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
