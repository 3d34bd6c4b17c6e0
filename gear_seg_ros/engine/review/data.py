"""What the review page shows: the records of an output folder (re-read when a file changes), the photos, one
transparent PNG per mask, and the decisions. No HTTP here (server.py), so tests and other front ends can use it."""
from __future__ import annotations

import mimetypes
import threading
from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.engine.records import ImageRecord, read_record, record_dir
from gear_seg_ros.engine.review.decisions import STATUSES, DecisionStore, clean_texts
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.utils.rle import decode_rle
from gear_seg_ros.visualize import palette

BROWSER_IMAGE_TYPES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
FILL_ALPHA = 110  # of 255: the photo stays readable under a mask


class ReviewError(ValueError):
    """A request the page should not have sent (unknown question, bad status); the message says which."""


def mask_rgba_png(mask: np.ndarray, color) -> bytes:
    """A mask as a PNG the size of the photo: tinted inside, outlined opaque, transparent elsewhere."""
    height, width = mask.shape
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[mask] = (*(int(c) for c in color), FILL_ALPHA)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thickness = max(2, min(height, width) // 200)
    cv2.drawContours(rgba, contours, -1, (*(int(c) for c in color), 255), thickness)
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise GearSegError("could not encode a mask as PNG")
    return data.tobytes()


class ReviewData:
    def __init__(self, out: Path, images_dir: Path, progress: bool = True) -> None:
        self.out, self.images_dir = Path(out), Path(images_dir)
        if not record_dir(self.out).is_dir():
            raise GearSegError(f"{self.out} has no records/ folder; run `gear-seg engine IMAGES --out {self.out}` "
                               f"first")
        self.store = DecisionStore(self.out)
        self._lock = threading.Lock()
        self._records: dict[str, tuple[int, ImageRecord]] = {}  # image_id -> (file mtime_ns, record)
        self._masks: dict[tuple[str, int, int], bytes] = {}
        self.refresh(progress)
        if not self._records:
            raise GearSegError(f"{record_dir(self.out)} holds no records yet; let the engine finish an image first")

    def refresh(self, progress: bool = False) -> None:
        """Re-reads records that changed on disk (a running engine, a labelme import) since the last look."""
        from tqdm import tqdm

        paths = sorted(record_dir(self.out).glob("*.json"))
        with self._lock:
            seen = set()
            for path in tqdm(paths, desc="review: records", unit="rec", disable=not progress or len(paths) < 50):
                try:
                    mtime = path.stat().st_mtime_ns
                    old = self._records.get(path.stem)
                    if old is None or old[0] != mtime:
                        self._records[path.stem] = (mtime, read_record(path))
                    seen.add(path.stem)
                except (OSError, ValueError):
                    continue  # being written or damaged: the engine redoes such images
            for gone in set(self._records) - seen:
                del self._records[gone]

    def record(self, image_id: str) -> ImageRecord:
        with self._lock:
            entry = self._records.get(image_id)
        if entry is None:
            raise ReviewError(f"no record for image {image_id!r}")
        return entry[1]

    def state(self) -> dict:
        """Images and their questions with the decisions; the masks come per image (`masks`), the pixels as PNGs,
        so a folder of thousands of images stays a small answer."""
        self.refresh()
        with self._lock:
            records = [r for _, r in sorted(self._records.values(), key=lambda e: e[1].image_id)]
        images, categories = [], set()
        for rec in records:
            questions = []
            for q in rec.questions:
                decision = self.store.get(q.question_id)
                categories.add(q.category)
                questions.append({
                    "question_id": q.question_id, "category": q.category, "generated_text": q.text,
                    "text": decision.text if decision and decision.text else q.text,
                    "edited": bool(decision and decision.text), "is_sentence": q.is_sentence,
                    "explanation": q.explanation, "confidence": q.confidence,
                    "answers": [a.model_dump() for a in q.answers],
                    "status": decision.status if decision else "pending"})
            images.append({"image_id": rec.image_id, "image_file": rec.image_file, "width": rec.width,
                           "height": rec.height, "scene": rec.scene, "n_masks": len(rec.masks),
                           "questions": questions})
        return {"out": str(self.out.resolve()), "images": images, "categories": sorted(categories),
                "statuses": list(STATUSES)}

    def masks(self, image_id: str) -> list[dict]:
        rec = self.record(image_id)
        colors = palette(len(rec.masks))
        return [{"id": m.id, "description": m.description, "eligible": m.eligible, "area": m.area, "box": m.box,
                 "color": "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colors[m.id]))} for m in rec.masks]

    def image(self, image_id: str) -> tuple[bytes, str]:
        rec = self.record(image_id)
        path = self.images_dir / rec.image_file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReviewError(f"cannot read {path} ({exc}); pass --images DIR if the images moved") from None
        if path.suffix.lower() in BROWSER_IMAGE_TYPES:
            return data, mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # e.g. TIFF: browsers show no TIFF
        if image is None:
            raise ReviewError(f"{path} is not an image OpenCV reads")
        return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes(), "image/jpeg"

    def mask_png(self, image_id: str, mask_id: int) -> bytes:
        rec = self.record(image_id)
        if not 0 <= mask_id < len(rec.masks):
            raise ReviewError(f"image {image_id!r} has no mask {mask_id} (it has {len(rec.masks)})")
        with self._lock:
            key = (image_id, mask_id, self._records[image_id][0])
            cached = self._masks.get(key)
        if cached is None:
            cached = mask_rgba_png(decode_rle(rec.masks[mask_id].rle), palette(len(rec.masks))[mask_id])
            with self._lock:
                if len(self._masks) > 512:
                    self._masks.clear()
                self._masks[key] = cached
        return cached

    def decide(self, payload: dict) -> dict:
        """payload: question_id and any of status, text (list of lines, or null to restore the generated text)."""
        if not isinstance(payload, dict):
            raise ReviewError("expected a JSON object")
        question_id = payload.get("question_id")
        image_id = self._image_of(question_id)
        status = payload.get("status")
        if status is not None and status not in STATUSES:
            raise ReviewError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        text, reset = None, False
        if "text" in payload:
            if payload["text"] is None:
                reset = True
            elif isinstance(payload["text"], list):
                try:
                    text = clean_texts(payload["text"])
                except ValueError as exc:
                    raise ReviewError(str(exc)) from None
            else:
                raise ReviewError("text must be a list of lines (the question first) or null")
        generated = next(q.text for q in self.record(image_id).questions if q.question_id == question_id)
        if text == generated:  # edited back to what the engine wrote: not an edit
            text, reset = None, True
        decision = self.store.update(question_id, image_id, status=status, text=text, reset_text=reset)
        return {"question_id": question_id, "status": decision.status, "text": decision.text or generated,
                "edited": decision.text is not None}

    def _image_of(self, question_id: str | None) -> str:
        with self._lock:
            for _, rec in self._records.values():
                if any(q.question_id == question_id for q in rec.questions):
                    return rec.image_id
        raise ReviewError(f"no question {question_id!r} in {self.out}")
