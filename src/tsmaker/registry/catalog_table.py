"""The registry's catalogs table: what a user has registered, by name and id."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping

from tsmaker.errors import CatalogError, InputError, require_choice
from tsmaker.flags import holds_control_characters
from tsmaker.registry.records import CATALOG_KINDS, CatalogRecord
from tsmaker.registry.rows import dump_json, utc_now
from tsmaker.registry.sqlite_file import SharedSQLiteFile


class CatalogTable(SharedSQLiteFile):
    """Catalogs: add, find, list, remove. Part of :class:`tsmaker.registry.Registry`."""

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
        fingerprint: Mapping[str, object] | None = None,
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
        if holds_control_characters(name):
            raise InputError(
                f"invalid catalog name {name!r}: it holds control characters (tab, "
                "newline...); use a name of printable characters"
            )
        values = {
            "kind": kind,
            "name": name,
            "location": str(location),
            "profile": profile,
            "columns": dump_json(dict(columns or {}), "columns"),
            "description": description,
            "row_count": row_count,
            "fingerprint": dump_json(dict(fingerprint or {}), "fingerprint"),
            "created_at": utc_now(),
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
