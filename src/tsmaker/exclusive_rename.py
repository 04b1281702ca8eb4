"""Renaming a file or folder onto a name only while no file has that name.

:func:`rename_no_replace` is how :mod:`tsmaker.atomic` moves a product's complete file
onto its final name: atomic where the kernel can (Linux ``renameat2`` with
``RENAME_NOREPLACE``, called through ctypes), else a hard link for a file or an
exclusive ``mkdir`` for a folder, so another process's file is never replaced.
"""

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path


def rename_no_replace(source: Path, target: Path) -> None:
    """Rename ``source`` (a file or folder) to ``target``, failing if ``target`` exists.

    Atomic where the kernel can (Linux ``renameat2`` with ``RENAME_NOREPLACE``);
    elsewhere a file is hard-linked then unlinked (the link fails on an existing
    name) and a folder takes the name with an exclusive ``mkdir`` before the rename
    replaces that empty folder.

    Raises
    ------
    FileExistsError
        ``target`` exists.

    Examples
    --------
    >>> folder = Path(getfixture("tmp_path"))
    >>> _ = (folder / "new").write_text("mine"), (folder / "old").write_text("theirs")
    >>> rename_no_replace(folder / "new", folder / "old")
    Traceback (most recent call last):
    ...
    FileExistsError: [Errno 17] File exists: ...
    >>> (folder / "old").read_text(), (folder / "new").exists()
    ('theirs', True)
    """
    if _renameat2_no_replace(source, target):
        return
    if source.is_dir() and not source.is_symlink():
        os.mkdir(target)  # FileExistsError if taken; an empty folder is then replaced
        try:
            os.rename(source, target)
        except BaseException:
            os.rmdir(target)
            raise
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as error:  # a file system without hard links: the best left is a check
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.rename(source, target)
        return
    os.unlink(source)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2_no_replace(source: Path, target: Path) -> bool:
    """Rename with Linux ``renameat2(RENAME_NOREPLACE)``; False where it is not available.

    Raises
    ------
    OSError
        The rename failed (FileExistsError when ``target`` exists).
    """
    function = _renameat2()
    if function is None:
        return False
    import ctypes

    result = function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target),
                      _RENAME_NOREPLACE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # old kernel, or a file system without it
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """The C library's ``renameat2`` (glibc 2.28+) through ctypes, looked up once; or None."""
    if os.name != "posix":
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function
