"""gear_seg_msgs builders from the agent's QueryResult / Perception."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gear_seg_msgs.msg import FrameDescriptions, GraspTarget, SegmentationResult
from geometry_msgs.msg import Pose, PoseArray
from sensor_msgs.msg import RegionOfInterest

from gear_seg_ros.geometry.grasp_pose import GraspPose
from gear_seg_ros.ros.conversions import mask_to_image
from gear_seg_ros.ros.depth3d import Centroid3D
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


def result_msg(header: Any, r: QueryResult, centroids: list[Centroid3D] | None,
               extra_timings: dict[str, float], poses: list[GraspPose | None] | None = None) -> SegmentationResult:
    msg = SegmentationResult(header=header, instruction=r.instruction, mode=r.mode, success=r.success,
                             message=r.message, explanation=r.explanation, from_cache=r.from_cache)
    msg.selected_ids = [int(i) for i in r.ids]
    msg.confidence = float("nan") if r.confidence is None else float(r.confidence)
    msg.targets = [target_msg(header, i, r, k, centroids[k] if centroids else None, poses[k] if poses else None)
                   for k, i in enumerate(r.ids)]
    msg.union_mask = mask_to_image(r.union_mask, header)
    timings = {**{k: float(r.timings.get(k, 0.0)) for k in STAGES}, **extra_timings}
    msg.stage_names = list(timings)
    msg.stage_seconds = [float(v) for v in timings.values()]
    return msg


def target_msg(header: Any, mask_id: int, r: QueryResult, k: int, c3d: Centroid3D | None,
               pose: GraspPose | None = None) -> GraspTarget:
    mask = r.masks[k]
    x0, y0, x1, y1 = (int(v) for v in r.boxes[k])
    vs, us = np.nonzero(mask[y0:y1, x0:x1])  # inside the box: ~10x faster than the full frame
    us, vs = us + x0, vs + y0
    t = GraspTarget(id=int(mask_id), mask=mask_to_image(mask, header), box=roi(r.boxes[k]),
                    score=float(r.scores[k]), description=r.descriptions.get(mask_id, ""))
    t.centroid_u = float(us.mean()) if us.size else math.nan
    t.centroid_v = float(vs.mean()) if vs.size else math.nan
    if c3d is not None and c3d.valid:
        t.centroid_3d.x, t.centroid_3d.y, t.centroid_3d.z = c3d.x, c3d.y, c3d.z
        t.centroid_3d_valid = True
        t.depth_pixels = c3d.n_pixels
    if pose is not None:
        fill_pose(t, pose)
    return t


def fill_pose(t: GraspTarget, pose: GraspPose) -> GraspTarget:
    """Sets pose_valid, pose, extents, normal and approach of a GraspTarget from a GraspPose."""
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
