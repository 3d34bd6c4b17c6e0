"""Evaluation overlay: the selected masks tinted with their ids, the ground truth outlined in green, ignore in grey."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.visualize import draw_overlay


def eval_overlay(image: np.ndarray, masks: list[np.ndarray], ids: list[int], target: np.ndarray,
                 ignore: np.ndarray, caption: str = "") -> np.ndarray:
    out = draw_overlay(image, masks, ids)
    out[ignore] = (0.5 * out[ignore] + 64).astype(np.uint8)
    contours, _ = cv2.findContours(target.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (0, 255, 0), max(1, min(image.shape[:2]) // 250))
    if caption:
        cv2.putText(out, caption[:90], (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, caption[:90], (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_overlay(path: Path, overlay: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
