"""Where the Dask graph runs: in-process threads, a local cluster, a remote scheduler, SLURM.

Results come back partition by partition *in order* with a bounded number in flight,
so the writer streams them to disk and memory does not grow with the output size.
"""

import os
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from tsmaker.errors import InputError


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
    """Partitions computed ahead of the writer (default: 2 per thread, at least 2)."""

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the product's parameters."""
        return asdict(self)


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


@dataclass
class Executor:
    """Computes a list of delayed partitions and yields their results in order."""

    client: Any = None
    """A distributed Client, or None for dask's in-process threaded scheduler."""
    threads: int = 1
    """Total threads available, used to size the window of partitions in flight."""
    in_flight: int | None = None
    description: str = "in-process threads"
    closers: list[Any] = field(default_factory=list)

    def window(self) -> int:
        """How many partitions may be computed ahead of the writer."""
        return self.in_flight or max(2, 2 * self.threads)

    def ordered_results(self, tasks: "TaskGraph | Sequence[Any]") -> Iterator[Any]:
        """Yield the result of each task in order, with at most ``window()`` in flight.

        ``tasks`` is a :class:`TaskGraph` or a sequence of dask Delayed objects. Each task
        runs on its own culled sub-graph, so a slow partition never holds the others
        back (a sliding window, not batches) and a remote worker receives only the
        graph of its own partition.
        """
        graph = tasks if isinstance(tasks, TaskGraph) else TaskGraph.from_delayed(tasks)
        if self.client is None:
            yield from self._threaded(graph)
        else:
            yield from self._distributed(graph)

    def _threaded(self, graph: "TaskGraph") -> Iterator[Any]:
        from concurrent.futures import ThreadPoolExecutor

        from dask.local import get_sync

        def compute(key: Any) -> Any:
            return get_sync(graph.subgraph(key), key)

        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="tsmaker")
        pending: deque[Any] = deque()
        try:
            for key in graph.keys:
                pending.append(pool.submit(compute, key))
                if len(pending) >= self.window():
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _distributed(self, graph: "TaskGraph") -> Iterator[Any]:
        # In-memory inputs (the redshift catalog's partitions) go to the cluster once;
        # each partition's task then refers to them instead of carrying a copy.
        pinned = {
            key: self.client.get(_named_graph(graph.subgraph(key)), key, sync=False)
            for key in graph.embedded_data_keys()
        }
        pending: deque[Any] = deque()
        try:
            for key in graph.keys:
                subgraph = _named_graph(graph.subgraph(key, exclude=pinned))
                pending.append(self.client.get(subgraph, key, sync=False))
                if len(pending) >= self.window():
                    yield _take(pending.popleft())
            while pending:
                yield _take(pending.popleft())
        finally:
            for future in [*pending, *pinned.values()]:
                future.release()


def _named_graph(subgraph: dict[Any, Any]) -> Any:
    """Wrap a sub-graph for ``Client.get`` under a fresh name.

    Without a name, dask tokenizes (cloudpickles) every task to name the graph, which
    costs more than running a small partition; the keys are unique already.
    """
    try:
        from dask._expr import LLGExpr
    except ImportError:  # an older or newer dask: let it name the graph itself
        return subgraph
    import uuid

    return LLGExpr(subgraph, _determ_token=f"tsmaker-{uuid.uuid4().hex}")


def _take(future: Any) -> Any:
    result = future.result()
    future.release()
    return result


@dataclass
class TaskGraph:
    """A flat dask graph and the keys whose results are wanted, in order."""

    graph: dict[Any, Any]
    """Key -> task (dask TaskSpec); shared by every output key."""
    keys: list[Any]
    """Output keys, in the order results are yielded."""

    def subgraph(self, key: Any, exclude: Any = ()) -> dict[Any, Any]:
        """The part of the graph ``key`` depends on, less the ``exclude`` keys."""
        from dask.optimization import cull

        culled = cull(self.graph, [key])[0]
        for excluded in exclude:
            culled.pop(excluded, None)
        return culled

    def embedded_data_keys(self) -> list[Any]:
        """Keys of tasks that carry a DataFrame in the graph itself (in-memory inputs)."""
        import pandas as pd
        from dask._task_spec import DataNode, Task

        found = []
        for key, task in self.graph.items():
            values = [task.value] if isinstance(task, DataNode) else (
                [*task.args, *task.kwargs.values()] if isinstance(task, Task) else []
            )
            if any(isinstance(value, pd.DataFrame) and len(value) for value in values):
                found.append(key)
        return found

    @classmethod
    def from_delayed(cls, tasks: Sequence[Any]) -> "TaskGraph":
        """Flatten dask Delayed objects into one graph (shared layers merged once)."""
        graph: dict[Any, Any] = {}
        seen: set[Any] = set()
        for task in tasks:
            high_level = task.__dask_graph__()
            layers = getattr(high_level, "layers", {id(high_level): high_level})
            for name, layer in layers.items():
                if name not in seen:
                    seen.add(name)
                    graph.update(layer)
        return cls(graph, [task.key for task in tasks])


def partition_tasks(delayed_partitions: Sequence[Any], function: Any, *args: Any) -> TaskGraph:
    """A TaskGraph applying ``function(partition, *args)`` to each LSDB partition.

    LSDB's ``to_delayed()`` returns Delayed objects sharing one graph; it is flattened
    once, and one task per partition is added on top.
    """
    from dask._task_spec import Task, TaskRef

    graph: dict[Any, Any] = {}
    seen: set[int] = set()
    for partition in delayed_partitions:
        shared = partition.dask
        if id(shared) not in seen:
            seen.add(id(shared))
            graph.update(dict(shared))
    keys = []
    for index, partition in enumerate(delayed_partitions):
        key = (f"tsmaker-finish-{function.__name__}", index)
        graph[key] = Task(key, function, TaskRef(partition.key), *args)
        keys.append(key)
    return TaskGraph(graph, keys)


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
    from distributed import Client, LocalCluster

    threads_per_worker = settings.threads_per_worker or 1
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


def make_slurm_cluster(slurm: SlurmSettings, *, local_only: bool = False) -> Any:
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
