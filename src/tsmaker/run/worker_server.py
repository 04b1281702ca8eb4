"""The process local Dask workers are forked from: started early, importing once, quiet.

A local cluster's workers are forked from a forkserver that imports distributed,
pandas, pyarrow and tsmaker's task modules once, started while the run still reads
its inputs (:func:`start_worker_server`). It and its workers never see Ctrl-C (the
driver stops them) and keep their stderr off the terminal (:func:`_quiet_children`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Task modules imported once by the process local workers are forked from, beside what
#: distributed itself preloads there, so no worker imports them again at its first task.
TASK_MODULES = (
    "pyarrow", "pyarrow.parquet", "tsmaker.matching.crossmatch", "tsmaker.run.partition",
    "tsmaker.science.photometry", "tsmaker.matching.ranking", "tsmaker.matching.sphere",
    "tsmaker.science.split",
)


def start_worker_server() -> bool:
    """Start, without waiting, the process that local Dask workers are forked from.

    Each worker of a local cluster is otherwise a new interpreter that imports
    distributed, pandas and pyarrow for itself (about a second of CPU each, while the
    other workers and the driver need the same cores). A forkserver imports them once,
    and the workers are forked from it ready to run; started while the redshift catalog
    is read and planned, its imports take none of the run's time on a machine with a
    core to spare. The variables distributed sets for its workers before they start
    (``distributed.nanny.pre-spawn-environ``, e.g. ``OMP_NUM_THREADS=1``) are given to
    the forkserver, so its workers start with them, except ``MALLOC_TRIM_THRESHOLD_``
    (see the comment below). Calling it again does nothing while the server runs.

    Returns
    -------
    bool
        False where the platform has no forkserver (Windows): workers are then
        spawned, as distributed does by default.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    import dask.config
    from distributed.versions import optional_packages, required_packages

    context = multiprocessing.get_context("forkserver")
    # distributed's own forkserver preload (distributed.utils.get_mp_context), and ours.
    context.set_forkserver_preload(
        ["distributed", *required_packages, *optional_packages, *TASK_MODULES]
    )
    worker_environment = {
        name: str(value)
        for name, value in (dask.config.get("distributed.nanny.pre-spawn-environ") or {}).items()
        if value is not None and name not in os.environ
    }
    # distributed's MALLOC_TRIM_THRESHOLD_ (65536) makes glibc hand freed memory back at
    # once, and also fixes its mmap threshold: every array above 128 KB is then mapped,
    # faulted in and unmapped again. A task here holds a few MB at a time, and a 1-worker
    # 10x DP1 run was 7-17% faster without it (7 of 7 interleaved pairs; 2 workers: no
    # slower), so local workers keep glibc's adaptive defaults. Setting the variable in
    # the environment still applies it.
    worker_environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    os.environ.update(worker_environment)
    try:
        with _quiet_children():
            forkserver.ensure_running()
    finally:
        for name in worker_environment:
            del os.environ[name]
    return True


@contextmanager
def _quiet_children() -> Iterator[None]:
    """Processes started in the block (the forkserver, so every local worker) keep quiet.

    Ctrl-C in a terminal reaches every process of the foreground group: workers and
    the forkserver (busy importing pandas) would each die with a KeyboardInterrupt
    traceback, and a worker still starting when the driver stops prints why it could
    not, dozens of lines after our one ``Error: interrupted``. So SIGINT is blocked
    in this thread while the block starts them: a process inherits the signal mask
    of the thread that forks it, across exec, and the forkserver hands it on to every
    worker it forks, which thus never sees Ctrl-C (the driver answers it and stops the
    cluster). The driver does not lose it: Python answers a signal in the main thread
    only, so a Ctrl-C that comes meanwhile is answered at once if another thread takes
    it, or as the block ends. multiprocessing's resource tracker is started first:
    starting it unblocks SIGINT in the calling thread on its way out, which would
    undo the block before the forkserver starts. Unless ``TSMAKER_DEBUG`` is set, the
    children also write their stderr to ``/dev/null`` (their errors reach the driver
    through Dask).
    """
    import signal
    from multiprocessing import resource_tracker

    from tsmaker import settings

    saved_stderr = None
    # The caller's mask, taken before the resource tracker changes it, is given back.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    try:
        if not settings.debug_enabled():
            sys.stderr.flush()
            saved_stderr = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        resource_tracker.ensure_running()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        yield
    finally:
        if saved_stderr is not None:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)  # a waiting Ctrl-C lands
