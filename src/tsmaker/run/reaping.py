"""Cleaning up after runs whose process died: the next command does what they could not.

A run killed with SIGKILL (or a machine that lost power) leaves its product marked
running and its temporary files behind. :func:`reap_interrupted_products` marks such
products interrupted and deletes their temporary files, found by the naming rule of
:mod:`tsmaker.atomic`; a file under its final name is never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker import atomic

if TYPE_CHECKING:
    from tsmaker.registry import Registry


def reap_interrupted_products(registry: Registry) -> list[int]:
    """Mark products whose process died as interrupted and delete their partial files.

    Removals cut short are finished too, where their files can now be deleted.

    Returns
    -------
    list of int
        The ids of the products reaped.
    """
    for removing in registry.pending_removals():
        try:
            for name in removing.files:
                atomic.remove(Path(name), strict=True)
        except OSError:
            continue  # still refused: `products list` shows it as removing
        registry.delete_product(removing.id)
    reaped = registry.reap_stale_products()
    for product_id in reaped:
        product = registry.get_product(product_id)
        if product.pid is None:
            continue
        for planned in (product.summary or {}).get("planned_files", []):
            for leftover in atomic.leftovers(Path(planned), product.pid):
                atomic.remove(leftover)
    return reaped
