"""Stopping a run whose product was cancelled or removed from another process."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tsmaker.errors import RunCancelled

if TYPE_CHECKING:
    from tsmaker.registry import ProductRecord, Registry
    from tsmaker.run.plan import Reporter


class CancellationWatch:
    """Passes a run's events on, and stops the run once its product is no longer running.

    The registry is asked at most once a second, as partitions finish: a product
    cancelled or removed from another process (the web page, ``products rm --force``)
    stops a run that no signal reaches (one started from a Python session).
    """

    INTERVAL_SECONDS = 1.0

    def __init__(self, registry: Registry, product: ProductRecord, report: Reporter) -> None:
        self.registry = registry
        self.product = product
        self.report = report
        self.checked = time.monotonic()

    def __call__(self, event: str, **info: object) -> None:
        """Pass the event on; on ``advance``, stop a run whose product was cancelled."""
        self.report(event, **info)
        if event != "advance" or time.monotonic() - self.checked < self.INTERVAL_SECONDS:
            return
        self.checked = time.monotonic()
        status = self.registry.product_status(self.product.id)
        if status != "running":
            state = status if status in ("cancelled", "interrupted", "failed") else "removed"
            raise RunCancelled(
                f"product {self.product.full_name} was {state} while it ran; "
                "its files were not kept"
            )
