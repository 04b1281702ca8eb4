"""The local SQLite registry of catalogs and products; the only module that speaks SQL.

One file (``registry.sqlite`` in the tsmaker home folder) records the catalogs a user
has registered and every product (training set) tsmaker has made, with its status.
Several tsmaker processes may use the same file at once
(:class:`tsmaker.registry.sqlite_file.SharedSQLiteFile`: WAL mode, short transactions, a writer
waits up to 60 s for another one); newer releases upgrade older files with the ordered
migrations in ``_MIGRATIONS``.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from tsmaker import settings
from tsmaker.errors import CatalogError, InputError, ProductError, require_choice
from tsmaker.registry.records import (
    CATALOG_KINDS,
    PRODUCT_STATUSES,
    CatalogRecord,
    ProductRecord,
)
from tsmaker.registry.sqlite_file import SharedSQLiteFile

STALE_PRODUCT_MESSAGE = "the process running it stopped (killed or crashed)"

# Ordered schema migrations: entry N-1 takes a file from user_version N-1 to N.
# Never edit a released entry; append a new one instead.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # version 1: initial schema
        """
        CREATE TABLE catalogs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('object', 'redshift')),
            name TEXT NOT NULL UNIQUE,
            location TEXT NOT NULL,
            profile TEXT,
            columns TEXT NOT NULL DEFAULT '{}',
            description TEXT NOT NULL DEFAULT '',
            row_count INTEGER,
            fingerprint TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE products (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL
                CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
            parameters TEXT NOT NULL DEFAULT '{}',
            inputs TEXT NOT NULL DEFAULT '{}',
            versions TEXT NOT NULL DEFAULT '{}',
            rows INTEGER,
            files TEXT NOT NULL DEFAULT '[]',
            summary TEXT NOT NULL DEFAULT '{}',
            message TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            pid INTEGER,
            host TEXT
        )
        """,
        "CREATE INDEX products_by_name ON products (name)",
        "CREATE INDEX products_by_status ON products (status)",
    ),
)


class Registry(SharedSQLiteFile):
    """The SQLite registry of catalogs and products.

    Parameters
    ----------
    path : Path
        The registry file; it and its folder are created when missing.

    Raises
    ------
    RegistryError
        The file is on a network file system, cannot be created, is not a database,
        or was written by a newer tsmaker.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, _MIGRATIONS)

    @classmethod
    def open_default(cls) -> Self:
        """Open the registry at ``settings.registry_path()``."""
        return cls(settings.registry_path())


    # ------------------------------------------------------------------ catalogs

    def add_catalog(
        self,
        *,
        kind: str,
        name: str,
        location: str,
        profile: str | None = None,
        columns: Mapping[str, str] | None = None,
        description: str = "",
        row_count: int | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> CatalogRecord:
        """Register a catalog.

        Parameters
        ----------
        kind : str
            ``"object"`` or ``"redshift"``.
        name : str
            Unique name across both kinds; not empty, not only digits (those are ids).
        location : str
            Path or URL of the catalog.
        profile : str or None
            Object-catalog profile.
        columns : Mapping[str, str] or None
            Role to column name.
        description : str
            Free text.
        row_count : int or None
            Number of rows when known.
        fingerprint : Mapping or None
            What identifies the catalog's content.
        replace : bool
            Overwrite a catalog of the same name (keeping its id) instead of failing.

        Returns
        -------
        CatalogRecord
            The record as stored.

        Raises
        ------
        CatalogError
            A catalog of that name exists and ``replace`` is false.
        InputError
            Bad kind or name.
        """
        require_choice(kind, CATALOG_KINDS, "catalog kind")
        if not name.strip() or name.strip().isdigit():
            raise InputError(
                f"invalid catalog name {name!r}: use a non-empty name that is not only "
                "digits (numbers refer to catalog ids)"
            )
        values = {
            "kind": kind,
            "name": name,
            "location": str(location),
            "profile": profile,
            "columns": _dump_json(dict(columns or {}), "columns"),
            "description": description,
            "row_count": row_count,
            "fingerprint": _dump_json(dict(fingerprint or {}), "fingerprint"),
            "created_at": _utc_now(),
        }
        with self._transaction(write=True) as connection:
            existing = connection.execute(
                "SELECT * FROM catalogs WHERE name = ?", (name,)
            ).fetchone()
            if existing is not None and not replace:
                raise CatalogError(
                    f"catalog {name!r} already exists ({existing['kind']} catalog at "
                    f"{existing['location']}); remove it with `tsmaker catalogs remove "
                    f"{name}` or pick another name"
                )
            if existing is not None:
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                connection.execute(
                    f"UPDATE catalogs SET {assignments} WHERE id = :id",
                    {**values, "id": existing["id"]},
                )
                catalog_id = existing["id"]
            else:
                cursor = connection.execute(
                    f"INSERT INTO catalogs ({', '.join(values)}) "
                    f"VALUES ({', '.join(':' + column for column in values)})",
                    values,
                )
                catalog_id = cursor.lastrowid
            row = connection.execute(
                "SELECT * FROM catalogs WHERE id = ?", (catalog_id,)
            ).fetchone()
        return _catalog_from_row(row)

    def find_catalog(self, ref: str | int, kind: str | None = None) -> CatalogRecord | None:
        """The catalog named ``ref`` (or with id ``ref``), or None.

        Parameters
        ----------
        ref : str or int
            Catalog name, or numeric id.
        kind : str or None
            Only return a catalog of this kind.

        Returns
        -------
        CatalogRecord or None
            None when no catalog (of that kind) matches.
        """
        if kind is not None:
            require_choice(kind, CATALOG_KINDS, "catalog kind")
        text = str(ref).strip()
        with self._transaction(write=False) as connection:
            row = connection.execute("SELECT * FROM catalogs WHERE name = ?", (text,)).fetchone()
            if row is None and re.fullmatch(r"[0-9]+", text):
                row = connection.execute(
                    "SELECT * FROM catalogs WHERE id = ?", (int(text),)
                ).fetchone()
        if row is None or (kind is not None and row["kind"] != kind):
            return None
        return _catalog_from_row(row)

    def get_catalog(self, ref: str | int, kind: str | None = None) -> CatalogRecord:
        """Like `find_catalog`, but an unknown catalog is an error.

        Raises
        ------
        CatalogError
            No such catalog; the message lists the known names of that kind.
        """
        record = self.find_catalog(ref, kind)
        if record is not None:
            return record
        kind_words = f"{kind} catalog" if kind else "catalog"
        other_kind = self.find_catalog(ref)
        if other_kind is not None:
            raise CatalogError(
                f"catalog {str(ref)!r} is an {other_kind.kind} catalog, not a "
                f"{kind_words}; see `tsmaker catalogs list`"
            )
        known = [record.name for record in self.list_catalogs(kind)]
        known_text = (
            f"known {kind_words}s: {', '.join(known)}"
            if known
            else f"no {kind_words}s are registered yet"
        )
        raise CatalogError(
            f"unknown {kind_words} {str(ref)!r}; {known_text} (see `tsmaker catalogs list`)"
        )

    def list_catalogs(self, kind: str | None = None) -> list[CatalogRecord]:
        """All catalogs (of one kind), sorted by name."""
        if kind is not None:
            require_choice(kind, CATALOG_KINDS, "catalog kind")
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT * FROM catalogs WHERE ? IS NULL OR kind = ? ORDER BY name, id",
                (kind, kind),
            ).fetchall()
        return [_catalog_from_row(row) for row in rows]

    def remove_catalog(self, ref: str | int) -> CatalogRecord:
        """Forget a catalog (its files are untouched) and return its last record."""
        record = self.get_catalog(ref)
        with self._transaction(write=True) as connection:
            connection.execute("DELETE FROM catalogs WHERE id = ?", (record.id,))
        return record

    # ------------------------------------------------------------------ products

    def create_product(
        self,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        inputs: Mapping[str, Any],
        versions: Mapping[str, Any],
    ) -> ProductRecord:
        """Record the start of a run: a "running" product owned by this process.

        Parameters
        ----------
        name : str
            Product name, any characters, not empty.
        description : str
            Free text.
        parameters : Mapping
            The run's parameters (JSON-serialisable; paths and numpy scalars are fine).
        inputs : Mapping
            Input catalogs: location and fingerprint of each.
        versions : Mapping
            Versions of the software used.

        Returns
        -------
        ProductRecord
            The new record; its id is never reused, even after removal.
        """
        if not name.strip():
            raise InputError("invalid product name '': give the product a non-empty name")
        values = {
            "name": name,
            "description": description,
            "status": "running",
            "parameters": _dump_json(dict(parameters), "parameters"),
            "inputs": _dump_json(dict(inputs), "inputs"),
            "versions": _dump_json(dict(versions), "versions"),
            "created_at": _utc_now(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        with self._transaction(write=True) as connection:
            cursor = connection.execute(
                f"INSERT INTO products ({', '.join(values)}) "
                f"VALUES ({', '.join(':' + column for column in values)})",
                values,
            )
            row = connection.execute(
                "SELECT * FROM products WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
        return _product_from_row(row)

    def finish_product(
        self, product_id: int, *, rows: int, files: list[str], summary: Mapping[str, Any]
    ) -> ProductRecord:
        """Mark a running product "done".

        Parameters
        ----------
        product_id : int
            The product's id.
        rows : int
            Number of rows written.
        files : list of str
            Files written.
        summary : Mapping
            Statistics of the run; merged into the existing summary.

        Returns
        -------
        ProductRecord
            The updated record.

        Raises
        ------
        ProductError
            Unknown id, or the product is not "running".
        """
        with self._transaction(write=True) as connection:
            row = _product_row_by_id(connection, product_id)
            if row["status"] != "running":
                raise ProductError(
                    f"product {row['name']}_{row['id']} is {row['status']}, not running; "
                    "only a running product can be finished"
                )
            merged_summary = {**json.loads(row["summary"]), **summary}
            connection.execute(
                "UPDATE products SET status = 'done', rows = ?, files = ?, summary = ?, "
                "finished_at = ? WHERE id = ?",
                (
                    rows,
                    _dump_json([str(path) for path in files], "files"),
                    _dump_json(merged_summary, "summary"),
                    _utc_now(),
                    product_id,
                ),
            )
            row = _product_row_by_id(connection, product_id)
        return _product_from_row(row)

    def fail_product(self, product_id: int, *, status: str = "failed", message: str) -> None:
        """Mark a running product "failed" or "interrupted", with the reason.

        A product that is no longer running is left as it is, so that calling this
        from an error handler never hides the original error.

        Raises
        ------
        ProductError
            Unknown id.
        InputError
            ``status`` is not "failed" or "interrupted".
        """
        require_choice(status, ("failed", "interrupted"), "failure status")
        with self._transaction(write=True) as connection:
            _product_row_by_id(connection, product_id)
            connection.execute(
                "UPDATE products SET status = ?, message = ?, finished_at = ? "
                "WHERE id = ? AND status = 'running'",
                (status, message, _utc_now(), product_id),
            )

    def update_product_summary(self, product_id: int, summary: Mapping[str, Any]) -> None:
        """Merge ``summary`` into a product's summary (top-level keys are replaced)."""
        with self._transaction(write=True) as connection:
            row = _product_row_by_id(connection, product_id)
            merged_summary = {**json.loads(row["summary"]), **summary}
            connection.execute(
                "UPDATE products SET summary = ? WHERE id = ?",
                (_dump_json(merged_summary, "summary"), product_id),
            )

    def find_product(self, ref: str | int) -> ProductRecord | None:
        """The product ``ref`` refers to, or None.

        Parameters
        ----------
        ref : str or int
            An id (``"12"``), a full name (``"mytrain_12"``), or a bare name
            (``"mytrain"``) that exactly one product has.

        Returns
        -------
        ProductRecord or None
            None when nothing matches.

        Raises
        ------
        ProductError
            A bare name that several products share; the message lists their full names.
        """
        text = str(ref).strip()
        full_name = re.fullmatch(r"(.*)_([0-9]+)", text, flags=re.DOTALL)
        with self._transaction(write=False) as connection:
            if re.fullmatch(r"[0-9]+", text):
                row = connection.execute(
                    "SELECT * FROM products WHERE id = ?", (int(text),)
                ).fetchone()
                if row is not None:
                    return _product_from_row(row)
            if full_name is not None:
                row = connection.execute(
                    "SELECT * FROM products WHERE id = ? AND name = ?",
                    (int(full_name[2]), full_name[1]),
                ).fetchone()
                if row is not None:
                    return _product_from_row(row)
            rows = connection.execute(
                "SELECT * FROM products WHERE name = ? ORDER BY id", (text,)
            ).fetchall()
        if len(rows) > 1:
            full_names = ", ".join(f"{row['name']}_{row['id']}" for row in rows)
            raise ProductError(
                f"several products are named {text!r} ({full_names}); "
                "refer to one by its full name or id"
            )
        return _product_from_row(rows[0]) if rows else None

    def get_product(self, ref: str | int) -> ProductRecord:
        """Like `find_product`, but an unknown product is an error.

        Raises
        ------
        ProductError
            No such product, or an ambiguous bare name.
        """
        record = self.find_product(ref)
        if record is None:
            raise ProductError(f"unknown product {str(ref)!r}; see `tsmaker products list`")
        return record

    def list_products(self, status: str | None = None) -> list[ProductRecord]:
        """All products (with one status), newest first."""
        if status is not None:
            require_choice(status, PRODUCT_STATUSES, "product status")
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT * FROM products WHERE ? IS NULL OR status = ? ORDER BY id DESC",
                (status, status),
            ).fetchall()
        return [_product_from_row(row) for row in rows]

    def remove_product(self, ref: str | int, *, force: bool = False) -> ProductRecord:
        """Delete a product's record (not its files) and return it.

        Parameters
        ----------
        ref : str or int
            As for `find_product`.
        force : bool
            Also remove a product that is still "running".

        Raises
        ------
        ProductError
            Unknown product, or still running and ``force`` is false.
        """
        record = self.get_product(ref)
        with self._transaction(write=True) as connection:
            row = _product_row_by_id(connection, record.id)
            if row["status"] == "running" and not force:
                raise ProductError(
                    f"product {record.full_name} is still running (pid {row['pid']} on "
                    f"{row['host']}); wait for it to end, stop it, or remove it with --force"
                )
            connection.execute("DELETE FROM products WHERE id = ?", (record.id,))
        return _product_from_row(row)

    def reap_stale_products(self) -> list[int]:
        """Mark "interrupted" the running products whose process has died on this host.

        Products run on other hosts are left alone: their processes cannot be seen.

        Returns
        -------
        list of int
            Ids of the products marked interrupted.
        """
        if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there, not probe
            return []
        host = socket.gethostname()
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT id, pid FROM products "
                "WHERE status = 'running' AND host = ? AND pid IS NOT NULL ORDER BY id",
                (host,),
            ).fetchall()
        stale_ids = [row["id"] for row in rows if not _process_exists(row["pid"])]
        if not stale_ids:
            return []
        reaped_ids = []
        with self._transaction(write=True) as connection:
            finished_at = _utc_now()
            for product_id in stale_ids:
                cursor = connection.execute(
                    "UPDATE products SET status = 'interrupted', message = ?, "
                    "finished_at = ? WHERE id = ? AND status = 'running'",
                    (STALE_PRODUCT_MESSAGE, finished_at, product_id),
                )
                if cursor.rowcount:
                    reaped_ids.append(product_id)
        return reaped_ids


@contextmanager
def using_registry(registry: Registry | None = None) -> Iterator[Registry]:
    """The registry given, or the default one opened for the block and closed after it."""
    if registry is not None:
        yield registry
        return
    with Registry.open_default() as opened:
        yield opened


# ---------------------------------------------------------------------- helpers


def _process_exists(pid: int) -> bool:
    """True unless the process ``pid`` is certainly gone from this host."""
    if pid <= 0:  # 0 and negatives address process groups, not one process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists but belongs to someone else
        return True
    return True


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _json_default(value: Any) -> Any:
    """Turn the non-JSON values runs commonly carry into JSON ones."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dump_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, default=_json_default, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot store the {what} in the registry: {exc}") from exc


def _catalog_from_row(row: sqlite3.Row) -> CatalogRecord:
    return CatalogRecord(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        location=row["location"],
        profile=row["profile"],
        columns=json.loads(row["columns"]),
        description=row["description"],
        row_count=row["row_count"],
        fingerprint=json.loads(row["fingerprint"]),
        created_at=row["created_at"],
    )


def _product_from_row(row: sqlite3.Row) -> ProductRecord:
    return ProductRecord(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        status=row["status"],
        parameters=json.loads(row["parameters"]),
        inputs=json.loads(row["inputs"]),
        versions=json.loads(row["versions"]),
        rows=row["rows"],
        files=json.loads(row["files"]),
        summary=json.loads(row["summary"]),
        message=row["message"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        pid=row["pid"],
        host=row["host"],
    )


def _product_row_by_id(connection: sqlite3.Connection, product_id: int) -> sqlite3.Row:
    row = connection.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise ProductError(f"unknown product id {product_id}; see `tsmaker products list`")
    return row
