"""The files of a HATS catalog or collection, read with pyarrow alone.

A run needs only a HATS catalog's metadata (properties, partition list, schema, the
margin cache) and, per partition, one Parquet file and its margin file. Reading these
directly keeps a run's start-up at pyarrow's cost instead of importing the hats/LSDB
stack (about 2 s), and lets each partition be read by pyarrow without holding the GIL.
The layout follows the HATS v1.0 specification (the same files ``hats.read_hats`` and
``lsdb.open_catalog`` read): ``collection.properties``, ``hats.properties``,
``partition_info.csv`` (or ``dataset/_metadata``), ``dataset/_common_metadata`` and
``dataset/Norder=K/Dir=D/Npix=N.parquet`` with ``D = N // 10000 * 10000``.

Local folders are read with the operating system; URLs (``https://``, ``s3://``, ...)
through fsspec, as hats does.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tsmaker.errors import CatalogError

if TYPE_CHECKING:
    import pyarrow as pa
    from fsspec import AbstractFileSystem

FINGERPRINT_METADATA_BYTES = 8 << 20
"""How much of ``dataset/_metadata`` a catalog's content fingerprint reads (with its size)."""


@dataclass(frozen=True)
class HatsLocation:
    """A folder of a HATS catalog: a local path or a URL, with its filesystem."""

    path: str
    """Local path, or the URL's path as its fsspec filesystem wants it."""
    url: str | None = None
    """The URL as given (None for a local folder)."""
    filesystem: AbstractFileSystem | None = field(default=None, compare=False, repr=False)
    """The fsspec filesystem of a URL; None for a local folder (the OS reads it)."""

    @classmethod
    def of(cls, location: str) -> HatsLocation:
        """The folder at ``location`` (path, ``file://`` path or URL)."""
        if "://" not in location or location.startswith("file://"):
            from pathlib import Path

            return cls(str(Path(location.removeprefix("file://")).expanduser()))
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(location)
        return cls(path.rstrip("/"), location.rstrip("/"), filesystem)

    def join(self, *names: str) -> HatsLocation:
        """A file or folder inside this one (``..`` allowed, as in HATS properties)."""
        import os

        if self.filesystem is None:
            return HatsLocation(os.path.normpath(os.path.join(self.path, *names)))
        return HatsLocation(
            _join_url(self.path, names), _join_url(self.url or "", names), self.filesystem
        )

    def describe(self) -> str:
        """The location as a user wrote it."""
        return self.url or self.path

    def exists(self) -> bool:
        """True when the file or folder exists (a URL: when it answers)."""
        if self.filesystem is None:
            import os

            return os.path.exists(self.path)
        try:
            return bool(self.filesystem.exists(self.path))
        except OSError:
            return False

    def read_head(self, limit_bytes: int) -> tuple[int, bytes]:
        """The file's size and its first ``limit_bytes`` bytes."""
        if self.filesystem is None:
            import os

            with open(self.path, "rb") as handle:
                return os.fstat(handle.fileno()).st_size, handle.read(limit_bytes)
        with self.filesystem.open(self.path, "rb") as handle:
            return int(self.filesystem.size(self.path)), handle.read(limit_bytes)

    def read_text(self) -> str:
        """The whole file as text."""
        if self.filesystem is None:
            with open(self.path, encoding="utf-8") as handle:
                return handle.read()
        with self.filesystem.open(self.path, "rb") as handle:
            return handle.read().decode("utf-8")


def _join_url(base: str, names: tuple[str, ...]) -> str:
    """Join names to a URL or fsspec path, resolving ``..`` but keeping ``scheme://``.

    Examples
    --------
    >>> _join_url("https://host/data/object_lc", ("..", "object_lc_5arcs"))
    'https://host/data/object_lc_5arcs'
    """
    scheme, separator, rest = base.rpartition("://")
    joined = posixpath.normpath(posixpath.join(rest, *names))
    return f"{scheme}{separator}{joined}"


