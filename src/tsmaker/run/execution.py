"""Where partition tasks run: in-process threads, a local Dask cluster, a scheduler, SLURM.

Results come back task by task *in order* with a bounded number in flight,
so the writer streams them to disk and memory does not grow with the output size.
"""

from __future__ import annotations

import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tsmaker.errors import InputError
from tsmaker.run.worker_server import start_worker_server

if TYPE_CHECKING:
    import concurrent.futures

    import distributed
    from dask_jobqueue import SLURMCluster

_T = TypeVar("_T")


@dataclass(frozen=True)
class SlurmSettings:
    """A dask-jobqueue SLURMCluster, for HPC login nodes (``pip install tsmaker[hpc]``)."""

    queue: str | None = None
    """SLURM partition (``-p``)."""
    account: str | None = None
    """Project to charge (``-A``)."""
    cores: int = 4
    """Cores per job; each job runs one Dask worker with this many threads."""
    memory: str = "16GB"
    """Memory per job."""
    walltime: str = "01:00:00"
    """Time limit per job, HH:MM:SS."""
    jobs: int = 2
    """Number of jobs (Dask workers) to start."""


@dataclass(frozen=True)
class ExecutionSettings:
    """How many workers, where, and with how much memory."""

    workers: int | None = None
    """Worker processes of a local Dask cluster; None runs in-process with threads."""
    threads_per_worker: int | None = None
    """Threads per worker (default 1 with --workers; all cores in-process)."""
    memory_limit: str | None = None
    """Memory limit per worker, e.g. ``4GB`` (local cluster only)."""
    scheduler: str | None = None
    """Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``."""
    slurm: SlurmSettings | None = None
    """Start workers as SLURM jobs."""
    in_flight: int | None = None
    """Tasks computed ahead of the writer (default: 2 per thread, at least 2)."""

    def validate(self) -> None:
        """Refuse impossible values before anything starts."""
        if self.workers is not None and self.workers < 1:
            raise InputError(f"--workers {self.workers} must be at least 1")
        if self.threads_per_worker is not None and self.threads_per_worker < 1:
            raise InputError(f"--threads-per-worker {self.threads_per_worker} must be at least 1")
        chosen = [self.scheduler is not None, self.slurm is not None]
        if sum(chosen) > 1:
            raise InputError(
                "--scheduler (or TSMAKER_SCHEDULER) and --slurm cannot be used together; "
                "choose one"
            )
        local_only = {"--workers": self.workers, "--threads-per-worker": self.threads_per_worker,
                      "--memory-limit": self.memory_limit}
        given = [flag for flag, value in local_only.items() if value is not None]
        if given and any(chosen):
            where = "--slurm" if self.slurm is not None else "--scheduler"
            raise InputError(
                f"{', '.join(given)} set(s) up a local cluster and cannot be combined with "
                f"{where}; size the workers there instead"
            )
        if self.memory_limit is not None:
            from dask.utils import parse_bytes

            try:
                parse_bytes(self.memory_limit)
            except (ValueError, TypeError):
                raise InputError(
                    f"--memory-limit {self.memory_limit!r} is not a size; write e.g. 4GB or 500MiB"
                ) from None
        if self.scheduler is not None:
            _check_scheduler_address(self.scheduler)
        if self.slurm is not None and self.slurm.jobs < 1:
            raise InputError(f"--slurm-jobs {self.slurm.jobs} must be at least 1")
        # A window below 1 would make the threaded executor yield no partition at all.
        if self.in_flight is not None and self.in_flight < 1:
            raise InputError(
                f"in_flight {self.in_flight} must be at least 1 (partitions computed ahead "
                "of the writer); leave it unset for the default"
            )

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form, for the product's parameters."""
        return asdict(self)

    @classmethod
    def from_mapping(cls, execution: Mapping[str, Any]) -> ExecutionSettings:
        """Build from a run's ``execution`` mapping (SLURM settings as a nested mapping).

        Raises
        ------
        InputError
            An unknown setting.
        """
        values = dict(execution)
        slurm = values.pop("slurm", None)
        known = {f.name for f in fields(cls)} - {"slurm"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"unknown execution setting(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(known))}"
            )
        if isinstance(slurm, Mapping):
            slurm_known = {f.name for f in fields(SlurmSettings)}
            if set(slurm) - slurm_known:
                raise InputError(
                    f"unknown SLURM setting(s) {', '.join(sorted(set(slurm) - slurm_known))}; "
                    f"known: {', '.join(sorted(slurm_known))}"
                )
            slurm = SlurmSettings(**slurm)
        return cls(**values, slurm=slurm)

    @property
    def starts_local_cluster(self) -> bool:
        """True when these settings start worker processes on this machine."""
        return self.workers is not None and self.scheduler is None and self.slurm is None


