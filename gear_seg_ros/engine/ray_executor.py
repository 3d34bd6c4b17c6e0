"""The engine's stages on a Ray cluster: model-holding workers as actors (they may ask for GPUs), writes as tasks.

Without an address a private local instance is started, bound to the loopback interface and shut down afterwards.
The output folder must be on storage every node sees (the actors read the perception cache, the tasks write records).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from gear_seg_ros.errors import GearSegError


def run_on_ray(todo: list[str], jobs: tuple, workers: int, gpus_per_actor: float = 0.0,
               address: str | None = None, cpus_per_actor: float = 1.0) -> Iterator[tuple[str, int, str]]:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise GearSegError("--executor ray needs Ray: pip install ray==2.60.0") from None
    from gear_seg_ros.engine.runner import EngineWorker, store_record

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
        actors = [actor_cls.remote(*jobs) for _ in range(max(1, min(workers, len(todo))))]
        pool = ActorPool(actors)
        out = jobs[3]
        for image_file, (record, error) in zip_names(pool, todo):
            if record is None:
                yield image_file, 0, error
            else:
                yield ray.get(write_task.remote(out, image_file, record))
    finally:
        if started:
            ray.shutdown()


def zip_names(pool, todo: list[str]):
    """ActorPool.map_unordered loses which input a result belongs to; tag each result with its image."""
    tagged = pool.map_unordered(lambda actor, name: actor.build_tagged.remote(name), todo)
    yield from tagged


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
