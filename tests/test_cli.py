"""`gear-seg` as a user runs it: a separate process, real photo, real models."""
import json
import subprocess
import sys

import pytest
from helpers import REPO


def gear_seg(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "gear_seg_ros.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.mark.slow
def test_segment_json_prints_one_document_and_writes_outputs(tmp_path):
    proc = gear_seg("segment", "pkg:arc2017", "the green box", "--mode", "referring", "--out", str(tmp_path),
                    "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # stdout is exactly one JSON document
    assert doc["success"] and doc["ids"] and "masks_rle" not in doc
    (target,) = doc["targets"]  # the selected masks are pieces of the one green box: one target lists them all
    assert sorted(target["mask_ids"]) == sorted(doc["ids"]) and target["id"] in target["mask_ids"]
    assert target["rle"]["size"] == [480, 640] and target["area"] > 0
    assert (tmp_path / "arc2017_overlay.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "arc2017_result.json").read_text())["ids"] == doc["ids"]


def test_describe_lists_numbered_descriptions():
    proc = gear_seg("describe", "pkg:coffee")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("[Mask ")]
    assert lines and lines[0].startswith("[Mask 0]: ")


@pytest.mark.parametrize("args, message", [
    (["segment", "/nonexistent.png", "the box"], "image file not found"),
    (["segment", "pkg:arc2017", "   "], "instruction is empty"),
    (["segment", "pkg:arc2017", "x" * 3000], "limit of 2000"),
    (["segment", "pkg:nothing", "the box"], "unknown packaged image"),
    (["describe", "pkg:arc2017", "--config", "/nonexistent.yaml"], "config file not found"),
])
def test_errors_exit_2_with_a_message_and_no_traceback(args, message):
    proc = gear_seg(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_not_an_image_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png")
    proc = gear_seg("describe", str(bad))
    assert proc.returncode == 2 and "cannot decode" in proc.stderr


def test_nms_benchmark_prints_its_figure():
    proc = gear_seg("bench", "nms", "--masks", "120", "--side", "512", "--repeats", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["masks"] == 120 and 0 < report["kept"] < 120 and report["median_ms"] > 0


def test_bad_config_files_are_reported_not_crashed(tmp_path):
    cases = {"intkey.yaml": ("1: 2\n", "not a name"),
             "clash.yaml": ("segmenter: classical\nsegmenter.backend: x\n", "both a value and sub-keys"),
             "binary.yaml": (b"\xff\xfe\x00bad", "not valid YAML")}
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        proc = gear_seg("describe", "pkg:coffee", "--config", str(path))
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, (name, proc.stderr)


def test_unusable_out_folder_and_missing_reasoner_model_fail_before_the_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = gear_seg("segment", "pkg:coffee", "the cup", "--out", str(blocker / "sub"))
    assert proc.returncode == 2 and "Not a directory" in proc.stderr and "Traceback" not in proc.stderr
    config = tmp_path / "missing.yaml"
    config.write_text(f"reasoner:\n  backend: llama_cpp\n  llama_cpp:\n    model_path: {tmp_path / 'qwen.gguf'}\n")
    proc = gear_seg("segment", "pkg:coffee", "the cup", "--config", str(config), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "models/fetch.py" in proc.stderr
    assert not (tmp_path / "o" / "coffee_result.json").exists()
