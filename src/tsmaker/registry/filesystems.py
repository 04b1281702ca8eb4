"""Which file system a path is on, from the mount table (Linux ``/proc/self/mounts``).

SQLite's locking is unsafe on network file systems (NFS, Lustre, GPFS... on HPC
clusters), so the registry refuses to open a file on one; this module only answers
the question.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

# File-system types on which SQLite's WAL locking (POSIX locks plus a shared-memory
# index file) is known to be unreliable or unsupported.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smbfs", "smb3", "ncpfs", "afs", "9p",
        "lustre", "gpfs", "beegfs", "ceph", "glusterfs", "pvfs2", "orangefs", "wekafs",
        "panfs", "davfs", "fuse.sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.s3fs",
        "fuse.gcsfuse", "fuse.rclone", "fuse.juicefs", "fuse.beegfs",
    }
)  # fmt: skip
MOUNT_TABLE = Path("/proc/self/mounts")


def read_mount_table() -> str:
    """The text of ``/proc/self/mounts``, or "" where there is none (not Linux)."""
    try:
        return MOUNT_TABLE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def network_filesystem_type(folder: PurePosixPath | Path, mounts_text: str) -> str | None:
    """The network file-system type ``folder`` sits on, or None if it is local.

    Parameters
    ----------
    folder : Path
        An absolute, resolved path.
    mounts_text : str
        A mount table in ``/proc/self/mounts`` format.

    Returns
    -------
    str or None
        The type (e.g. ``"nfs4"``) of the longest mount point holding ``folder`` when
        it is a network type; None otherwise.
    """
    target = PurePosixPath(folder)
    best_mount_point: PurePosixPath | None = None
    best_type = ""
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        # Spaces and tabs in mount points are written as octal escapes (\040, \011).
        mount_point = PurePosixPath(
            re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), fields[1])
        )
        if mount_point != target and mount_point not in target.parents:
            continue
        # ">=" because a later mount on the same point hides the earlier one.
        if best_mount_point is None or len(mount_point.parts) >= len(best_mount_point.parts):
            best_mount_point, best_type = mount_point, fields[2].lower()
    return best_type if best_type in NETWORK_FILESYSTEMS else None
