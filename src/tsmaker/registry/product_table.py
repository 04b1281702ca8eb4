"""The registry's products table: every training set made or being made, and its status."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
from collections.abc import Mapping
from typing import Any

from tsmaker.errors import InputError, ProductError, require_choice
from tsmaker.registry.records import PRODUCT_STATUSES, ProductRecord
from tsmaker.registry.rows import dump_json, utc_now
from tsmaker.registry.sqlite_file import SharedSQLiteFile

STALE_PRODUCT_MESSAGE = "the process running it stopped (killed or crashed)"


class ProductTable(SharedSQLiteFile):
    """Products: create, finish, fail, find, list, remove, reap. Part of the Registry."""

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
            "parameters": dump_json(dict(parameters), "parameters"),
            "inputs": dump_json(dict(inputs), "inputs"),
            "versions": dump_json(dict(versions), "versions"),
            "created_at": utc_now(),
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
                    dump_json([str(path) for path in files], "files"),
                    dump_json(merged_summary, "summary"),
                    utc_now(),
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
                (status, message, utc_now(), product_id),
            )

    def update_product_summary(self, product_id: int, summary: Mapping[str, Any]) -> None:
        """Merge ``summary`` into a product's summary (top-level keys are replaced)."""
        with self._transaction(write=True) as connection:
            row = _product_row_by_id(connection, product_id)
            merged_summary = {**json.loads(row["summary"]), **summary}
            connection.execute(
                "UPDATE products SET summary = ? WHERE id = ?",
                (dump_json(merged_summary, "summary"), product_id),
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
            finished_at = utc_now()
            for product_id in stale_ids:
                cursor = connection.execute(
                    "UPDATE products SET status = 'interrupted', message = ?, "
                    "finished_at = ? WHERE id = ? AND status = 'running'",
                    (STALE_PRODUCT_MESSAGE, finished_at, product_id),
                )
                if cursor.rowcount:
                    reaped_ids.append(product_id)
        return reaped_ids



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
