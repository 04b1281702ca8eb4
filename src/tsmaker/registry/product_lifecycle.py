"""A product's lifecycle in the registry: queued, running, then done, failed or stopped.

Every change of status is one short transaction, so that a run, a server and a user's
``products rm`` in other processes always see a consistent record: a cancelled or
removed product cannot be finished (:meth:`ProductLifecycle.finishing`), and a
removal is marked before any file goes.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from tsmaker.errors import ProductError, RunCancelled, require_choice
from tsmaker.registry.product_table import ProductTable, product_from_row, product_row_by_id
from tsmaker.registry.records import ACTIVE_STATUSES, ProductRecord
from tsmaker.registry.rows import dump_json, utc_now

STALE_PRODUCT_MESSAGE = "the process running it stopped (killed or crashed)"


class ProductLifecycle(ProductTable):
    """Start, cancel, finish, fail, remove and reap products. Part of the Registry."""

    def start_product(
        self,
        product_id: int,
        *,
        parameters: Mapping[str, object],
        inputs: Mapping[str, object],
        versions: Mapping[str, object],
    ) -> ProductRecord:
        """Begin the run of a queued product in this process: "queued" -> "running".

        The parameters, inputs and versions replace those recorded when it was queued
        (the run resolves them).

        Raises
        ------
        ProductError
            Unknown id, or the product is not queued (it was cancelled meanwhile).
        """
        with self._transaction(write=True) as connection:
            row = product_row_by_id(connection, product_id)
            if row["status"] != "queued":
                error = RunCancelled if row["status"] == "cancelled" else ProductError
                raise error(
                    f"product {row['name']}_{row['id']} is {row['status']}, not queued; "
                    "only a queued product can be started"
                )
            connection.execute(
                "UPDATE products SET status = 'running', parameters = ?, inputs = ?, "
                "versions = ?, pid = ?, host = ? WHERE id = ?",
                (
                    dump_json(dict(parameters), "parameters"),
                    dump_json(dict(inputs), "inputs"),
                    dump_json(dict(versions), "versions"),
                    os.getpid(),
                    socket.gethostname(),
                    product_id,
                ),
            )
            row = product_row_by_id(connection, product_id)
        return product_from_row(row)

    def cancel_product(self, ref: str | int, *, message: str = "cancelled") -> ProductRecord:
        """Mark a queued or running product "cancelled"; the record as it was before.

        The caller stops the process recorded in the returned record (``pid`` on
        ``host``); a run that is not stopped still cannot finish (:meth:`finishing`).

        Raises
        ------
        ProductError
            Unknown product, or one that is neither queued nor running.
        """
        record = self.get_product(ref)
        with self._transaction(write=True) as connection:
            row = product_row_by_id(connection, record.id)
            if row["status"] not in ACTIVE_STATUSES:
                raise ProductError(
                    f"product {record.full_name} is {row['status']}; only a queued or running "
                    "product can be cancelled"
                )
            connection.execute(
                "UPDATE products SET status = 'cancelled', message = ?, finished_at = ? "
                "WHERE id = ?",
                (message, utc_now(), record.id),
            )
        return product_from_row(row)

    @contextmanager
    def finishing(self, product_id: int) -> Iterator[Callable[..., ProductRecord]]:
        """Hold the registry while a run moves its files into place, then mark it done.

        Yields ``done(rows=..., files=..., summary=...)``. The product must still be
        running when the block starts, and nothing can cancel or remove it until the
        block ends: a cancelled run never puts a file under a final name. An exception
        in the block leaves the product running (the caller fails it).

        Raises
        ------
        RunCancelled
            The product is no longer running (cancelled, removed, reaped).
        """
        with self._transaction(write=True) as connection:
            row = connection.execute(
                "SELECT * FROM products WHERE id = ?", (product_id,)
            ).fetchone()
            if row is None or row["status"] != "running":
                state = "removed" if row is None or row["status"] == "removing" else row["status"]
                name = f"{row['name']}_{product_id}" if row is not None else str(product_id)
                raise RunCancelled(
                    f"product {name} was {state} while it ran; its files were not kept"
                )

            def done(
                *, rows: int, files: list[str], summary: Mapping[str, object]
            ) -> ProductRecord:
                return _mark_done(connection, row, rows, files, summary)

            yield done

    def finish_product(
        self, product_id: int, *, rows: int, files: list[str], summary: Mapping[str, object]
    ) -> ProductRecord:
        """Mark a running product "done".

        Parameters
        ----------
        product_id : int
            The product's id.
        rows : int
            Number of rows written.
        files : list of str
            Files written.
        summary : Mapping
            Statistics of the run; merged into the existing summary.

        Returns
        -------
        ProductRecord
            The updated record.

        Raises
        ------
        ProductError
            Unknown id, or the product is not "running".
        """
        with self._transaction(write=True) as connection:
            row = product_row_by_id(connection, product_id)
            if row["status"] != "running":
                raise ProductError(
                    f"product {row['name']}_{row['id']} is {row['status']}, not running; "
                    "only a running product can be finished"
                )
            return _mark_done(connection, row, rows, files, summary)

    def fail_product(self, product_id: int, *, status: str = "failed", message: str) -> None:
        """Mark a queued or running product "failed" or "interrupted", with the reason.

        A product that is no longer queued or running (done, cancelled, removed) is left
        as it is, so that calling this from an error handler never hides the original
        error.

        Raises
        ------
        InputError
            ``status`` is not "failed" or "interrupted".
        """
        require_choice(status, ("failed", "interrupted"), "failure status")
        with self._transaction(write=True) as connection:
            if connection.execute(
                "SELECT 1 FROM products WHERE id = ?", (product_id,)
            ).fetchone() is None:
                return
            connection.execute(
                "UPDATE products SET status = ?, message = ?, finished_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (status, message, utc_now(), product_id),
            )

    def begin_removal(self, ref: str | int, *, force: bool = False) -> ProductRecord:
        """Mark a product "removing" before its files go; the record as it was.

        The record keeps its files list, so a removal cut short (a read-only folder, a
        crash) is finished by the next command (:meth:`pending_removals`). A queued or
        running product is refused unless ``force``; the caller then stops its process.

        Raises
        ------
        ProductError
            Unknown product, or queued/running and ``force`` is false.
        """
        record = self.get_product(ref)
        with self._transaction(write=True) as connection:
            row = product_row_by_id(connection, record.id)
            if row["status"] in ACTIVE_STATUSES and not force:
                raise ProductError(
                    f"product {record.full_name} is still {row['status']} (pid {row['pid']} "
                    f"on {row['host']}); wait for it to end, stop it, or remove it with --force"
                )
            connection.execute(
                "UPDATE products SET status = 'removing', message = 'being removed', "
                "finished_at = COALESCE(finished_at, ?) WHERE id = ?",
                (utc_now(), record.id),
            )
        return product_from_row(row)

    def delete_product(self, product_id: int) -> None:
        """Delete the record of a product being removed (its files are gone)."""
        with self._transaction(write=True) as connection:
            connection.execute(
                "DELETE FROM products WHERE id = ? AND status = 'removing'", (product_id,)
            )

    def pending_removals(self) -> list[ProductRecord]:
        """Products whose removal was cut short: files maybe left, record still here."""
        return self.list_products("removing")

    def remove_product(self, ref: str | int, *, force: bool = False) -> ProductRecord:
        """Delete a product's record (not its files) and return it.

        Parameters
        ----------
        ref : str or int
            As for `find_product`.
        force : bool
            Also remove a product that is still queued or running.

        Raises
        ------
        ProductError
            Unknown product, or still queued or running and ``force`` is false.
        """
        record = self.begin_removal(ref, force=force)
        self.delete_product(record.id)
        return record

    def reap_stale_products(self) -> list[int]:
        """Mark "interrupted" the queued or running products whose process died on this host.

        A running product's process is its run; a queued product's is the process that
        queued it (a server), which owns the queue: when it dies, nothing will run them.

        Products run on other hosts are left alone: their processes cannot be seen.

        Returns
        -------
        list of int
            Ids of the products marked interrupted.
        """
        if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there, not probe
            return []
        host = socket.gethostname()
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT id, pid FROM products WHERE status IN ('queued', 'running') "
                "AND host = ? AND pid IS NOT NULL ORDER BY id",
                (host,),
            ).fetchall()
        stale = [(row["id"], row["pid"]) for row in rows if not _process_exists(row["pid"])]
        if not stale:
            return []
        reaped_ids = []
        with self._transaction(write=True) as connection:
            finished_at = utc_now()
            for product_id, pid in stale:
                # The pid must still be the dead one: a queued product may have been
                # started meanwhile by a live job.
                cursor = connection.execute(
                    "UPDATE products SET status = 'interrupted', message = ?, "
                    "finished_at = ? WHERE id = ? AND pid = ? "
                    "AND status IN ('queued', 'running')",
                    (STALE_PRODUCT_MESSAGE, finished_at, product_id, pid),
                )
                if cursor.rowcount:
                    reaped_ids.append(product_id)
        return reaped_ids


def _process_exists(pid: int) -> bool:
    """True unless the process ``pid`` is certainly gone from this host."""
    if pid <= 0:  # 0 and negatives address process groups, not one process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists but belongs to someone else
        return True
    return True


def _mark_done(
    connection: sqlite3.Connection, row: sqlite3.Row, rows: int, files: list[str],
    summary: Mapping[str, object],
) -> ProductRecord:
    """Set a running product's row to done, its summary merged; the new record."""
    merged_summary = {**json.loads(row["summary"]), **summary}
    connection.execute(
        "UPDATE products SET status = 'done', rows = ?, files = ?, summary = ?, "
        "finished_at = ? WHERE id = ?",
        (
            rows,
            dump_json([str(path) for path in files], "files"),
            dump_json(merged_summary, "summary"),
            utc_now(),
            row["id"],
        ),
    )
    return product_from_row(product_row_by_id(connection, row["id"]))
