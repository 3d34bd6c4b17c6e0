"""A reasoner in a supervised child process: a native crash (llama.cpp SIGSEGV, CUDA abort) costs one request.

The child (`python -m gear_seg_ros.reason.isolated FD`: a clean interpreter, no forked threads, and unlike
multiprocessing's spawn it never re-imports the caller's main script) builds the configured reasoner once and
keeps it, so llama.cpp's KV prefix stays warm between queries. The parent sends each call over a pipe and waits
while watching the child; if the child dies, the running call gets an error naming the signal, and a new child is
started at once in the background so the next call finds the model loaded again.
"""
from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from multiprocessing.connection import Connection
from typing import Any

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.reason.base import Reasoner
from gear_seg_ros.reason.settings import ReasonerConfig
from gear_seg_ros.types import Perception, Selection

log = logging.getLogger("gear_seg.isolated")


class ReasonerCrashedError(GearSegError):
    pass


def resolve_isolation(cfg: ReasonerConfig, in_node: bool) -> str:
    """none | process for `reasoner.isolation` (auto = process for llama_cpp inside the ROS node)."""
    if cfg.isolation != "auto":
        return cfg.isolation
    return "process" if in_node and cfg.backend == "llama_cpp" else "none"


def reasoner_for_node(config: Any) -> IsolatedReasoner | None:
    """The node's reasoner when `reasoner.isolation` resolves to process there, else None (the agent builds it)."""
    if resolve_isolation(config.reasoner, in_node=True) != "process":
        return None
    return IsolatedReasoner(config.reasoner, config.base_dir)


def _child_main(conn: Any) -> None:
    from gear_seg_ros import registry
    from gear_seg_ros.reason import REASONERS

    try:
        cfg_data, base_dir = conn.recv()
        cfg = ReasonerConfig.model_validate(cfg_data)
        reasoner = registry.build("reasoner", REASONERS, cfg.backend, cfg, base_dir=base_dir)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", _describe(exc), traceback.format_exc()))
        return
    conn.send(("ready", type(reasoner).__name__, ""))
    while True:
        try:
            method, args, kwargs = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if method == "stop":
            return
        try:
            conn.send(("ok", getattr(reasoner, method)(*args, **kwargs), ""))
        except BaseException as exc:  # noqa: BLE001
            conn.send(("error", _describe(exc), traceback.format_exc()))


def _describe(exc: BaseException) -> tuple[bool, str]:
    """(is a GearSegError, text): user-fixable errors keep their message as is."""
    if isinstance(exc, GearSegError):
        return True, str(exc)
    return False, f"{type(exc).__name__}: {exc}"


