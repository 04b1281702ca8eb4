"""What the registry records: a registered catalog and a product, and product file names.

Plain frozen dataclasses, free of SQL, so code that only reads records (plots, the
pipeline naming its files) needs neither the registry nor ``sqlite3``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATALOG_KINDS: tuple[str, ...] = ("object", "redshift")
PRODUCT_STATUSES: tuple[str, ...] = (
    "queued", "running", "done", "failed", "interrupted", "cancelled", "removing",
)
ACTIVE_STATUSES: tuple[str, ...] = ("queued", "running")
"""A product in one of these is waiting for, or doing, its run."""
MAX_FILE_STEM_CHARS = 100


@dataclass(frozen=True)
class CatalogRecord:
    """A registered catalog."""

    id: int
    """Registry id, never reused."""
    kind: str
    """``"object"`` (LSST Object photometry) or ``"redshift"`` (spec-z catalog)."""
    name: str
    """Unique name across both kinds."""
    location: str
    """Path or URL of the catalog (a HATS folder, or a file)."""
    profile: str | None
    """Object-catalog profile (``"dp1"``, ``"dp02"``, ``"generic"``) or None."""
    columns: dict[str, str]
    """Role to column name, e.g. ``{"ra": "RA", "dec": "Dec", "z": "z"}``."""
    description: str
    """Free text."""
    row_count: int | None
    """Number of rows when known."""
    fingerprint: dict[str, object]
    """What identifies the catalog's content (size, modification time, hash...)."""
    created_at: str
    """When it was registered, ISO 8601 UTC."""

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-safe dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ProductRecord:
    """A product (training set) made, or being made, by tsmaker."""

    id: int
    """Registry id, never reused."""
    name: str
    """Name given by the user, stored verbatim (any characters)."""
    full_name: str = field(init=False)
    """``f"{name}_{id}"``: unique, and how users refer to the product."""
    description: str
    """Free text."""
    status: str
    """``"queued"`` (a server's job waiting its turn), ``"running"``, ``"done"``,
    ``"failed"``, ``"interrupted"``, ``"cancelled"``, or ``"removing"`` (its files are
    being deleted; the record goes next)."""
    parameters: dict[str, Any]
    """The run's parameters."""
    inputs: dict[str, Any]
    """Input catalogs: location and fingerprint of each."""
    versions: dict[str, Any]
    """Versions of tsmaker, lsdb, hats, dustmaps used for the run."""
    rows: int | None
    """Number of rows written, once done."""
    files: list[str]
    """Files written, once done."""
    summary: dict[str, Any]
    """Statistics of the run (match counts, timings...)."""
    message: str | None
    """Why the run failed or was interrupted."""
    created_at: str
    """When the run started, ISO 8601 UTC."""
    finished_at: str | None
    """When the run ended, ISO 8601 UTC."""
    pid: int | None
    """Process id of the run."""
    host: str | None
    """Host name of the machine that ran it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "full_name", f"{self.name}_{self.id}")

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-safe dict."""
        return dataclasses.asdict(self)


def safe_file_stem(name: str, product_id: int) -> str:
    """A file-system-safe stem for a product's files.

    Parameters
    ----------
    name : str
        Product name, any characters.
    product_id : int
        Product id, appended so stems of different products never collide.

    Returns
    -------
    str
        Only ``[A-Za-z0-9._-]``, no leading dot, at most ``MAX_FILE_STEM_CHARS``
        characters, never empty; e.g. ``"my train/set"``, 12 -> ``"my_train_set_12"``.
    """
    # Drop accents so "été" becomes "ete" rather than "_t_".
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(char for char in decomposed if not unicodedata.combining(char))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name)
    stem = re.sub(r"_{2,}", "_", stem).lstrip("._").rstrip("_")
    suffix = f"_{product_id}"
    stem = stem[: MAX_FILE_STEM_CHARS - len(suffix)].rstrip("_") or "product"
    return stem + suffix


_PRODUCT_SIDECAR = re.compile(r"_([0-9]+)(?:-[0-9]+)?\.json$")


def highest_product_id(folder: Path) -> int:
    """The largest product id among the product sidecars in ``folder`` (0 for none).

    Sidecars are named ``<stem>_<id>.json`` (``<stem>_<id>-<n>.json`` when the run took
    a fresh stem, :func:`tsmaker.atomic.claim_names`).

    Examples
    --------
    >>> folder = Path(getfixture("tmp_path"))
    >>> for name in ("a_3.json", "a_3.parquet", "b_12-2.json", ".c_99.json.partial-1"):
    ...     _ = (folder / name).write_text("{}")
    >>> highest_product_id(folder), highest_product_id(folder / "missing")
    (12, 0)
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    found = (_PRODUCT_SIDECAR.search(name) for name in names if not name.startswith("."))
    return max((int(match[1]) for match in found if match), default=0)
