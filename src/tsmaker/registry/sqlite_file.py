"""A SQLite file several tsmaker processes share: local disk, WAL, short transactions.

:class:`SharedSQLiteFile` opens (or creates) the file, refuses a network file system
(where SQLite's locks are unsafe), switches it to WAL mode, upgrades its schema with
ordered migrations (the version lives in ``PRAGMA user_version``), and runs every
read or write in a short transaction; a writer waits up to
:data:`BUSY_TIMEOUT_SECONDS` for another one. Errors become one-line
:class:`tsmaker.errors.RegistryError` messages naming the file and the fix.
:class:`tsmaker.registry.database.Registry` is the one such file tsmaker keeps.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from tsmaker import settings
from tsmaker.errors import RegistryError
from tsmaker.registry.filesystems import network_filesystem_type, read_mount_table

BUSY_TIMEOUT_SECONDS = 60.0

HOME_HINT = f"set {settings.ENV_HOME} to a local disk folder (e.g. /tmp/$USER/tsmaker) and retry"


class SharedSQLiteFile:
    """A SQLite file opened for safe use by several processes at once.

    Parameters
    ----------
    path : Path
        The file; it and its folder are created when missing.
    migrations : sequence of sequence of str
        Entry N-1 holds the SQL statements that take the file from schema version
        N-1 to N; a file at an older version is upgraded, one at a newer version is
        refused.

    Raises
    ------
    RegistryError
        The file is on a network file system, cannot be created, is not a database,
        or was written by a newer tsmaker.
    """

    def __init__(self, path: Path, migrations: Sequence[Sequence[str]]) -> None:
        self.path = Path(path).expanduser().resolve()
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._migrations = tuple(tuple(step) for step in migrations)
        _check_local_filesystem(self.path, read_mount_table())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._cannot_create_error(exc) from exc
        try:
            self._connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,
            )
            self._connection.row_factory = sqlite3.Row
            self._set_up_with_retries()
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise self._open_error(exc) from exc
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection; the file cannot be used through this object afterwards."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # ------------------------------------------------------------------ internals

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A short transaction; writers take the write lock up front (no upgrade)."""
        with self._lock:
            connection = self._connection
            if connection is None:
                raise RegistryError(f"the registry {self.path} is closed; open it again")
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._database_error(exc) from exc
            try:
                yield connection
            except BaseException as exc:
                if connection.in_transaction:
                    connection.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._database_error(exc) from exc
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                if connection.in_transaction:
                    connection.rollback()
                raise self._database_error(exc) from exc

    def _set_up_with_retries(self) -> None:
        """Set WAL mode and migrate, retrying while another process holds a lock.

        The busy timeout covers ordinary waits, but switching a new file to WAL can
        report "locked" at once when several processes create the registry together.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                self._set_up()
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorname", "") in {"SQLITE_BUSY", "SQLITE_LOCKED"}
                if not busy or time.monotonic() > deadline:
                    raise
                assert self._connection is not None
                if self._connection.in_transaction:
                    self._connection.rollback()
                time.sleep(0.05)

    def _set_up(self) -> None:
        connection = self._connection
        assert connection is not None
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        known_version = len(self._migrations)
        file_version = connection.execute("PRAGMA user_version").fetchone()[0]
        if file_version > known_version:
            raise RegistryError(
                f"the registry {self.path} was written by a newer tsmaker (schema version "
                f"{file_version}, this tsmaker knows up to {known_version}); upgrade "
                "tsmaker (pip install -U tsmaker)"
            )
        journal_mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(journal_mode).lower() != "wal":
            raise RegistryError(
                f"the registry {self.path} cannot use SQLite's WAL journal (got "
                f"{journal_mode!r}), needed for safe concurrent use; {HOME_HINT}"
            )
        if file_version == known_version:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            file_version = connection.execute("PRAGMA user_version").fetchone()[0]
            for version in range(file_version + 1, known_version + 1):
                for statement in self._migrations[version - 1]:
                    connection.execute(statement)
            if file_version == 0:
                self._created(connection)
            connection.execute(f"PRAGMA user_version = {known_version}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.rollback()
            raise

    def _created(self, connection: sqlite3.Connection) -> None:
        """Called in the transaction that creates the schema of a new file; nothing here."""

    def _cannot_create_error(self, exc: BaseException) -> RegistryError:
        if not self.path.exists():
            return RegistryError(
                f"cannot create the registry {self.path} ({_describe(exc)}); {HOME_HINT}"
            )
        if _on_read_only_filesystem(self.path.parent):
            return RegistryError(
                f"the registry {self.path} is on a read-only file system ({_describe(exc)}); "
                f"remount it read-write, or set {settings.ENV_HOME} to a writable folder"
            )
        return RegistryError(
            f"cannot open the registry {self.path} ({_describe(exc)}); make it and its folder "
            f"readable and writable, or set {settings.ENV_HOME} to another folder"
        )

    def _open_error(self, exc: BaseException) -> RegistryError:
        if isinstance(exc, RegistryError):
            return exc
        error_name = getattr(exc, "sqlite_errorname", "")
        if error_name in {"SQLITE_NOTADB", "SQLITE_CORRUPT"}:
            return RegistryError(
                f"the registry file {self.path} is not a valid SQLite database "
                f"({_describe(exc)}); move it aside and tsmaker will start a new "
                f"registry, or set {settings.ENV_HOME} to another folder"
            )
        if error_name in {"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM"} or isinstance(
            exc, OSError
        ):
            return self._cannot_create_error(exc)
        return self._database_error(exc)

    def _database_error(self, exc: BaseException) -> RegistryError:
        error_name = getattr(exc, "sqlite_errorname", "")
        if error_name in {"SQLITE_BUSY", "SQLITE_LOCKED"}:
            return RegistryError(
                f"the registry {self.path} stayed locked by another tsmaker process for "
                f"more than {BUSY_TIMEOUT_SECONDS:.0f} s; retry when it is less busy"
            )
        if error_name.startswith("SQLITE_READONLY"):
            return RegistryError(
                f"the registry {self.path} is read-only ({_describe(exc)}), so nothing was "
                f"changed; make it and its folder writable (e.g. chmod u+w {self.path} "
                f"{self.path.parent}), or set {settings.ENV_HOME} to a writable folder"
            )
        if error_name == "SQLITE_FULL":
            return RegistryError(
                f"the disk holding the registry {self.path} is full ({_describe(exc)}), so "
                f"nothing was changed; free space there, or set {settings.ENV_HOME} to "
                "another folder"
            )
        return RegistryError(f"registry {self.path}: {_describe(exc)}")


def _check_local_filesystem(registry_file: Path, mounts_text: str) -> None:
    """Raise RegistryError when ``registry_file``'s folder is on a network file system."""
    filesystem_type = network_filesystem_type(registry_file.parent, mounts_text)
    if filesystem_type is not None:
        raise RegistryError(
            f"the registry {registry_file} is on a network file system ({filesystem_type}), "
            f"where SQLite locking is unsafe; {HOME_HINT}"
        )


def _on_read_only_filesystem(folder: Path) -> bool:
    """True when ``folder`` is on a file system mounted read-only."""
    import os

    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