def _exit_text(code: int | None) -> str:
    if code is None:
        return "did not answer"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class IsolatedReasoner(Reasoner):
    """Same interface as the reasoner it runs (select, complete, reset; seeds travel with each call)."""

    def __init__(self, cfg: ReasonerConfig, base_dir: str = "", call_timeout_s: float = 600.0,
                 start_timeout_s: float = 600.0) -> None:
        self.name = cfg.backend
        self._cfg_data, self._base_dir = cfg.model_dump(), base_dir
        self._call_timeout, self._start_timeout = call_timeout_s, start_timeout_s
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None
        self._restarting: threading.Thread | None = None
        self.restarts = 0
        self.crashes = 0
        self._start()  # load errors (missing model, bad config) surface here, as without isolation

    # ---- process management ------------------------------------------------------------------------------------
    def _start(self) -> None:
        parent, child = socket.socketpair()
        proc = subprocess.Popen([sys.executable, "-m", "gear_seg_ros.reason.isolated", str(child.fileno())],
                                pass_fds=[child.fileno()])
        child.close()  # only the child holds its end: the parent sees EOF when the child dies
        weakref.finalize(self, _kill_quietly, proc)
        self._proc, self._conn = proc, Connection(parent.detach())
        self._conn.send((self._cfg_data, self._base_dir))
        status, payload, tb = self._receive(self._start_timeout, "while loading")
        if status != "ready":
            self._kill()
            raise self._error(payload, tb)
        log.info("reasoner %s running in child process %d", self.name, proc.pid)

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill(self) -> None:
        proc, conn = self._proc, self._conn
        if proc is not None:
            _kill_quietly(proc)
        if conn is not None:
            conn.close()
        self._proc = self._conn = None

    def _restart_in_background(self) -> None:
        def restart() -> None:
            try:
                self._start()
                self.restarts += 1
            except Exception:  # the next call retries and reports
                log.exception("restarting the reasoner process failed")
        self._restarting = threading.Thread(target=restart, name="gear_seg_reasoner_restart", daemon=True)
        self._restarting.start()

    def _ensure_running(self) -> None:
        if self._restarting is not None:
            self._restarting.join()
            self._restarting = None
        if not self._alive():
            self._kill()
            self._start()
            self.restarts += 1

    def _receive(self, timeout: float, what: str) -> tuple[str, Any, str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._conn.poll(0.1):
                    return self._conn.recv()
            except (EOFError, OSError):
                pass  # the child died; exitcode below
            if not self._alive() or time.monotonic() > deadline:
                try:
                    code = self._proc.wait(1)
                except subprocess.TimeoutExpired:
                    code = None
                self.crashes += 1
                self._kill()
                raise ReasonerCrashedError(
                    f"the reasoner process ({self.name}) {_exit_text(code)} {what}"
                    + (f" (no answer within {timeout:.0f} s)" if code is None else "")
                    + "; it is being restarted and the next request will be served. If it repeats, check the "
                      "model, or reasoner.llama_cpp.cpu_repack (off avoids a known AMX crash)")

    @staticmethod
    def _error(payload: Any, tb: str) -> Exception:
        user, text = payload
        if user:
            return GearSegError(text)
        log.debug("reasoner child traceback:\n%s", tb)
        return RuntimeError(f"in the reasoner process: {text}")

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._ensure_running()
            try:
                self._conn.send((method, args, kwargs))
                status, payload, tb = self._receive(self._call_timeout, "while answering")
            except ReasonerCrashedError:
                self._restart_in_background()
                raise
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                self._restart_in_background()
                raise ReasonerCrashedError(f"the reasoner process ({self.name}) is gone ({exc}); it is being "
                                           "restarted and the next request will be served") from None
            if status != "ok":
                raise self._error(payload, tb)
            return payload

    def close(self) -> None:
        with self._lock:
            if self._restarting is not None:
                self._restarting.join()
                self._restarting = None
            if self._conn is not None:
                try:
                    self._conn.send(("stop", (), {}))
                except OSError:
                    pass
            if self._proc is not None:
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            self._kill()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # ---- the reasoner interface --------------------------------------------------------------------------------
    def select(self, perception: Perception, instruction: str, mode: str, *, seed: int | None = None) -> Selection:
        # The LLMs read only the text: their masks stay here (pickling masks would cost megabytes a call). The
        # matcher's count rule needs the masks' overlaps (reason/embedding.py), so it gets them.
        masks = perception.masks if self.name == "embedding" else []
        light = Perception(perception.frame_id, perception.image_size, masks, list(perception.descriptions),
                           perception.scene, {})
        try:
            return self.call("select", light, instruction, mode, seed=seed)
        except ReasonerCrashedError as exc:
            return Selection(ids=[], message=str(exc))

    def complete(self, messages: list[dict[str, str]], schema: dict, *, seed: int | None = None,
                 max_tokens: int | None = None) -> str:
        return self.call("complete", messages, schema, seed=seed, max_tokens=max_tokens)

    def reset(self) -> None:
        self.call("reset")


def _kill_quietly(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


if __name__ == "__main__":
    # Ctrl-C in a terminal (and ros2 launch's SIGINT) reaches this child with its parent's process group; the parent
    # ends it (stop, or EOF when the parent is gone), so it ignores SIGINT instead of printing a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _child_main(Connection(int(sys.argv[1])))
