"""The local SQLite registry of catalogs and products, and what it records.

Nothing outside this package speaks SQL.
"""

from tsmaker.registry.database import Registry, using_registry
from tsmaker.registry.records import CatalogRecord, ProductRecord

__all__ = ["CatalogRecord", "ProductRecord", "Registry", "using_registry"]
