"""The file an HDF5 product is written through: write errors never reach HDF5.

HDF5 (2.0, through h5py 3.16) cannot survive a failed write while it closes a
chunked dataset: the close fails half-way, h5py's ``H5Idec_ref`` leaves the dataset's
ID registered on top of freed memory, and the next flush or close of the file, or
the interpreter's exit, crashes the process (SIGSEGV, exit code 139) and leaves the
temporary file behind (h5py#914, h5py#2160, HDFGroup/hdf5#6601; upgrading does not
help). So the writer hands HDF5 not the path but a :class:`StickyErrorFile` through
h5py's ``fileobj`` driver: the first ``OSError`` (a full disk, a quota, a file-size
limit, an I/O error) is kept, every later write is dropped, HDF5 carries on and all
its closes succeed, and the writer raises the kept error itself
(:meth:`StickyErrorFile.raise_if_failed`, :func:`disk_errors`). The file is garbage
from then on; the writer's ``abort`` closes and deletes it.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


class StickyErrorFile(io.RawIOBase):
    """A file opened for HDF5's ``fileobj`` driver that keeps the first write error.

    Parameters
    ----------
    path : pathlib.Path
        The (temporary) file to create; replaced if it exists.

    Examples
    --------
    >>> sink = StickyErrorFile(Path(getfixture("tmp_path")) / "x.hdf5")
    >>> sink.write(b"abc"), sink.error
    (3, None)
    >>> sink.close()
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._raw = open(self.path, "w+b", buffering=0)  # unbuffered: errors show at write()
        self.error: OSError | None = None

    def readable(self) -> bool:  # noqa: D102 - the io.RawIOBase protocol
        return True

    def writable(self) -> bool:  # noqa: D102
        return True

    def seekable(self) -> bool:  # noqa: D102
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:  # noqa: D102
        return self._raw.seek(offset, whence)

    def tell(self) -> int:  # noqa: D102
        return self._raw.tell()

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Read into ``buffer``; bytes past the end (a dropped write) read as zeros."""
        view = memoryview(buffer).cast("B")
        count = self._raw.readinto(view) or 0
        view[count:] = bytes(len(view) - count)
        return len(view)

    def write(self, data: ReadableBuffer) -> int:
        """Write all of ``data``, or keep the error and drop it (and every later write)."""
        view = memoryview(data).cast("B")
        if self.error is None:
            try:
                done = 0
                while done < len(view):  # a short write is retried; the retry raises
                    done += self._raw.write(view[done:])
            except OSError as error:
                self.error = error
        return len(view)

    def truncate(self, size: int | None = None) -> int:
        """Truncate the file, or keep the error."""
        if self.error is None:
            try:
                self._raw.truncate(size)
            except OSError as error:
                self.error = error
        return self.tell() if size is None else size

    def flush(self) -> None:
        """Nothing to do: writes are unbuffered (the writer fsyncs the finished file)."""

    def close(self) -> None:
        """Close the file (not deleted: the writer moves or removes it)."""
        self._raw.close()
        super().close()

    def raise_if_failed(self) -> None:
        """Raise the kept write error as a plain ``OSError`` naming the file.

        Raises
        ------
        OSError
            With the kept error's errno (e.g. ENOSPC, EDQUOT, EFBIG, EIO).
        """
        if self.error is not None:
            error = self.error
            raise OSError(error.errno, error.strerror, str(self.path)) from error


@contextlib.contextmanager
def disk_errors(sink: StickyErrorFile | None) -> Iterator[None]:
    """Raise the sink's kept write error after HDF5 calls, ahead of HDF5's own follow-up.

    HDF5 may fail later on the garbage it then reads back ("filter returned failure
    during read"): the disk error that caused it is what the user must see, so it is
    raised instead, chained to HDF5's.
    """
    try:
        yield
    except Exception:
        if sink is not None:
            sink.raise_if_failed()
        raise
    if sink is not None:
        sink.raise_if_failed()
