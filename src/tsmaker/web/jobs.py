"""The server's runs: each in a process of its own, at most N at once, the rest queued.

One supervisor thread owns every child process: it starts queued runs while fewer
than ``max_jobs`` run, notices those that end, and stops those cancelled. Request
handlers only call :meth:`JobManager.submit`, :meth:`JobManager.cancel` and
:meth:`JobManager.state`, which hold a lock for microseconds and never wait on a
process, so the page and the API stay responsive while runs use every core.

Each run is ``python -m tsmaker.run.jobs PRODUCT_ID --parent-pid SERVER_PID``
(:mod:`tsmaker.run.jobs`), in a session of its own: Ctrl-C in the server's terminal
reaches only the server, which stops its runs itself, and a cancellation signals the
run's whole process group (Dask workers included). A run stops cleanly on SIGTERM, is
killed after a grace period, and dies with the server if the server is killed. The
registry stays the one record of each product's status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsmaker.registry import Registry

SERVER_STOPPED_QUEUED = "the server stopped before this run started; submit it again"
SERVER_STOPPED_RUNNING = "the server stopped while this run was running; submit it again"


@dataclass
class Job:
    """A run the server started: its product and its process."""

    product_id: int
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_sent_at: float | None = None
    """When SIGTERM was sent to its process group (a cancellation), monotonic seconds."""


class JobManager:
    """Runs queued products in child processes, at most ``max_jobs`` at once.

    Parameters
    ----------
    registry_path : Path
        The registry holding the products.
    log_dir : Path
        Where each run's output goes (``job-<id>.log``; deleted when the run is done).
    max_jobs : int
        Runs executed at once.
    grace_seconds : float
        How long a stopped run has to end cleanly before it is killed.
    """

    POLL_SECONDS = 0.2

    def __init__(self, registry_path: Path, log_dir: Path, max_jobs: int = 1,
                 grace_seconds: float = 10.0) -> None:
        self.registry_path = registry_path
        self.log_dir = log_dir
        self.max_jobs = max_jobs
        self.grace_seconds = grace_seconds
        self._queue: deque[int] = deque()
        self._running: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._supervise, name="tsmaker-jobs", daemon=True)
        self._registry: Registry | None = None

    # ------------------------------------------------------------ request handlers

    def start(self) -> None:
        """Start the supervisor thread."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def submit(self, product_id: int) -> None:
        """Queue a product registered as queued (:func:`tsmaker.run.jobs.submit_run`).

        Raises
        ------
        RuntimeError
            The server is stopping.
        """
        with self._lock:
            if self._stopping:
                raise RuntimeError("the server is stopping; submit the run again later")
            self._queue.append(product_id)
        self._wake.set()

    def cancel(self, product_id: int) -> bool:
        """Take a product out of the queue, or stop its running process; True if it was here.

        The product itself is marked cancelled by the caller
        (:func:`tsmaker.manage.products.cancel_product`), before this.
        """
        with self._lock:
            if product_id in self._queue:
                self._queue.remove(product_id)
                return True
            job = self._running.get(product_id)
            if job is None:
                return False
            if job.stop_sent_at is None:
                job.stop_sent_at = time.monotonic()
                _signal_group(job.process.pid, signal.SIGTERM)
        self._wake.set()
        return True

    def state(self) -> dict[str, object]:
        """``max_jobs``, the ids running and the ids queued (in order)."""
        with self._lock:
            return {"max_jobs": self.max_jobs, "running": sorted(self._running),
                    "queued": list(self._queue)}

    # ------------------------------------------------------------ shutdown

    def shutdown(self) -> None:
        """Stop accepting runs, mark the queued ones interrupted, stop the running ones.

        Blocks until every child has ended (killed after the grace period).
        """
        with self._lock:
            self._stopping = True
        self._wake.set()
        self._thread.join(timeout=self.grace_seconds + 5)
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
            running = list(self._running.values())
        for job in running:
            _signal_group(job.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for job in running:
            try:
                job.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(job.process.pid, signal.SIGKILL)
                job.process.wait()
        registry = self._open_registry()
        try:
            for product_id in queued:
                registry.fail_product(product_id, status="interrupted",
                                      message=SERVER_STOPPED_QUEUED)
            for job in running:  # a run that could not mark itself (killed)
                registry.fail_product(job.product_id, status="interrupted",
                                      message=SERVER_STOPPED_RUNNING)
        finally:
            registry.close()

    # ------------------------------------------------------------ supervisor thread

    def _supervise(self) -> None:
        # This thread must live as long as the server: the kernel's parent-death signal
        # (tsmaker.run.jobs.stop_with_parent) follows the thread that started a run.
        while not self._stopping:
            self._wake.wait(self.POLL_SECONDS)
            self._wake.clear()
            try:
                self._step()
            except Exception as error:  # a registry hiccup must not stop every run
                sys.stderr.write(f"tsmaker serve: job supervisor: {error}\n")
        if self._registry is not None:
            self._registry.close()

    def _step(self) -> None:
        with self._lock:
            if self._stopping:
                return
            ended = [job for job in self._running.values() if job.process.poll() is not None]
            for job in ended:
                del self._running[job.product_id]
            overdue = [job for job in self._running.values() if job.stop_sent_at is not None
                       and time.monotonic() - job.stop_sent_at > self.grace_seconds]
            starting: list[int] = []
            while self._queue and len(self._running) + len(starting) < self.max_jobs:
                starting.append(self._queue.popleft())
        for job in overdue:
            _signal_group(job.process.pid, signal.SIGKILL)
        for job in ended:
            self._ended(job)
        for product_id in starting:
            self._start(product_id)

    def _open_registry(self) -> Registry:
        from tsmaker.registry import Registry

        return Registry(self.registry_path)

    def _registry_here(self) -> Registry:
        if self._registry is None:
            self._registry = self._open_registry()
        return self._registry

    def _start(self, product_id: int) -> None:
        """Start a queued product's process (from the supervisor thread only)."""
        if self._registry_here().product_status(product_id) != "queued":
            return  # cancelled or removed while it waited
        log_path = self.log_dir / f"job-{product_id}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tsmaker.run.jobs", str(product_id),
                 "--parent-pid", str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )
        with self._lock:
            self._running[product_id] = Job(product_id, process, log_path)

    def _ended(self, job: Job) -> None:
        """A run's process ended: fail a product it left active; keep the log of a failure."""
        code = job.process.returncode
        registry = self._registry_here()
        if code != 0:
            # The run marks its product itself; this covers a process that died first.
            reason = last_error_line(job.log_path) or f"its process ended with exit code {code}"
            registry.fail_product(job.product_id, status="failed",
                                  message=f"{reason} (log: {job.log_path})")
        if registry.product_status(job.product_id) != "failed":
            job.log_path.unlink(missing_ok=True)


def last_error_line(log_path: Path) -> str | None:
    """The message of the last ``Error: ...`` line of a run's log, if any."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("Error: "):
            return line.removeprefix("Error: ")
    return None


def _signal_group(pid: int, signum: int) -> None:
    """Signal a run's process group (its pid: each run leads a session of its own)."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
