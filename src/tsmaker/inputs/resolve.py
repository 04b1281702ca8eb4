"""Catalog references become locations: a registered name or id, a built-in name, a path.

Nothing is read here but the registry; the catalogs themselves are read by
:mod:`tsmaker.inputs.object_catalog` and :mod:`tsmaker.inputs.redshift`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker.errors import CatalogError, InputError
from tsmaker.inputs.builtin import BUILTIN_CATALOGS, provide

if TYPE_CHECKING:
    from tsmaker.registry import CatalogRecord, Registry


@dataclass(frozen=True)
class ObjectReference:
    """Where an object catalog reference points."""

    location: str
    """Path or URL of the HATS catalog or collection."""
    profile: str
    """Its profile name (``dp1``, ``generic``, ...)."""


@dataclass(frozen=True)
class RedshiftReference:
    """Where a redshift catalog reference points, and the columns registered for it."""

    location: str
    """Absolute path of the file or HATS folder."""
    columns: dict[str, str]
    """Role -> column name given when the catalog was registered (empty for a path)."""


def resolve_object_catalog(reference: str, registry: Registry) -> ObjectReference:
    """The location and profile of an object catalog reference.

    Raises
    ------
    CatalogError
        Neither registered, built in, nor an existing path or URL.
    """
    record = registry.find_catalog(reference, kind="object") or provide(
        reference, registry, kind="object"
    )
    if record is not None:
        return ObjectReference(record.location, record.profile or "generic")
    builtin = BUILTIN_CATALOGS.get(reference)
    if builtin is not None and builtin.kind == "object":
        raise CatalogError(
            f"object catalog {reference!r} has no location registered here; it is reachable "
            "where you have Rubin data rights (Rubin Science Platform, NERSC, CANFAR, IDAC): "
            f"register it with `tsmaker catalogs add-object {reference} PATH_OR_URL "
            f"--profile {builtin.profile}`"
        )
    if "://" in reference or Path(reference).expanduser().exists():
        location = reference if "://" in reference else str(Path(reference).expanduser().resolve())
        return ObjectReference(location, "generic")
    known = ", ".join(r.name for r in registry.list_catalogs(kind="object")) or "none registered"
    raise CatalogError(
        f"object catalog {reference!r} is neither a registered name ({known}) nor an existing "
        "path or URL; see `tsmaker catalogs list`"
    )


def resolve_redshift_catalog(reference: str, registry: Registry) -> RedshiftReference:
    """The file (or HATS folder) of a redshift catalog reference and its registered columns.

    Raises
    ------
    InputError
        Neither registered, built in, nor an existing file.
    """
    record: CatalogRecord | None = registry.find_catalog(reference, kind="redshift") or provide(
        reference, registry, kind="redshift"
    )
    if record is not None:
        return RedshiftReference(record.location, dict(record.columns))
    path = Path(reference).expanduser()
    if not path.exists():
        known = ", ".join(r.name for r in registry.list_catalogs(kind="redshift"))
        raise InputError(
            f"redshift catalog {reference!r} is neither a registered name "
            f"({known or 'none registered'}) nor an existing file; check the path or "
            "register it with `tsmaker catalogs add-redshift`"
        )
    return RedshiftReference(str(path.resolve()), {})


def file_fingerprint(path: Path) -> dict[str, object]:
    """Size, SHA-256 and date of a file; of a HATS folder, its metadata's SHA-256.

    A HATS folder's fingerprint covers its properties and its main catalog's metadata
    files (:meth:`tsmaker.inputs.hats_files.HatsCatalog.content_fingerprint`), not its
    rows.
    """
    if path.is_dir():
        from tsmaker.inputs.hats_files import open_object_catalog

        properties = path / "hats.properties"
        if not properties.exists():
            properties = path / "collection.properties"
        text = properties.read_text() if properties.exists() else ""
        fingerprint: dict[str, object] = {
            "hats_properties_sha256": hashlib.sha256(text.encode()).hexdigest()}
        try:
            fingerprint["metadata_sha256"] = open_object_catalog(
                str(path)).main.content_fingerprint()
        except CatalogError:
            pass  # not HATS after all: the reader says so
        return fingerprint
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    stat = path.stat()
    return {"size_bytes": stat.st_size, "sha256": digest.hexdigest(),
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stat.st_mtime))}
