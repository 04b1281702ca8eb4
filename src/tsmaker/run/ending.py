"""How a run ends: its files in place and its product done, or why it failed recorded.

:func:`finish` moves the files into place and marks the product done as one step;
:func:`failed` records why a run ended without its product.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import atomic
from tsmaker.errors import RunCancelled, RunInterrupted
from tsmaker.run.plan import Reporter, RunPlan, silent

if TYPE_CHECKING:
    from tsmaker.registry import ProductRecord, Registry


def failed(
    registry: Registry, product: ProductRecord, plan: RunPlan, error: BaseException
) -> BaseException:
    """Record why a run ended without its product; the error to raise in its place.

    A disk that refused the product becomes one line naming the output folder; a run
    stopped because its product was cancelled or removed says so.
    """
    from tsmaker.run.files import disk_error, existing_file_error

    if isinstance(error, FileExistsError):
        error = existing_file_error(error, plan.output_dir)
    else:
        error = disk_error(error, plan.output_dir) or error
    interrupted = isinstance(error, KeyboardInterrupt | RunInterrupted)
    message = "interrupted" if interrupted else f"{type(error).__name__}: {error}"
    registry.fail_product(
        product.id, status="interrupted" if interrupted else "failed", message=message[:2000]
    )
    status = registry.product_status(product.id)
    if interrupted and status not in ("interrupted", "failed"):
        state = "cancelled" if status == "cancelled" else "removed"  # 'removing', or gone
        return RunCancelled(
            f"product {product.full_name} was {state} while it ran; its files were not kept"
        )
    return error


def finish(
    registry: Registry, product: ProductRecord, pending: atomic.PendingFile, sidecar: Path,
    summary: dict[str, Any], report: Reporter = silent,
) -> ProductRecord:
    """Move the files into place and mark the product done, as one step.

    The registry is held meanwhile (:meth:`tsmaker.registry.Registry.finishing`): a
    product cancelled or removed while it ran keeps no file under a final name, and a
    failure here takes back what was moved. A signal that comes once the product is
    recorded done is too late to undo it: the product stays done with its files, and
    the signal's exception goes on (a script's loop still stops).
    The ``finishing`` event is reported first.
    """
    data_path = pending.final_path
    files = [str(data_path), str(sidecar)]
    committed: list[Path] = []  # only what this run put in place is taken back
    identity = pending.identity()  # what this run moved, even if stopped right after
    try:
        report("finishing")  # outside the transaction: a reporter may use the registry
        with registry.finishing(product.id) as done:
            pending.commit()
            # The record as `products show --json` will print it: marked done in this
            # transaction, which a failure to write the sidecar rolls back.
            finished = done(rows=summary["rows"], files=files, summary=summary)
            committed.append(atomic.write_text(sidecar, sidecar_text(finished)))
            return finished
    except BaseException:
        if recorded_done(registry, product.id):
            pending.discard()
            raise
        pending.take_back(identity)  # before the temporary goes, so its inode is not reused
        pending.discard()
        for path in committed:
            atomic.remove(path)
        raise


def recorded_done(registry: Registry, product_id: int) -> bool:
    """Whether the registry says the product is done (False when it cannot say)."""
    try:
        return registry.product_status(product_id) == "done"
    except Exception:
        return False


def sidecar_text(product: ProductRecord) -> str:
    """The sidecar JSON of a product: its record, as ``tsmaker products show --json`` prints it."""
    return json.dumps(product.to_dict(), indent=2, default=str) + "\n"
