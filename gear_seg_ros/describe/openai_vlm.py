"""A license-clean describer: any OpenAI-compatible vision endpoint (vLLM or llama.cpp serving Qwen2.5-VL, ...).

Same input as DAM's full + focal-crop mode: the whole image and a crop around the mask (box grown to at least
`crop_min_side`, enlarged `crop_scale` times), each with the mask outlined. Requests for all masks of a frame are in
flight together (`concurrency`), so a batching server (vLLM, llama-server with parallel slots) decodes them as a batch.
"""
from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from gear_seg_ros.describe.base import Describer
from gear_seg_ros.describe.focal_crop import region_input
from gear_seg_ros.describe.settings import OpenAIVlmDescriberConfig
from gear_seg_ros.types import MaskProposal
from gear_seg_ros.utils.openai_client import ChatClient, EndpointError

OUTLINE_RGB = (0, 255, 0)


class VlmEndpointError(EndpointError):
    pass


def outlined_jpeg(image: np.ndarray, mask: np.ndarray, max_side: int = 768) -> str:
    """Data URL of a JPEG of `image` with `mask` outlined, longest side at most `max_side`."""
    out = image.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, OUTLINE_RGB, max(1, round(max(image.shape[:2]) / 300)))
    scale = max_side / max(out.shape[:2])
    if scale < 1:
        out = cv2.resize(out, (round(out.shape[1] * scale), round(out.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    _ok, data = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode()


class OpenAIVlmDescriber(Describer):
    name = "openai_vlm"

    def __init__(self, cfg: OpenAIVlmDescriberConfig) -> None:
        self.cfg = cfg
        self.client = ChatClient(cfg, what="the VLM endpoint", config_key="describer.openai_vlm",
                                 concurrency=cfg.concurrency, error=VlmEndpointError)
        self.url = self.client.url

    def request_body(self, image: np.ndarray, proposal: MaskProposal) -> dict:
        region = region_input(image, proposal, self.cfg.crop_min_side, self.cfg.crop_scale)
        content: list[dict] = [{"type": "text", "text": self.cfg.prompt}]
        if self.cfg.send_full_image:
            content.append({"type": "image_url", "image_url": {"url": outlined_jpeg(image, proposal.mask)}})
        content.append({"type": "image_url", "image_url": {"url": outlined_jpeg(region.crop_image, region.crop_mask)}})
        return {"model": self.cfg.model, "messages": [{"role": "user", "content": content}],
                "temperature": self.cfg.temperature, "max_tokens": self.cfg.max_tokens}

    def _post(self, body: dict) -> str:
        return " ".join(self.client.chat(body).split())

    def describe(self, image: np.ndarray, masks: list[MaskProposal]) -> list[str]:
        bodies = [self.request_body(image, m) for m in masks]
        with ThreadPoolExecutor(max_workers=self.cfg.concurrency) as pool:
            return list(pool.map(self._post, bodies))

    def close(self) -> None:
        self.client.close()