def _check_scheduler_address(address: str) -> None:
    """Refuse an address without a port before a product is registered.

    distributed's Client raises a bare ValueError for it, after the run has started.
    """
    from distributed.comm.addressing import get_address_host_port

    if "://" in address and not address.startswith(("tcp://", "tls://")):
        return  # inproc://, ucx://, ws://...: no host:port to check here
    try:
        get_address_host_port(address)
    except ValueError as error:
        raise InputError(
            f"--scheduler {address!r} is not a Dask scheduler address ({error}); give it as "
            "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"
        ) from None


@dataclass(frozen=True)
class PartitionTask(Generic[_T]):
    """One partition's work: ``function(*args)``, run on a thread or a Dask worker."""

    function: Callable[..., _T]
    args: tuple[object, ...] = ()


@dataclass
class Executor:
    """Runs partition tasks and yields their results in order."""

    client: distributed.Client | None = None
    """A distributed Client, or None for in-process threads."""
    threads: int = 1
    """Total threads available, used to size the window of partitions in flight."""
    in_flight: int | None = None
    description: str = "in-process threads"

    def window(self) -> int:
        """How many partitions may be computed ahead of the writer."""
        return self.in_flight or max(2, 2 * self.threads)

    def ordered_results(self, tasks: Iterable[PartitionTask[_T]]) -> Iterator[_T]:
        """Yield the result of each task in order, with at most ``window()`` in flight.

        A sliding window, not batches: a slow partition never holds the others back,
        and memory holds at most ``window()`` results whatever the number of tasks.
        On a Dask cluster each task is submitted on its own, so a worker receives only
        its partition's inputs (the spec-z inside the pixel, the files to read), packed
        by :func:`_packed_task`.
        """
        if self.client is None:
            yield from self._threaded(tasks)
        else:
            yield from self._distributed(tasks)

    def _threaded(self, tasks: Iterable[PartitionTask[_T]]) -> Iterator[_T]:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="tsmaker")
        pending: deque[concurrent.futures.Future[_T]] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(task.function, *task.args))
                if len(pending) >= self.window():
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _distributed(self, tasks: Iterable[PartitionTask[_T]]) -> Iterator[_T]:
        pending: deque[distributed.Future[_T]] = deque()
        try:
            for task in tasks:
                # Named after the task's function, as the dashboard would otherwise show it.
                key = f"{getattr(task.function, '__name__', 'task')}-{uuid.uuid4().hex}"
                pending.append(self.client.submit(_run_packed, _packed_task(task), key=key))
                if len(pending) >= self.window():
                    yield _take(pending.popleft())
            while pending:
                yield _take(pending.popleft())
        finally:
            for future in pending:
                future.release()


def _packed_task(task: PartitionTask[_T]) -> bytes:
    """The task's function and arguments pickled into one opaque payload.

    The scheduler unpickles the arguments of every task it receives and pickles them
    again for the worker; for our tasks (a few thousand small spec-z frames) that was
    half of the driver's CPU in a local-cluster run, where the scheduler shares the
    machine with the workers. Bytes pass through the scheduler untouched and are
    unpickled once, where the task runs. Pickled as distributed itself does (pickle,
    or cloudpickle for what pickle cannot take).
    """
    from distributed.protocol.pickle import dumps

    return dumps((task.function, task.args))


