"""gear_seg_msgs builders from the agent's QueryResult / Perception."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gear_seg_msgs.msg import FrameDescriptions, GraspTarget, SegmentationResult
from geometry_msgs.msg import Pose, PoseArray
from sensor_msgs.msg import RegionOfInterest

from gear_seg_ros.geometry.target import FrameGeometry, TargetGeometry
from gear_seg_ros.ros.conversions import mask_to_image
from gear_seg_ros.types import Perception, QueryResult

STAGES = ("segment_s", "nms_s", "describe_s", "reason_s", "total_s")


def roi(box: Sequence[int]) -> RegionOfInterest:
    x0, y0, x1, y1 = (int(v) for v in box)
    return RegionOfInterest(x_offset=x0, y_offset=y0, width=max(0, x1 - x0), height=max(0, y1 - y0))


def empty_result(header: Any, instruction: str, mode: str, message: str) -> SegmentationResult:
    msg = SegmentationResult(instruction=instruction, mode=mode, success=False, message=message,
                             confidence=float("nan"))
    if header is not None:
        msg.header = header
    return msg


def result_msg(header: Any, r: QueryResult, geometry: FrameGeometry | None,
               extra_timings: dict[str, float]) -> SegmentationResult:
    """The answer as a SegmentationResult: one GraspTarget per object (r.targets), with the 3-D geometry of each
    when `geometry.targets` has it; a geometry note is added to `message` (and fails the answer when it is an
    error)."""
    msg = SegmentationResult(header=header, instruction=r.instruction, mode=r.mode, success=r.success,
                             message=r.message, explanation=r.explanation, from_cache=r.from_cache)
    msg.selected_ids = [int(i) for i in r.ids]
    msg.confidence = float("nan") if r.confidence is None else float(r.confidence)
    shapes = geometry.targets if geometry is not None and geometry.targets is not None else [None] * len(r.targets)
    msg.targets = [grasp_target(header, t.id, t.mask_ids, t.mask, t.box, t.score, t.description, g)
                   for t, g in zip(r.targets, shapes)]
    msg.union_mask = mask_to_image(r.union_mask, header)
    timings = {**{k: float(r.timings.get(k, 0.0)) for k in STAGES}, **extra_timings}
    msg.stage_names = list(timings)
    msg.stage_seconds = [float(v) for v in timings.values()]
    if geometry is not None and geometry.note:
        msg.message = f"{msg.message}; {geometry.note}" if msg.message else geometry.note
        msg.success = msg.success and not geometry.error
    return msg


def grasp_target(header: Any, target_id: int, mask_ids: Sequence[int], mask: np.ndarray, box: Sequence[int],
                 score: float, description: str, geometry: TargetGeometry | None) -> GraspTarget:
    """The one place a GraspTarget is filled (answers and tracked targets): mask, box, pixel centroid, and from
    `geometry` (None = no depth) the 3-D centroid, pose, extents, normal and approach."""
    x0, y0, x1, y1 = (int(v) for v in box)
    vs, us = np.nonzero(mask[y0:y1, x0:x1])  # inside the box: ~10x faster than the full frame
    t = GraspTarget(id=int(target_id), mask_ids=[int(i) for i in mask_ids], mask=mask_to_image(mask, header),
                    box=roi(box), score=float(score), description=description)
    t.centroid_u = float(us.mean() + x0) if us.size else math.nan
    t.centroid_v = float(vs.mean() + y0) if vs.size else math.nan
    if geometry is None:
        return t
    t.depth_pixels = int(geometry.n_pixels)
    if geometry.centroid is not None:
        t.centroid_3d.x, t.centroid_3d.y, t.centroid_3d.z = (float(v) for v in geometry.centroid)
        t.centroid_3d_valid = True
    pose = geometry.pose
    if pose is not None:
        t.pose_valid = True
        p, q = t.pose.position, t.pose.orientation
        p.x, p.y, p.z = (float(v) for v in pose.position)
        q.x, q.y, q.z, q.w = pose.quaternion
        for vec, values in ((t.extents, pose.extents), (t.normal, pose.normal), (t.approach, pose.approach)):
            vec.x, vec.y, vec.z = (float(v) for v in values)
    return t


def descriptions_msg(header: Any, p: Perception) -> FrameDescriptions:
    msg = FrameDescriptions(header=header, scene=p.scene or "")
    msg.ids = list(range(len(p.masks)))
    msg.descriptions = list(p.descriptions)
    msg.boxes = [roi(m.box) for m in p.masks]
    return msg


def pose_array(msg: SegmentationResult) -> PoseArray:
    """One pose per target, in order, header = the source frame's; a target without a pose (pose_valid false) gets
    a NaN position and the identity orientation, so that indices still match msg.targets."""
    out = PoseArray(header=msg.header)
    for t in msg.targets:
        if t.pose_valid:
            out.poses.append(t.pose)
        else:
            pose = Pose()
            pose.position.x = pose.position.y = pose.position.z = math.nan
            out.poses.append(pose)
    return out
