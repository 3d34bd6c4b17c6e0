"""rviz markers for the chosen targets: an oriented box, an approach arrow and a label per target.

Every array starts with DELETEALL, so the markers of a previous answer go when a new answer (or a failure, an
array with DELETEALL only) arrives. Built from GraspTarget messages alone, so any publisher of targets (answers,
tracked targets) can use it. The box is drawn with its front face at the grasp point (the visible surface) and
reaches extents.z into the object; its x/y centre is the grasp point.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from visualization_msgs.msg import Marker, MarkerArray

from gear_seg_ros.visualize import palette

NAMESPACES = ("gear_seg/box", "gear_seg/approach", "gear_seg/label")
ARROW_LENGTH_M = 0.10
MIN_SIZE_M = 0.005  # rviz hides zero-size cubes


def short_label(description: str, words: int = 4, chars: int = 32) -> str:
    text = " ".join(description.split()[:words])
    return text if len(text) <= chars else text[: chars - 1] + "…"


def target_markers(header: Any, targets: Sequence[Any], lifetime_s: float = 0.0) -> MarkerArray:
    """DELETEALL, then CUBE + ARROW + TEXT_VIEW_FACING for each target with pose_valid."""
    out = MarkerArray()
    out.markers.append(Marker(header=header, action=Marker.DELETEALL))
    colors = palette(max((int(t.id) for t in targets), default=0) + 1)
    for k, t in enumerate(targets):
        if not t.pose_valid:
            continue
        r, g, b = (float(c) / 255.0 for c in colors[int(t.id)])
        base = {"header": header, "id": k, "action": Marker.ADD, "lifetime": _duration(lifetime_s)}
        p, a = t.pose.position, t.approach
        box = Marker(ns=NAMESPACES[0], type=Marker.CUBE, **base)
        box.pose.orientation = t.pose.orientation
        depth = max(float(t.extents.z), MIN_SIZE_M)
        box.pose.position = Point(x=p.x + a.x * depth / 2, y=p.y + a.y * depth / 2, z=p.z + a.z * depth / 2)
        box.scale.x, box.scale.y, box.scale.z = (max(float(t.extents.x), MIN_SIZE_M),
                                                 max(float(t.extents.y), MIN_SIZE_M), depth)
        box.color.r, box.color.g, box.color.b, box.color.a = r, g, b, 0.4
        arrow = Marker(ns=NAMESPACES[1], type=Marker.ARROW, **base)
        arrow.points = [Point(x=p.x - a.x * ARROW_LENGTH_M, y=p.y - a.y * ARROW_LENGTH_M, z=p.z - a.z * ARROW_LENGTH_M),
                        Point(x=p.x, y=p.y, z=p.z)]
        arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.008, 0.016, 0.02  # shaft, head diameter, head length
        arrow.color.r, arrow.color.g, arrow.color.b, arrow.color.a = r, g, b, 1.0
        text = Marker(ns=NAMESPACES[2], type=Marker.TEXT_VIEW_FACING, **base)
        lift = ARROW_LENGTH_M + 0.02
        text.pose.position = Point(x=p.x - a.x * lift, y=p.y - a.y * lift, z=p.z - a.z * lift)
        text.scale.z = 0.025  # text height
        text.color.r = text.color.g = text.color.b = text.color.a = 1.0
        text.text = f"#{int(t.id)} {short_label(t.description)}".strip()
        out.markers += [box, arrow, text]
    return out


def _duration(seconds: float) -> Duration:
    return Duration(sec=int(seconds), nanosec=round((seconds - int(seconds)) * 1e9))
