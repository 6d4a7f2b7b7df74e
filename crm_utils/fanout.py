"""Fan per-series work out over processes (joblib) or a Dask distributed cluster.

One function, :func:`fan_out`, so the notebooks and the benchmark choose where work runs with a
parameter and nothing else changes: results come back as a list in the order of the inputs,
whatever ran where. Scheduling is left to joblib and Dask; there is no scheduler of our own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

ENGINES = ("joblib", "dask", "serial")


def fan_out(func: Callable[[Any], Any], items: Iterable[Any], *, engine: str = "joblib",
            n_jobs: int | None = None, dask_address: str | None = None) -> list[Any]:
    """``[func(item) for item in items]``, computed in parallel.

    engine: ``"joblib"`` (default) runs worker processes on this machine (``n_jobs``, default all
    cores); ``"dask"`` submits to the Dask scheduler at ``dask_address``, or to a LocalCluster
    started for this call when no address is given (for several calls, start one with
    :func:`local_cluster` and pass its ``scheduler_address``); ``"serial"`` runs in this process
    (debugging). A ``dask_address`` alone implies ``engine="dask"``. ``func`` must be importable (a module-level
    function) and its items picklable, since both travel to other processes.
    """
    items = list(items)
    if dask_address:
        engine = "dask"
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "serial" or not items:
        return [func(item) for item in items]
    if engine == "joblib":
        from joblib import Parallel, delayed

        return Parallel(n_jobs=n_jobs or -1, backend="loky")(delayed(func)(item) for item in items)
    return _dask_map(func, items, dask_address, n_jobs)


def local_cluster(n_workers: int | None = None):
    """A Dask LocalCluster on this machine: one single-threaded worker process per core (or
    ``n_workers``), since Stan and BLAS do not share threads well. Its workers' shutdown chatter
    (heartbeats racing the scheduler's exit) is silenced; a task's own error still comes back
    through its future. Close it when done (it is a context manager)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers if n_workers and n_workers > 0 else None, threads_per_worker=1,
                        processes=True, dashboard_address=None, silence_logs=logging.CRITICAL)


def _dask_map(func: Callable[[Any], Any], items: list[Any], address: str | None, n_jobs: int | None) -> list[Any]:
    from distributed import Client

    cluster = local_cluster(n_jobs) if address is None else None
    try:
        with Client(address or cluster.scheduler_address, set_as_default=False) as client:
            # Items go to the workers as data first (a group of customers' lines can be tens of
            # megabytes: inside the task graph it would be copied through the scheduler); pure=False
            # and hash=False: every item is its own task even if two items look alike.
            futures = client.map(func, client.scatter(items, hash=False), pure=False)
            return client.gather(futures)
    finally:
        if cluster is not None:
            cluster.close()
