"""What pages and API answers are made of: templates, product records as JSON, error statuses.

Every route renders through here, so that a product looks the same in the list, on its
page and in the API, and an error gets the same status wherever it happens.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from tsmaker.errors import (
    CatalogError,
    DustMapError,
    InputError,
    ParameterError,
    ProductError,
    RegistryError,
    TsmakerError,
)
from tsmaker.registry.records import ACTIVE_STATUSES

if TYPE_CHECKING:
    from tsmaker.errors import Naming
    from tsmaker.registry import ProductRecord

templates = Jinja2Templates(env=Environment(
    loader=PackageLoader("tsmaker.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
))

JSONValue = TypeVar("JSONValue")

MEDIA_TYPES: dict[str, str] = {
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
    ".fits": "application/fits",
    ".hdf5": "application/x-hdf5",
    ".json": "application/json",
    ".png": "image/png",
}


def status_for(error: TsmakerError) -> int:
    """The HTTP status of a domain error: 422 bad input, 409 a product in the wrong state."""
    if isinstance(error, ProductError):
        return 409
    if isinstance(error, RegistryError):
        return 503
    if isinstance(error, InputError | CatalogError | DustMapError):
        return 422
    return 400


def message_for(error: TsmakerError, naming: Naming) -> str:
    """An error's message, naming a run parameter as the flag (pages) or keyword (API)."""
    if isinstance(error, ParameterError):
        return error.message(naming)
    return str(error)


def finite(value: JSONValue) -> JSONValue:
    """``value`` with NaN and infinities as None, so that it is valid JSON (same shape).

    Examples
    --------
    >>> finite({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def file_entries(product: ProductRecord) -> list[dict[str, Any]]:
    """The files of a product as the page and the API offer them: name, size, URL."""
    entries = []
    for index, name in enumerate(product.files):
        path = Path(name)
        size = _size_bytes(path)
        entries.append({
            "index": index, "name": path.name, "exists": size is not None,
            "size_bytes": size, "is_folder": path.is_dir(),
            "url": f"/api/products/{product.id}/files/{index}",
        })
    return entries


def _size_bytes(path: Path) -> int | None:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size if path.is_file() else None


def product_json(product: ProductRecord, queue: list[int] | None = None) -> dict[str, Any]:
    """A product record for the API: the record, its progress, its files and links."""
    record = product.to_dict()
    record["progress"] = product.summary.get("progress")
    if queue is not None and product.id in queue:
        record["queue_position"] = queue.index(product.id) + 1
    record["downloads"] = file_entries(product) if product.status == "done" else []
    record["links"] = {
        "self": f"/api/products/{product.id}",
        "page": f"/products/{product.id}",
        "download": f"/api/products/{product.id}/download",
        "plot": f"/api/products/{product.id}/plot",
    }
    return finite(record)


def is_active(product: ProductRecord) -> bool:
    """True for a product queued or running."""
    return product.status in ACTIVE_STATUSES


def human_bytes(size: int | None) -> str:
    """``1.5 MB`` style.

    Examples
    --------
    >>> human_bytes(1536), human_bytes(None)
    ('1.5 kB', '-')
    """
    if size is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return f"{size} B"


def when(timestamp: str | None) -> str:
    """An ISO 8601 UTC time as ``YYYY-MM-DD HH:MM:SS``.

    Examples
    --------
    >>> when("2026-12-04T18:10:00.123+00:00"), when(None)
    ('2026-12-04 18:10:00', '')
    """
    return timestamp[:19].replace("T", " ") if timestamp else ""


def status_label(product: ProductRecord) -> str:
    """A product's status as a page shows it.

    A queued run whose job has started (it is planning: reading the catalogs, and
    records its steps) is ``starting``; one still waiting in a server's queue, this
    server's or another's sharing the registry, stays ``queued``.
    """
    progress = product.summary.get("progress") or {}
    if product.status == "queued" and progress.get("step"):
        return "starting"
    return product.status


templates.env.filters["human_bytes"] = human_bytes
templates.env.filters["when"] = when
templates.env.globals["status_label"] = status_label
