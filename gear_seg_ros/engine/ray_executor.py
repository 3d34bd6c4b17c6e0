"""The engine's stages on a Ray cluster: model-holding workers as actors (they may ask for GPUs), writes as tasks.

Without an address a private local instance is started, bound to the loopback interface and shut down afterwards.
The output folder must be on storage every node sees (the actors read the perception cache, the tasks write records).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from gear_seg_ros.engine.worker import EngineJob, EngineWorker, Outcome, store_record
from gear_seg_ros.errors import GearSegError


def run_on_ray(todo: list[str], job: EngineJob, workers: int, *, gpus_per_actor: float = 0.0,
               cpus_per_actor: float = 1.0, address: str | None = None) -> Iterator[Outcome]:
    """Each actor reserves `cpus_per_actor` CPUs and `gpus_per_actor` GPUs (Ray's num_cpus / num_gpus)."""
    check_resources(cpus_per_actor, gpus_per_actor)
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise GearSegError("--executor ray needs Ray: pip install ray==2.60.0") from None

    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            with loopback_only():
                ray.init(num_cpus=max(2, int(workers * cpus_per_actor) + 1), include_dashboard=False,
                         _node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False)
    try:
        actor_cls = ray.remote(num_cpus=cpus_per_actor, num_gpus=gpus_per_actor)(EngineWorker)
        write_task = ray.remote(num_cpus=0)(store_record)
        pool = ActorPool([actor_cls.remote(job) for _ in range(max(1, min(workers, len(todo))))])
        # map_unordered: results in the order they finish; each Built names its image
        for built in pool.map_unordered(lambda actor, name: actor.build.remote(name), todo):
            if built.record is None:
                yield Outcome(built.image_file, 0, built.error)
            else:
                yield ray.get(write_task.remote(job.out, built))
    finally:
        if started:
            ray.shutdown()


def check_resources(cpus_per_actor: float, gpus_per_actor: float) -> None:
    if not cpus_per_actor > 0:
        raise GearSegError(f"--cpus-per-actor must be above 0, got {cpus_per_actor} (Ray's num_cpus per actor)")
    if not gpus_per_actor >= 0:
        raise GearSegError(f"--gpus-per-actor must be 0 or more, got {gpus_per_actor} (Ray's num_gpus per actor)")


@contextlib.contextmanager
def loopback_only():
    """On Linux Ray replaces 127.0.0.1 by the machine's routable address and its gRPC servers then listen on every
    interface; with its cluster mode off (the env var its processes inherit, and the constant if ray was imported
    already) the private instance is reachable from this machine only."""
    from ray._private import ray_constants

    saved_env, saved_flag = os.environ.get(_FLAG), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_FLAG], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(_FLAG, None)
        else:
            os.environ[_FLAG] = saved_env


_FLAG = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
