"""What an object catalog's HATS metadata says: columns, coordinates, margin, files.

Read once per run, before anything is registered; no rows are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsmaker.errors import CatalogError, TsmakerError, first_line

if TYPE_CHECKING:
    import pyarrow as pa

    from tsmaker.inputs.hats_files import ObjectCatalogFiles


@dataclass(frozen=True)
class ObjectCatalogInfo:
    """What the HATS metadata says about an object catalog (no rows read)."""

    location: str
    """Path or URL as given."""
    catalog_path: str
    """The main catalog's folder inside a collection (or ``location`` itself)."""
    columns: tuple[str, ...]
    """All column names in the schema."""
    ra_column: str
    """Right ascension column (``hats_col_ra``), degrees."""
    dec_column: str
    """Declination column (``hats_col_dec``), degrees."""
    total_rows: int | None
    """Row count, when the properties give it."""
    margin_path: str | None
    """The default margin cache's folder, if any."""
    margin_threshold_arcsec: float | None
    """Width of the margin cache, arcsec (None without one)."""
    fingerprint: dict[str, object]
    """What changes when the catalog does: rows, creation date, size, partitions, and
    a SHA-256 of the main catalog's and the margin's metadata files
    (:meth:`tsmaker.inputs.hats_files.HatsCatalog.content_fingerprint`)."""
    schema: pa.Schema | None = None
    """The catalog's pyarrow schema (column types), as its metadata gives it."""
    files: ObjectCatalogFiles | None = None
    """The catalog's files (:class:`tsmaker.inputs.hats_files.ObjectCatalogFiles`)."""


def read_object_catalog_info(location: str) -> ObjectCatalogInfo:
    """Read the HATS metadata of an object catalog or collection.

    Parameters
    ----------
    location : str
        Local path or URL of a HATS catalog or collection.

    Raises
    ------
    CatalogError
        If the location does not exist, does not answer, or is not HATS.
    """
    from tsmaker.inputs.hats_files import open_object_catalog

    try:
        files = open_object_catalog(location)
        catalog = files.main
        margin_threshold_arcsec = (
            files.margin.margin_threshold_arcsec if files.margin is not None else None
        )
        schema = catalog.schema()
        content = catalog.content_fingerprint()
        margin_content = files.margin.content_fingerprint() if files.margin is not None else None
    except TsmakerError:  # its own words; a run stopped meanwhile (RunInterrupted) stays so
        raise
    except FileNotFoundError as error:
        raise CatalogError(
            f"object catalog {location!r} was not found or does not answer "
            f"({first_line(error)}); check the path or URL"
        ) from error
    except Exception as error:  # pyarrow, fsspec and aiohttp raise several types
        raise CatalogError(
            f"{location!r} is not a readable HATS catalog or collection "
            f"({first_line(error)}); point --object at the folder holding "
            "collection.properties or hats.properties"
        ) from error
    if catalog.properties.get("dataproduct_type") not in ("object", "source", None) or (
        catalog.ra_column is None
    ):
        kind = catalog.properties.get("dataproduct_type", "catalog")
        raise CatalogError(
            f"{location!r} is a HATS {kind} catalog without sky coordinates; "
            "an object catalog must be a HATS object catalog or collection"
        )
    properties = catalog.properties
    fingerprint: dict[str, object] = {
        "hats_nrows": catalog.total_rows,
        "hats_creation_date": properties.get("hats_creation_date"),
        "hats_estsize": int(properties["hats_estsize"]) if properties.get("hats_estsize")
        else None,
        "partitions": len(catalog.pixels),
        "metadata_sha256": content,
        "margin_metadata_sha256": margin_content,
    }
    return ObjectCatalogInfo(
        location=location,
        catalog_path=catalog.location.describe(),
        columns=tuple(schema.names) if schema is not None else (),
        ra_column=catalog.ra_column,
        dec_column=catalog.dec_column,
        total_rows=catalog.total_rows,
        margin_path=files.margin.location.describe() if files.margin is not None else None,
        margin_threshold_arcsec=margin_threshold_arcsec,
        fingerprint=fingerprint,
        schema=schema,
        files=files,
    )


def is_reachable(location: str) -> bool:
    """True when a local path exists, or a URL answers a HEAD/GET within a few seconds."""
    if "://" not in location or location.startswith("file://"):
        from pathlib import Path

        return Path(location.removeprefix("file://")).expanduser().exists()
    import urllib.error
    import urllib.request

    for properties in ("collection.properties", "hats.properties"):
        url = location.rstrip("/") + "/" + properties
        try:
            with urllib.request.urlopen(url, timeout=3):
                return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False
