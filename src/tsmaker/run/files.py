"""A run's files: the names it reserves before any work, and what a refusing disk means.

A product's data file (or HATS folder) and its sidecar are named ``NAME_<id>``; the
names are reserved (:func:`tsmaker.atomic.claim_names`) before anything is matched,
so a run never replaces a file it did not create, whatever the registry's ids: when
``NAME_<id>.*`` exists already (a registry moved aside, two registries writing into
one folder) the run takes the fresh stem ``NAME_<id>-2`` and says so.

A disk that refuses a write (full, over quota, read-only, failing) is reported as one
line naming the output folder and what to do (:func:`disk_error`), not as the
operating system's bare message.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker import atomic
from tsmaker.parameters import parameter_error

if TYPE_CHECKING:
    from tsmaker.errors import ParameterError
    from tsmaker.run.plan import RunPlan

SIDECAR_SUFFIX = ".json"

#: errno -> (what happened, what to do first), for the errors a disk gives a writer.
DISK_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on device", "free space there"),
    errno.EDQUOT: ("disk quota exceeded", "free space within your quota"),
    errno.EFBIG: ("file too large (for the file system, or the file size limit of "
                  "`ulimit -f`)", "raise the limit"),
    errno.EIO: ("input/output error (a failing disk, or a network mount gone)",
                "check the disk"),
    errno.EROFS: ("read-only file system", "make it writable"),
    errno.EACCES: ("permission denied", "make it writable"),
    errno.EPERM: ("operation not permitted", "make it writable"),
}


def claim_product_files(plan: RunPlan, stem: str) -> tuple[atomic.Claim, Path, Path]:
    """Reserve the product's data file and sidecar names; the claim and both paths.

    Raises
    ------
    ParameterError
        The output folder refuses the claim (:func:`disk_error`).
    """
    from tsmaker.formats import writer_for

    suffix = writer_for(plan.parameters.output_format).suffix
    try:
        claim = atomic.claim_names(plan.output_dir, stem, [suffix, SIDECAR_SUFFIX])
    except OSError as error:
        raise disk_error(error, plan.output_dir) or error from None
    return claim, claim.path(suffix), claim.path(SIDECAR_SUFFIX)


def renamed_notice(claim: atomic.Claim, stem: str) -> str | None:
    """The notice for a product whose files took a fresh stem, or None."""
    if claim.stem == stem:
        return None
    return (
        f"files named {claim.stem}.* because {stem}.* already exist in {str(claim.folder)!r} "
        "(another registry's product?); tsmaker never replaces a file it did not create"
    )


def disk_error(error: BaseException, output_dir: Path) -> ParameterError | None:
    """The one-line error for a disk that refused to write into ``output_dir``, or None.

    Only an OSError of :data:`DISK_ERRORS` about the output folder (or about no file
    in particular, as pyarrow and h5py report them) is translated; others are left as
    they are.

    Examples
    --------
    >>> error = disk_error(OSError(errno.ENOSPC, "No space left on device"), Path("/out"))
    >>> error.message("cli")  # doctest: +NORMALIZE_WHITESPACE
    "cannot write the product into output folder '/out': no space left on device
    (errno 28); free space there, or choose another folder with --output-dir"
    """
    if not isinstance(error, OSError) or error.errno not in DISK_ERRORS:
        return None
    for name in (error.filename, error.filename2):
        if name and not _inside(Path(str(name)), output_dir):
            return None
    reason, advice = DISK_ERRORS[error.errno]
    return parameter_error(
        "output_dir",
        f"cannot write the product into output folder {str(output_dir)!r}: {reason} "
        f"(errno {error.errno}); {advice}, or choose another folder with {{name}}",
    )


def existing_file_error(error: FileExistsError, output_dir: Path) -> ParameterError:
    """A file that appeared under a product's final name while the run wrote it."""
    return parameter_error(
        "output_dir",
        f"{str(error.filename2 or error.filename)!r} appeared in output folder "
        f"{str(output_dir)!r} while the run was writing it (another program?); tsmaker "
        "never replaces a file it did not create: run again, or choose another folder with "
        "{name}",
    )


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False
