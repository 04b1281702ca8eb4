"""The local SQLite registry of catalogs and products: one file, its schema, its tables.

One file (``registry.sqlite`` in the tsmaker home folder) records the catalogs a user
has registered (:mod:`tsmaker.registry.catalog_table`) and every product (training
set) tsmaker has made, with its status (:mod:`tsmaker.registry.product_table`).
Several tsmaker processes may use the same file at once
(:class:`tsmaker.registry.sqlite_file.SharedSQLiteFile`: WAL mode, short transactions,
a writer waits up to 60 s for another one); newer releases upgrade older files with
the ordered migrations in ``_MIGRATIONS``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from tsmaker import settings
from tsmaker.registry.catalog_table import CatalogTable
from tsmaker.registry.product_lifecycle import STALE_PRODUCT_MESSAGE, ProductLifecycle
from tsmaker.registry.records import highest_product_id

__all__ = ["STALE_PRODUCT_MESSAGE", "Registry", "using_registry"]

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
    (  # version 2: products can be queued (a server's job waiting its turn), cancelled, or
        # being removed (files going, record next). SQLite cannot change a CHECK in place:
        # the table is rebuilt, and its id sequence carried over so that no id is reused.
        """
        CREATE TABLE products_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed',
                                                   'interrupted', 'cancelled', 'removing')),
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
        "INSERT INTO products_v2 SELECT * FROM products",
        """
        INSERT INTO sqlite_sequence (name, seq)
        SELECT 'products_v2', seq FROM sqlite_sequence WHERE name = 'products'
            AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'products_v2')
        """,
        """
        UPDATE sqlite_sequence SET seq = MAX(seq, IFNULL(
            (SELECT seq FROM sqlite_sequence WHERE name = 'products'), 0))
        WHERE name = 'products_v2'
        """,
        "DROP TABLE products",
        "ALTER TABLE products_v2 RENAME TO products",
        "CREATE INDEX products_by_name ON products (name)",
        "CREATE INDEX products_by_status ON products (status)",
    ),
)


class Registry(CatalogTable, ProductLifecycle):
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

    def _created(self, connection: sqlite3.Connection) -> None:
        """A new registry continues after the products found beside it.

        A registry moved aside (as the message about a damaged one suggests) or
        truncated would start its ids at 1 again, while the products it made remain in
        the products folder beside it (``$TSMAKER_HOME/products``, their
        ``NAME_<id>.json`` sidecars): a new product must not take one of their names.
        """
        highest = highest_product_id(self.path.parent / settings.PRODUCTS_FOLDER_NAME)
        if highest:
            updated = connection.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'products'",
                (highest,),
            )
            if not updated.rowcount:
                connection.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('products', ?)",
                    (highest,),
                )

    @classmethod
    def open_default(cls) -> Self:
        """Open the registry at ``settings.registry_path()``."""
        return cls(settings.registry_path())



@contextmanager
def using_registry(registry: Registry | None = None) -> Iterator[Registry]:
    """The registry given, or the default one opened for the block and closed after it."""
    if registry is not None:
        yield registry
        return
    with Registry.open_default() as opened:
        yield opened


