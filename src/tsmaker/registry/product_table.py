"""The registry's products table: every training set made or being made, and its status."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
from collections.abc import Mapping

from tsmaker.errors import InputError, ProductError, require_choice
from tsmaker.registry.records import ACTIVE_STATUSES, PRODUCT_STATUSES, ProductRecord
from tsmaker.registry.rows import dump_json, utc_now
from tsmaker.registry.sqlite_file import SharedSQLiteFile


class ProductTable(SharedSQLiteFile):
    """Products: create, find, list, update. Their lifecycle: :mod:`.product_lifecycle`."""

    def create_product(
        self,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, object],
        inputs: Mapping[str, object],
        versions: Mapping[str, object],
        status: str = "running",
    ) -> ProductRecord:
        """Record a run: a "running" product owned by this process, or a "queued" one.

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
        status : str
            ``"running"`` (this process runs it now) or ``"queued"`` (a job of this
            process will, :meth:`start_product`).

        Returns
        -------
        ProductRecord
            The new record; its id is never reused, even after removal.
        """
        require_choice(status, ACTIVE_STATUSES, "new product status")
        if not name.strip():
            raise InputError("invalid product name '': give the product a non-empty name")
        values = {
            "name": name,
            "description": description,
            "status": status,
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
        return product_from_row(row)

    def update_product_summary(self, product_id: int, summary: Mapping[str, object]) -> None:
        """Merge ``summary`` into a product's summary (top-level keys are replaced)."""
        with self._transaction(write=True) as connection:
            row = product_row_by_id(connection, product_id)
            merged_summary = {**json.loads(row["summary"]), **summary}
            connection.execute(
                "UPDATE products SET summary = ? WHERE id = ?",
                (dump_json(merged_summary, "summary"), product_id),
            )

    def product_status(self, product_id: int) -> str | None:
        """The status of a product, or None when it no longer exists (a cheap check)."""
        with self._transaction(write=False) as connection:
            row = connection.execute(
                "SELECT status FROM products WHERE id = ?", (product_id,)
            ).fetchone()
        return None if row is None else str(row["status"])

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
                    return product_from_row(row)
            if full_name is not None:
                row = connection.execute(
                    "SELECT * FROM products WHERE id = ? AND name = ?",
                    (int(full_name[2]), full_name[1]),
                ).fetchone()
                if row is not None:
                    return product_from_row(row)
            rows = connection.execute(
                "SELECT * FROM products WHERE name = ? ORDER BY id", (text,)
            ).fetchall()
        if len(rows) > 1:
            full_names = ", ".join(f"{row['name']}_{row['id']}" for row in rows)
            raise ProductError(
                f"several products are named {text!r} ({full_names}); "
                "refer to one by its full name or id"
            )
        return product_from_row(rows[0]) if rows else None

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
        return [product_from_row(row) for row in rows]


def product_from_row(row: sqlite3.Row) -> ProductRecord:
    """The record of a ``products`` row."""
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


def product_row_by_id(connection: sqlite3.Connection, product_id: int) -> sqlite3.Row:
    """The ``products`` row of an id, or ProductError naming it."""
    row = connection.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise ProductError(f"unknown product id {product_id}; see `tsmaker products list`")
    return row
