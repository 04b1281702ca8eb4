"""What the page and the API both do: submit a checked run, cancel it, delete a product.

Each is the library's call plus the server's part of it: the job manager queues or
stops the run's process, and a deleted product's cached plot goes too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tsmaker import atomic
from tsmaker.errors import TsmakerError
from tsmaker.registry.records import ACTIVE_STATUSES

if TYPE_CHECKING:
    from tsmaker.parameters import RunParameters
    from tsmaker.registry import ProductRecord, Registry
    from tsmaker.run.preflight import Preflight
    from tsmaker.run.rerun import EarlierProduct
    from tsmaker.web.config import ServerConfig
    from tsmaker.web.jobs import JobManager


class RunRefused(TsmakerError):  # noqa: N818 - reads as what happened to the run
    """Parameters a run cannot start with; nothing was registered."""

    def __init__(self, found: Preflight) -> None:
        self.found = found
        first = next(iter(found.problems.values()))
        super().__init__(str(first))
        self.parameter = first.parameter


def submit_checked(
    parameters: RunParameters, registry: Registry, jobs: JobManager,
    earlier: EarlierProduct | None = None,
) -> ProductRecord:
    """Check a run (:func:`tsmaker.run.preflight.preflight_run`), register it queued, queue it.

    ``earlier`` is the product a rerun starts from (``like``): the job compares its
    inputs with today's, as ``tsmaker run --like`` does.

    Raises
    ------
    RunRefused
        With every problem found; nothing is registered.
    """
    from tsmaker.run.jobs import submit_run
    from tsmaker.run.preflight import preflight_run

    found = preflight_run(parameters, registry)
    if not found.ok:
        raise RunRefused(found)
    product = submit_run(parameters, registry, earlier)
    jobs.submit(product.id)
    return product


def cancel_run(product: ProductRecord, registry: Registry, jobs: JobManager) -> ProductRecord:
    """Cancel a queued or running product and stop its process; the record after it.

    Raises
    ------
    ProductError
        The product is neither queued nor running.
    """
    from tsmaker.manage.products import cancel_product

    cancelled = cancel_product(product.id, registry)
    jobs.cancel(product.id)
    return cancelled


def delete_product(product: ProductRecord, registry: Registry, jobs: JobManager,
                   config: ServerConfig) -> ProductRecord:
    """Remove a product, its files and its cached plot; a queued or running one is stopped.

    The record is marked removed first, so a run still going cannot finish
    (:func:`tsmaker.manage.products.remove_product`).
    """
    from tsmaker.manage.products import remove_product

    removed = remove_product(product.id, force=True, registry=registry)
    if removed.status in ACTIVE_STATUSES:
        jobs.cancel(product.id)
    atomic.remove(config.plots_dir / f"{product.id}.png")
    return removed
