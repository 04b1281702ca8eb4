"""Files that appear whole or not at all: one naming rule and one helper for every writer.

Everything tsmaker writes for a user (product files and folders, sidecars, plots,
downloaded dust maps, saved configs) is first written under a hidden temporary name
next to its final path, ``.<name>.partial-<pid>``, then renamed onto the final path
when complete; a failure or an interrupt deletes the temporary file. A run killed
with SIGKILL cannot clean up after itself: the next command does, and it finds the
leftovers by the same rule (:func:`leftovers`), never touching a final name.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PARTIAL_MARKER = ".partial-"
SCRATCH_SUFFIX = ".parts"


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

    Its partial file or folder and its scratch folder; never the final path.
    """
    found = [partial_path(final_path, pid), scratch_folder(final_path)]
    return [path for path in found if path.exists() or path.is_symlink()]


def commit(temporary: Path, final_path: Path) -> None:
    """Make a complete temporary file durable and move it onto ``final_path``.

    A folder (a HATS catalog) replaces an existing folder of that name.
    """
    if temporary.is_dir():
        if final_path.is_dir():
            shutil.rmtree(final_path)
    else:
        _fsync(temporary)
    os.replace(temporary, final_path)
    _fsync_folder(final_path.parent)


@dataclass(frozen=True)
class PendingFile:
    """A complete temporary file (or folder) waiting to be moved onto its final path."""

    temporary: Path
    final_path: Path

    def commit(self) -> Path:
        """Move it into place (:func:`commit`); the final path."""
        try:
            commit(self.temporary, self.final_path)
        except BaseException:
            remove(self.temporary)
            raise
        return self.final_path

    def discard(self) -> None:
        """Delete the temporary file; the final path is left as it was."""
        remove(self.temporary)


@contextmanager
def atomic_path(final_path: Path) -> Iterator[Path]:
    """Write to the yielded temporary path; it becomes ``final_path`` when the block ends.

    On an exception (or an interrupt) the temporary file is deleted and the final
    path is left as it was.

    Examples
    --------
    >>> target = Path(getfixture("tmp_path")) / "note.txt"
    >>> with atomic_path(target) as temporary:
    ...     _ = temporary.write_text("done")
    >>> target.read_text()
    'done'
    """
    temporary = partial_path(final_path)
    try:
        yield temporary
        commit(temporary, final_path)
    except BaseException:
        remove(temporary)
        raise


def write_text(final_path: Path, text: str) -> Path:
    """Write a text file atomically (UTF-8) and return its path."""
    with atomic_path(final_path) as temporary:
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
