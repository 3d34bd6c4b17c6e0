"""DAM as a separate service: the describer talks to DAM's own OpenAI-compatible server (`dam_server.py`).

DAM (NVlabs/describe-anything) then runs in its own environment or container, with its own pins and its
non-commercial weights licence kept apart from the node. Per mask the describer sends what the server reads: one RGBA
PNG (the image in RGB, the mask in the alpha channel) and the prompt; the server adds DAM's `<image>` prefix and runs
DAM's full + focal-crop prompting. Requests for all masks of a frame are in flight together (`concurrency`).

What the server does with them: `dam_server.py` decodes inside its request handler, one request at a time per server
process, with the temperature / top_p / max_new_tokens given on ITS command line (the request's are ignored). The
requests in flight keep it busy back to back; more throughput takes more server processes behind one address.
"""
from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from gear_seg_ros.describe.base import Describer
from gear_seg_ros.describe.settings import DamServerDescriberConfig
from gear_seg_ros.types import MaskProposal
from gear_seg_ros.utils.openai_client import ChatClient, EndpointError

START_HINT = ("start DAM's server (`python dam_server.py --model-path models/weights/DAM-3B --port 8010`, or "
              "`docker compose -f docker/compose.yaml up dam`) or fix describer.dam_server.base_url")


class DamServerError(EndpointError):
    pass


def rgba_png(image: np.ndarray, mask: np.ndarray, max_side: int = 0) -> str:
    """Data URL of an RGBA PNG: `image` (H x W x 3 RGB) with `mask` (H x W) as alpha, what dam_server.py reads."""
    mask = mask.astype(bool)
    if not mask.any():
        raise DamServerError("an empty mask cannot be described (DAM needs at least one pixel)")
    scale = max_side / max(image.shape[:2]) if max_side else 1.0
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0  # small masks survive
    rgba = np.dstack([image[..., :3], mask.astype(np.uint8) * 255])
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise DamServerError("could not encode the image as PNG")
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode()


class DamServerDescriber(Describer):
    name = "dam_server"

    def __init__(self, cfg: DamServerDescriberConfig) -> None:
        self.cfg = cfg
        # DAM's own failures answer 500 and are not retried; refused connections and 429 / 502-504 are
        self.client = ChatClient(cfg, what="DAM's server at", config_key="describer.dam_server",
                                 concurrency=cfg.concurrency, hint=START_HINT, error=DamServerError)
        self.url = self.client.url

    def request_body(self, image: np.ndarray, proposal: MaskProposal) -> dict:
        content = [{"type": "image_url", "image_url": {"url": rgba_png(image, proposal.mask, self.cfg.max_side)}},
                   {"type": "text", "text": self.cfg.prompt}]
        return {"model": self.cfg.model, "messages": [{"role": "user", "content": content}],
                "max_tokens": self.cfg.max_tokens, "temperature": self.cfg.temperature}

    def _post(self, body: dict) -> str:
        return " ".join(self.client.chat(body).split())

    def describe(self, image: np.ndarray, masks: list[MaskProposal]) -> list[str]:
        bodies = [self.request_body(image, m) for m in masks]
        with ThreadPoolExecutor(max_workers=self.cfg.concurrency) as pool:
            return list(pool.map(self._post, bodies))

    def close(self) -> None:
        self.client.close()