def _run_packed(payload: bytes) -> Any:
    from distributed.protocol.pickle import loads

    function, args = loads(payload)
    return function(*args)


def _take(future: distributed.Future[_T]) -> _T:
    result = future.result()
    future.release()
    return result


@contextmanager
def open_executor(settings: ExecutionSettings) -> Iterator[Executor]:
    """Start (or connect to) what the settings ask for, and shut it down afterwards."""
    settings.validate()
    if settings.scheduler:
        from distributed import Client

        try:
            client = Client(settings.scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise InputError(
                f"cannot reach Dask scheduler {settings.scheduler!r} ({error}); check the "
                "address and that `dask scheduler` is running"
            ) from None
        threads = sum(client.nthreads().values()) or 1
        try:
            yield Executor(client, threads, settings.in_flight, f"scheduler {settings.scheduler}")
        finally:
            client.close()
        return
    if settings.slurm is not None:
        cluster = make_slurm_cluster(settings.slurm)
        cluster.scale(jobs=settings.slurm.jobs)
        from distributed import Client

        client = Client(cluster)
        try:
            threads = settings.slurm.jobs * settings.slurm.cores
            yield Executor(client, threads, settings.in_flight, "SLURM jobs")
        finally:
            client.close()
            cluster.close()
        return
    if settings.workers is None:
        threads = settings.threads_per_worker or os.cpu_count() or 1
        yield Executor(None, threads, settings.in_flight, f"{threads} in-process threads")
        return
    import dask
    from distributed import Client, LocalCluster

    threads_per_worker = settings.threads_per_worker or 1
    local_config: dict[str, bool | str] = {
        # No dashboard, so nobody reads the workers' statistical profile: sampling every
        # task's stack 100 times a second took ~7% of a 2-worker run's time.
        "distributed.worker.profile.enabled": False,
        # Every server's event loop notes its own latency each tick (every 20 ms by
        # default): 4% of a core for the driver and 2% for each idle worker. Once a
        # second still reports a blocked loop; the overhead halves.
        "distributed.admin.tick.interval": "1s",
    }
    if start_worker_server():
        local_config["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(local_config):
        cluster = LocalCluster(
            n_workers=settings.workers,
            threads_per_worker=threads_per_worker,
            memory_limit=settings.memory_limit or "auto",
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
    client = Client(cluster)
    try:
        yield Executor(
            client,
            settings.workers * threads_per_worker,
            settings.in_flight,
            f"local cluster of {settings.workers} workers",
        )
    finally:
        client.close()
        cluster.close()


def make_slurm_cluster(slurm: SlurmSettings, *, local_only: bool = False) -> SLURMCluster:
    """A dask-jobqueue SLURMCluster (no job is submitted until it is scaled).

    Raises
    ------
    InputError
        When dask-jobqueue is not installed.
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise InputError(
            "--slurm needs dask-jobqueue; install it with: pip install 'tsmaker[hpc]'"
        ) from None
    return SLURMCluster(
        queue=slurm.queue,
        account=slurm.account,
        cores=slurm.cores,
        processes=1,
        memory=slurm.memory,
        walltime=slurm.walltime,
        # The dashboard goes on a free port; a real run's scheduler must listen where the
        # compute nodes can reach it, a print-only one stays on loopback.
        scheduler_options={"dashboard_address": ":0",
                           **({"host": "127.0.0.1"} if local_only else {})},
    )


def slurm_job_script(slurm: SlurmSettings) -> str:
    """The sbatch script each SLURM worker job would run (nothing is submitted)."""
    cluster = make_slurm_cluster(slurm, local_only=True)
    try:
        return cluster.job_script()
    finally:
        cluster.close()
