"""vision_msgs detections from the node's own SegmentationResult, so that nodes speaking vision_msgs (Isaac ROS
FoundationPose, Foxglove, tracking and fusion nodes) use an answer without a converter.

Built from the published message only (its targets' box, score, id / track_id, pose, extents), never from the
agent's internals, so they follow however the targets are built. Header = the source frame's (the result's).
- Detection2D per target: bbox = the target's box (centre + size, pixels); id = the track id on
  ~/tracked_targets (when tracked), else the target's mask id; one hypothesis: class_id = HYPOTHESIS_CLASS, score =
  the target's mask score; its pose = the grasp pose when valid.
- Detection3D per target with 3-D: bbox centre = the grasp pose moved extents.z / 2 along its z axis (into the
  object: the box's front face is the grasp point, as ~/markers draws it), orientation = the grasp pose's, size =
  extents; a target with a 3-D centroid but no pose gets centre = centroid_3d and size 0. Targets without 3-D are
  left out (match by id).
"""
from __future__ import annotations

from typing import Any

from vision_msgs.msg import (
    Detection2D,
    Detection2DArray,
    Detection3D,
    Detection3DArray,
    ObjectHypothesisWithPose,
)

# The hypothesis class of every detection: an answer's targets are "what the instruction is about", not a category.
# The instruction itself is in the SegmentationResult with the same header (~/result, ~/grasp_targets).
HYPOTHESIS_CLASS = "gear_seg_target"


def _id(t: Any) -> str:
    return str(int(t.track_id) if t.track_id else int(t.id))


def _hypothesis(t: Any) -> ObjectHypothesisWithPose:
    h = ObjectHypothesisWithPose()
    h.hypothesis.class_id, h.hypothesis.score = HYPOTHESIS_CLASS, float(t.score)
    if t.pose_valid:
        h.pose.pose = t.pose
    return h


def detections_2d(msg: Any) -> Detection2DArray:
    out = Detection2DArray(header=msg.header)
    for t in msg.targets:
        d = Detection2D(header=msg.header, id=_id(t), results=[_hypothesis(t)])
        d.bbox.center.position.x = float(t.box.x_offset) + t.box.width / 2.0
        d.bbox.center.position.y = float(t.box.y_offset) + t.box.height / 2.0
        d.bbox.size_x, d.bbox.size_y = float(t.box.width), float(t.box.height)
        out.detections.append(d)
    return out


def detections_3d(msg: Any) -> Detection3DArray:
    out = Detection3DArray(header=msg.header)
    for t in msg.targets:
        if not (t.pose_valid or t.centroid_3d_valid):
            continue
        d = Detection3D(header=msg.header, id=_id(t), results=[_hypothesis(t)])
        if t.pose_valid:
            q = t.pose.orientation
            half = t.extents.z / 2.0
            # the pose's z axis = third column of its rotation matrix
            z = (2 * (q.x * q.z + q.w * q.y), 2 * (q.y * q.z - q.w * q.x), 1 - 2 * (q.x * q.x + q.y * q.y))
            d.bbox.center.orientation = q
            d.bbox.center.position.x = t.pose.position.x + half * z[0]
            d.bbox.center.position.y = t.pose.position.y + half * z[1]
            d.bbox.center.position.z = t.pose.position.z + half * z[2]
            d.bbox.size = t.extents
        else:
            d.bbox.center.position = t.centroid_3d
        out.detections.append(d)
    return out
