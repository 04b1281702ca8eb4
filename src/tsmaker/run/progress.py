"""A run's progress, recorded in its product's summary for every front end to show.

:class:`ProgressRecorder` passes a run's events on to the front end's reporter and keeps
``summary["progress"]`` of the product up to date in the registry: the current step,
partitions done of the total, rows so far. Advances are written at most once a second
(a run finishing thousands of partitions does not write thousands of times); steps, a
handful per run, when they happen. The web page and ``tsmaker products list`` read it
back, whichever process runs the product.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

from tsmaker.errors import ProductError

if TYPE_CHECKING:
    from tsmaker.registry import Registry
    from tsmaker.run.plan import Reporter

PROGRESS_KEY = "progress"
"""Key of the progress in a product's summary."""


class ProgressState(TypedDict):
    """A run's progress so far, as :class:`ProgressRecorder` keeps it."""

    step: str | None
    partitions_done: int
    partitions_total: int | None
    rows: int


class ProgressRecorder:
    """Records a run's progress in its product's summary, and passes every event on.

    Parameters
    ----------
    registry : Registry
        Where the product is.
    product_id : int
        The product whose summary holds the progress.
    report : callable
        The reporter the events go on to (the front end's).
    clock : callable, optional
        Seconds, monotonic; the tests give their own.

    Examples
    --------
    >>> from tsmaker.registry import Registry
    >>> registry = Registry(getfixture("tmp_path") / "registry.sqlite")
    >>> product = registry.create_product(name="p", description="", parameters={},
    ...                                   inputs={}, versions={})
    >>> now = [0.0]
    >>> record = ProgressRecorder(registry, product.id, lambda event, **info: None,
    ...                           clock=lambda: now[0])
    >>> record("partitions", total=4)
    >>> record("advance", rows=10, partitions=1)       # within a second: not written yet
    >>> registry.get_product(product.id).summary["progress"]["partitions_done"]
    0
    >>> now[0] = 1.5
    >>> record("advance", rows=5, partitions=2)
    >>> progress = registry.get_product(product.id).summary["progress"]
    >>> progress["partitions_done"], progress["partitions_total"], progress["rows"]
    (3, 4, 15)
    """

    INTERVAL_SECONDS = 1.0

    def __init__(
        self, registry: Registry, product_id: int, report: Reporter,
        *, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.product_id = product_id
        self.report = report
        self.clock = clock
        self.state: ProgressState = {
            "step": None, "partitions_done": 0, "partitions_total": None, "rows": 0,
        }
        self._written_at: float | None = None

    def __call__(self, event: str, **info: Any) -> None:
        """Pass the event on, then record what it changes."""
        self.report(event, **info)
        if event == "step":
            self.state["step"] = info["text"]
            self.write()
        elif event == "partitions":
            self.state["partitions_total"] = int(info["total"])
            self.state["partitions_done"] = 0
            self.write()
        elif event == "advance":
            self.state["partitions_done"] += int(info.get("partitions", 1))
            self.state["rows"] += int(info.get("rows", 0))
            if self._written_at is None or (
                self.clock() - self._written_at >= self.INTERVAL_SECONDS
            ):
                self.write()

    def write(self) -> None:
        """Write the progress into the product's summary now."""
        from tsmaker.registry.rows import utc_now

        self._written_at = self.clock()
        try:
            self.registry.update_product_summary(
                self.product_id, {PROGRESS_KEY: {**self.state, "updated_at": utc_now()}}
            )
        except ProductError:
            pass  # removed while it runs: the run's cancellation watch stops it

    def snapshot(self) -> dict[str, object]:
        """The progress as it is now (written or not), for a run's final summary."""
        from tsmaker.registry.rows import utc_now

        return {**self.state, "updated_at": utc_now()}
