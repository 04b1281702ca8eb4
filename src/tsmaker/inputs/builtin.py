"""Catalogs every installation knows by name: the Rubin releases and the offline demo.

``dp1`` and ``dp02`` are named here so that a user who types them is told how to
register them where the data lives. A built-in catalog with a *provider* is made
available on first use: the provider (``module:function``, imported only then) is
called with the catalog's name and the registry, and registers and returns its
record. The demo registers itself this way (:mod:`tsmaker.demo.builtin`), so nothing
here depends on how it is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsmaker.registry import CatalogRecord, Registry


@dataclass(frozen=True)
class BuiltinCatalog:
    """A catalog name every installation knows."""

    name: str
    """The name users type (``dp1``, ``demo``, ...)."""
    kind: str
    """``"object"`` or ``"redshift"``."""
    profile: str | None
    """Object-catalog profile (object catalogs only)."""
    description: str
    """One line for ``catalogs list``."""
    provider: str | None = None
    """``module:function`` registering the catalog on first use; None when the user
    registers it (its location depends on where the data lives)."""


BUILTIN_CATALOGS: dict[str, BuiltinCatalog] = {
    catalog.name: catalog
    for catalog in (
        BuiltinCatalog("dp1", "object", "dp1", "Rubin DP1 Object catalog"),
        BuiltinCatalog("dp02", "object", "dp02", "Rubin DP0.2 Object catalog"),
        BuiltinCatalog("demo", "object", "dp1", "built-in offline demo (DP1-shaped)",
                       "tsmaker.demo.builtin:provide"),
        BuiltinCatalog("demo-specz", "redshift", None, "built-in demo spec-z catalog",
                       "tsmaker.demo.builtin:provide"),
    )
}


def provide(name: str, registry: Registry, kind: str | None = None) -> CatalogRecord | None:
    """Register the built-in catalog ``name`` if it has a provider; its record, else None."""
    import importlib

    builtin = BUILTIN_CATALOGS.get(name)
    if builtin is None or builtin.provider is None or kind not in (None, builtin.kind):
        return None
    module_name, function_name = builtin.provider.split(":")
    record: CatalogRecord = getattr(importlib.import_module(module_name), function_name)(
        name, registry
    )
    return record


def registration_hint(builtin: BuiltinCatalog) -> str:
    """How to register a built-in catalog that has no provider."""
    return (
        f"register with `tsmaker catalogs add-{builtin.kind} {builtin.name} PATH "
        f"--profile {builtin.profile}`"
    )