def read_properties(location: HatsLocation) -> dict[str, str]:
    r"""A Java-style ``.properties`` file as a dict (``key=value``, ``#`` comments).

    Examples
    --------
    >>> folder = getfixture("tmp_path")
    >>> _ = (folder / "hats.properties").write_text(
    ...     "#HATS catalog\nhats_nrows=12\nhats_creation_date=2025-06-25T15\\:19UTC\n")
    >>> read_properties(HatsLocation(str(folder / "hats.properties")))
    {'hats_nrows': '12', 'hats_creation_date': '2025-06-25T15:19UTC'}
    """
    properties = {}
    for line in location.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, _, value = line.partition("=")
        properties[key.strip()] = _unescape(value.strip())
    return properties


def _unescape(value: str) -> str:
    out = []
    characters = iter(value)
    for character in characters:
        out.append(next(characters, "") if character == "\\" else character)
    return "".join(out)


@dataclass(frozen=True)
class HatsCatalog:
    """One HATS catalog (object or margin): its properties and partitions."""

    location: HatsLocation
    properties: dict[str, str]
    pixels: tuple[tuple[int, int], ...]
    """The partitions as (order, pixel), in sky order (by their first order-29 index)."""

    @property
    def ra_column(self) -> str | None:
        """Right ascension column (``hats_col_ra``)."""
        return self.properties.get("hats_col_ra")

    @property
    def dec_column(self) -> str | None:
        """Declination column (``hats_col_dec``)."""
        return self.properties.get("hats_col_dec")

    @property
    def total_rows(self) -> int | None:
        """Row count (``hats_nrows``), if given."""
        rows = self.properties.get("hats_nrows")
        return int(rows) if rows else None

    @property
    def margin_threshold_arcsec(self) -> float | None:
        """Margin width of a margin catalog (``hats_margin_threshold``)."""
        threshold = self.properties.get("hats_margin_threshold")
        return float(threshold) if threshold else None

    def pixel_file(self, order: int, pixel: int) -> HatsLocation:
        """The Parquet file (or folder, for ``hats_npix_suffix=/``) of one partition."""
        suffix = self.properties.get("hats_npix_suffix", ".parquet")
        name = f"Npix={pixel}" + ("" if suffix in ("/", "\\") else suffix)
        return self.location.join(
            "dataset", f"Norder={order}", f"Dir={pixel // 10000 * 10000}", name
        )

    def content_fingerprint(self) -> str:
        """A SHA-256 of the catalog's metadata files: cheap, and no data rows read.

        It covers ``hats.properties``, ``partition_info.csv``,
        ``dataset/_common_metadata`` and ``dataset/_metadata`` (its size and first
        :data:`FINGERPRINT_METADATA_BYTES`, which hold the schema and the row groups'
        row counts and statistics): a catalog rebuilt with other rows, partitions or
        columns gets another fingerprint.
        """
        import hashlib

        digest = hashlib.sha256()
        for names in (("hats.properties",), ("partition_info.csv",),
                      ("dataset", "_common_metadata"), ("dataset", "_metadata")):
            part = self.location.join(*names)
            digest.update("/".join(names).encode() + b"\0")
            if part.exists():
                size, head = part.read_head(FINGERPRINT_METADATA_BYTES)
                digest.update(str(size).encode() + b"\0" + head)
        return digest.hexdigest()

    def schema(self) -> pa.Schema | None:
        """The pyarrow schema of the catalog's rows (from ``dataset/_common_metadata``)."""
        import pyarrow.parquet as pq

        for name in ("_common_metadata", "_metadata"):
            metadata = self.location.join("dataset", name)
            if metadata.exists():
                return pq.read_schema(metadata.path, filesystem=metadata.filesystem)
        if not self.pixels:
            return None
        first = self.pixel_file(*self.pixels[0])
        return pq.read_schema(first.path, filesystem=first.filesystem)


