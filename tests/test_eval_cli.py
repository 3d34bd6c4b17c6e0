"""`gear-seg eval` argument handling and an end-to-end run on stored outputs with the real MiniLM reasoner."""
import json

import numpy as np
import pytest

from gear_seg_ros.cli.main import main
from gear_seg_ros.evaluation.reference_outputs import write_outputs
from gear_seg_ros.types import MaskProposal, Perception


@pytest.fixture
def lisa_data(tmp_path):
    import cv2

    data = tmp_path / "data"
    data.mkdir()
    cv2.imwrite(str(data / "pic.png"), np.zeros((10, 10, 3), np.uint8))
    doc = {"text": ["the square"], "is_sentence": False,
           "shapes": [{"label": "target", "points": [[0, 0], [4, 0], [4, 4], [0, 4]]}]}  # 25 px
    (data / "pic.json").write_text(json.dumps(doc))
    mask = np.zeros((10, 10), bool)
    mask[0:5, 0:4] = True  # 20 px inside the target
    write_outputs(Perception("pic", (10, 10), [MaskProposal(mask)], ["a square"]), tmp_path / "stored")
    return data


def test_json_summary_is_the_only_stdout(lisa_data, tmp_path, capsys):
    code = main(["eval", str(lisa_data), "--from-outputs", str(tmp_path / "stored"), "--out", str(tmp_path / "o"),
                 "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["overall"]["gIoU"] == pytest.approx(20 / 25)
    assert summary["by_mode"] == {"referring": summary["overall"]}
    assert (tmp_path / "o" / "results.jsonl").is_file()


def test_printed_table(lisa_data, tmp_path, capsys):
    assert main(["eval", str(lisa_data), "--from-outputs", str(tmp_path / "stored"), "--out",
                 str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "gIoU" in out and "80.00" in out and "segmentation ceiling" in out


@pytest.mark.parametrize("extra, message", [
    (["--from-outputs", "/nonexistent/dir"], "--from-outputs"),
    (["--limit", "0"], "--limit"),
    (["--images", "/nonexistent/dir"], "--images"),
])
def test_bad_options_exit_2(lisa_data, tmp_path, capsys, extra, message):
    assert main(["eval", str(lisa_data), "--out", str(tmp_path / "o")] + extra) == 2
    assert message in capsys.readouterr().err


def test_missing_data_and_unknown_format(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["eval", str(tmp_path / "notes.txt")]) == 2
    assert "not a recognised data file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(tmp_path), "--format", "voc"])
    assert exc.value.code == 2
