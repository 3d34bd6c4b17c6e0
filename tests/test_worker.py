"""The node's worker thread (no ROS): requests racing a stop are released with a reason; a stuck call is reported."""
import threading

from gear_seg_ros.ros.perception_worker import Request, Worker


def test_a_request_submitted_after_stop_is_released_with_a_reason():
    worker = Worker(lambda req: "answer")
    worker.start()
    assert worker.submit(Request("a", "referring")).done.wait(5)
    assert worker.stop(timeout=5)
    late = worker.submit(Request("b", "referring"))  # a service callback that raced deactivate
    assert late.done.wait(1) and late.result is None and "deactivated" in late.error


def test_stop_reports_a_worker_stuck_in_a_model_call():
    release = threading.Event()

    def handle(req):
        req.progress("reasoning")
        release.wait(10)
        return "late"

    worker = Worker(handle)
    worker.start()
    req = worker.submit(Request("a", "referring"))
    threading.Event().wait(0.3)
    assert worker.stop(timeout=0.2) is False and worker.current_stage == "reasoning"
    release.set()
    assert worker.stop(timeout=5) and req.done.wait(1) and req.result == "late"