def read_catalog(location: HatsLocation) -> HatsCatalog:
    """Read a HATS catalog's properties and partition list.

    Raises
    ------
    CatalogError
        If the folder has no ``hats.properties`` or no readable partition list.
    """
    properties_file = location.join("hats.properties")
    if not properties_file.exists():
        if location.filesystem is not None:
            raise CatalogError(
                f"object catalog {location.describe()!r} was not found or does not answer "
                "(no hats.properties or collection.properties there); check the path or URL"
            )
        raise CatalogError(
            f"{location.describe()!r} is not a HATS catalog or collection (no "
            "hats.properties or collection.properties); point --object at the folder that "
            "holds one"
        )
    properties = read_properties(properties_file)
    return HatsCatalog(location, properties, _read_pixels(location))


def _read_pixels(location: HatsLocation) -> tuple[tuple[int, int], ...]:
    partition_info = location.join("partition_info.csv")
    pixels: list[tuple[int, int]] = []
    if partition_info.exists():
        lines = [line.strip() for line in partition_info.read_text().splitlines()]
        header = [name.strip() for name in lines[0].split(",")] if lines else []
        try:
            order_at, pixel_at = header.index("Norder"), header.index("Npix")
        except ValueError:
            raise CatalogError(
                f"{partition_info.describe()!r} has no Norder,Npix header; rebuild the "
                "catalog with hats-import"
            ) from None
        for line in lines[1:]:
            if line:
                values = line.split(",")
                pixels.append((int(values[order_at]), int(values[pixel_at])))
    else:
        pixels = _pixels_from_metadata(location)
    return tuple(sorted(set(pixels), key=lambda p: p[1] << (2 * (29 - p[0]))))


def _pixels_from_metadata(location: HatsLocation) -> list[tuple[int, int]]:
    import re

    import pyarrow.parquet as pq

    metadata_file = location.join("dataset", "_metadata")
    if not metadata_file.exists():
        raise CatalogError(
            f"HATS catalog {location.describe()!r} has neither partition_info.csv nor "
            "dataset/_metadata, so its partitions are unknown; rebuild it with hats-import"
        )
    metadata = pq.read_metadata(metadata_file.path, filesystem=metadata_file.filesystem)
    pattern = re.compile(r"Norder=(\d+)/Dir=\d+/Npix=(\d+)")
    pixels = []
    for index in range(metadata.num_row_groups):
        found = pattern.search(metadata.row_group(index).column(0).file_path)
        if found:
            pixels.append((int(found.group(1)), int(found.group(2))))
    return pixels


@dataclass(frozen=True)
class ObjectCatalogFiles:
    """An object catalog opened for matching: the main catalog and its margin cache."""

    main: HatsCatalog
    margin: HatsCatalog | None


def open_object_catalog(location: str) -> ObjectCatalogFiles:
    """Open a HATS collection (main catalog + default margin) or a bare catalog.

    Raises
    ------
    CatalogError
        If the location does not exist or does not hold HATS metadata.
    """
    folder = HatsLocation.of(location)
    collection_file = folder.join("collection.properties")
    if folder.filesystem is None and not folder.exists():
        raise CatalogError(f"object catalog path {location!r} does not exist; check it")
    if not collection_file.exists():
        return ObjectCatalogFiles(read_catalog(folder), None)
    collection = read_properties(collection_file)
    primary = collection.get("hats_primary_table_url")
    if not primary:
        raise CatalogError(
            f"{location!r} has a collection.properties without hats_primary_table_url; "
            "rebuild the collection with hats-import"
        )
    main = _collection_member(folder, primary, "main catalog (hats_primary_table_url)")
    margin_name = collection.get("default_margin")
    margin = (
        _collection_member(folder, margin_name, "margin cache (default_margin)")
        if margin_name else None
    )
    return ObjectCatalogFiles(main, margin)


def _collection_member(collection: HatsLocation, name: str, role: str) -> HatsCatalog:
    """A catalog a collection's properties name; missing, it is named as missing.

    Raises
    ------
    CatalogError
        The catalog named is not there (deleted, moved, not copied with the rest).
    """
    member = collection.join(name)
    if not member.join("hats.properties").exists():
        raise CatalogError(
            f"the {role} {name!r} of collection {collection.describe()!r} is missing (no "
            f"{member.join('hats.properties').describe()!r}); restore it, or rebuild the "
            "collection with hats-import"
        )
    return read_catalog(member)
