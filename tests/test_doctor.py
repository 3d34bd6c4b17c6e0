"""`gear-seg doctor`: real subprocess runs on both shipped configs, the JSON document, sha256 checks and the cache."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.doctor.core import STATUSES, Context


def doctor(*args, tmp_path):
    env = {**os.environ, "GEAR_SEG_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "gear_seg_ros.cli.main", "doctor", *args], cwd=REPO, env=env, check=False,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cpu_config_passes(tmp_path):
    out = doctor("--config", "config/cpu.yaml", tmp_path=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "this config can start here" in out.stdout
    for row in ("segmenter: classical", "reasoner: embedding", "reasoner.embedding.model_path", "ROS 2 interfaces"):
        assert row in out.stdout
    assert "sha256 matches" in out.stdout  # MiniLM from its PyPI package, against models/manifest.yaml


def test_agent_config_names_every_missing_piece_with_its_fix(tmp_path):
    out = doctor("--config", "config/agent.yaml", "--json", "--no-ros", tmp_path=tmp_path)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)  # the whole of stdout is one JSON document
    assert set(doc) == {"config", "can_start", "counts", "checks"} and doc["can_start"] is False
    for row in doc["checks"]:
        assert set(row) == {"family", "name", "status", "detail", "fix"} and row["status"] in STATUSES
        assert all(isinstance(v, str) for v in row.values())
        if row["status"] == "fail":
            assert row["fix"], row
    assert doc["counts"] == {s: sum(r["status"] == s for r in doc["checks"]) for s in STATUSES}
    fails = {r["name"]: r for r in doc["checks"] if r["status"] == "fail"}
    assert "python models/fetch.py sam2.1_hiera_large" in fails["segmenter.sam2.checkpoint"]["fix"]
    assert fails["describer.dam.model_path"]["fix"] == "python models/fetch.py DAM-3B --trust-on-first-use"
    assert "qwen3-8b-q4_k_m" in fails["reasoner.llama_cpp.model_path"]["fix"]
    assert "dam not installed" in fails["describer: dam"]["detail"]
    assert "NVlabs/describe-anything" in fails["describer: dam"]["fix"]
    assert "torchvision" in fails["segmenter: sam2"]["detail"]
    if shutil.which("nvidia-smi") is None:
        assert "no NVIDIA driver" in fails["NVIDIA driver"]["detail"]
        assert "CPU-only build" in fails["CUDA torch"]["detail"] and "gpu.txt" in fails["CUDA torch"]["fix"]
        assert "-DGGML_CUDA=on" in fails["llama.cpp build"]["fix"]
    amx = next(r for r in doc["checks"] if r["name"] == "CPU AMX")
    has_amx = "amx_tile" in Path("/proc/cpuinfo").read_text()
    assert ("amx_tile" in amx["detail"]) == has_amx


def test_human_table_and_no_ros_flag(tmp_path):
    out = doctor("--config", "config/agent.yaml", "--no-ros", tmp_path=tmp_path)
    assert out.returncode == 1
    assert "cannot start here" in out.stdout and "ROS 2 interfaces" not in out.stdout


def _ctx(cfg, manifest):
    notes = []
    return Context(cfg, notes.append, manifest), notes


def _gguf_config(path):
    return AgentConfig.from_dict({"reasoner": {"backend": "llama_cpp", "llama_cpp": {"model_path": str(path)}}})


def test_manifest_sha_mismatch_ok_and_unverified(tmp_path, monkeypatch):
    import hashlib

    from gear_seg_ros.doctor import model_files

    monkeypatch.setenv("GEAR_SEG_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF tiny model bytes")
    good = hashlib.sha256(model.read_bytes()).hexdigest()
    manifest = tmp_path / "manifest.yaml"

    def rows(sha):
        manifest.write_text(json.dumps({"models": [{"name": "tiny", "file": "tiny.gguf", "url": "http://x",
                                                    "sha256": sha, "used_by": "reasoner.llama_cpp.model_path"}]}))
        return model_files.checks(_ctx(_gguf_config(model), manifest)[0])

    [bad] = rows("0" * 64)
    assert bad.status == "fail" and f"sha256 {good}, the manifest says {'0' * 64}" in bad.detail
    assert bad.fix.startswith("python models/fetch.py tiny")
    [ok] = rows(good)
    assert ok.status == "ok" and "sha256 matches" in ok.detail
    [unverified] = rows(None)
    assert unverified.status == "warn" and good in unverified.detail
    [missing] = model_files.checks(_ctx(_gguf_config(tmp_path / "absent.gguf"), manifest)[0])
    assert missing.status == "fail" and "reasoner GGUF model not found" in missing.detail


def test_hashes_are_cached_by_path_size_and_mtime(tmp_path, monkeypatch):
    from gear_seg_ros.doctor import hash_cache

    monkeypatch.setenv("GEAR_SEG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(hash_cache, "BIG", 4)  # progress notes for anything over 4 bytes
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights v1")
    notes = []
    first = hash_cache.sha256_cached(f, notes.append)
    assert len(notes) == 2 and "hashing" in notes[0]
    cache = json.loads(hash_cache.cache_path().read_text())
    cache[str(f.resolve())][2] = "cached-value"  # a cache hit returns the stored value without reading the file
    hash_cache.cache_path().write_text(json.dumps(cache))
    assert hash_cache.sha256_cached(f, notes.append) == "cached-value" and len(notes) == 2
    f.write_bytes(b"weights v2")  # new size and mtime: hashed again
    assert hash_cache.sha256_cached(f) not in ("cached-value", first)


def test_llama_system_info_parsing_and_the_amx_hook():
    from gear_seg_ros.doctor.llama import amx_repack_setting, parse_system_info
    from gear_seg_ros.reason.settings import LlamaCppReasonerConfig

    info = parse_system_info("CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 | REPACK = 1 | CUDA : ARCHS = 890 | "
                             "USE_GRAPHS = 1 | ")
    assert info["CPU"] == {"SSE3": "1", "AVX2": "1", "AMX_INT8": "1", "REPACK": "1"}
    assert info["CUDA"] == {"ARCHS": "890", "USE_GRAPHS": "1"}
    fields = LlamaCppReasonerConfig.model_fields
    expected = next((f for f in fields if "amx" in f or "repack" in f or "extra_buft" in f), None)
    setting = amx_repack_setting(LlamaCppReasonerConfig())
    assert (setting[0].rsplit(".", 1)[1] if setting else None) == expected


def test_a_folder_is_another_models_only_by_its_name_or_all_its_files(tmp_path):
    """A DAM-layout folder under another name (a fine-tuned or stand-in model) is not reported as DAM-3B with files
    missing; named DAM-3B, or holding all of DAM-3B's files, it is checked as DAM-3B."""
    from gear_seg_ros.doctor.model_files import find_entry, load_manifest

    manifest = load_manifest()
    dam = next(e for e in manifest if e["name"] == "DAM-3B")
    other = tmp_path / "DAM-3B-finetuned"
    (other / "llm").mkdir(parents=True)
    for name in ("config.json", "llm/config.json"):
        (other / name).write_text("{}")
    assert find_entry(manifest, "describer.dam.model_path", other) is None
    named = tmp_path / "DAM-3B"
    named.mkdir()
    assert find_entry(manifest, "describer.dam.model_path", named) is dam
    for f in dam["files"]:
        (other / f["file"]).parent.mkdir(parents=True, exist_ok=True)
        (other / f["file"]).write_text("x")
    assert find_entry(manifest, "describer.dam.model_path", other) is dam
