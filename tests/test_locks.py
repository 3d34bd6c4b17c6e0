"""The pinned environments: CPU and GPU locks agree except in accelerator wheels, the GPU lock resolves with pip's
resolver for the image's platform (metadata only, no wheel downloaded) and names one CUDA major, and so do the
Dockerfile's base images and CUDA build stages. The resolver tests need PyPI and skip, saying so, without it."""
from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

import pytest

from gear_seg_ros.deploy import locks

ROOT = Path(__file__).resolve().parents[1]
REQ = ROOT / "requirements"
PIP_FOR_RESOLVE = "pip==26.3"  # its --dry-run stops before downloading (pip 24.3 fetched ~4 GB of wheels here)


def test_cpu_and_gpu_locks_differ_only_in_accelerator_wheels():
    cpu, gpu = locks.read_lock(REQ / "cpu.txt"), locks.read_lock(REQ / "gpu.txt")
    assert locks.lock_differences(cpu, gpu) == []
    assert cpu["torch"].version == gpu["torch"].version  # same torch, CPU build here, CUDA build there
    assert cpu["onnxruntime"].version == gpu["onnxruntime-gpu"].version


def test_lock_differences_are_reported():
    cpu = {"numpy": locks.Pin("numpy", "1.26.4", ""), "rich": locks.Pin("rich", "15.0.0", "")}
    gpu = {"numpy": locks.Pin("numpy", "2.0.0", ""), "nvidia-cublas": locks.Pin("nvidia-cublas", "13.1", "")}
    assert locks.lock_differences(cpu, gpu) == ["numpy: CPU lock 1.26.4, GPU lock 2.0.0", "rich is in the CPU lock only"]


def test_dam_critical_pins():
    """DAM's pyproject (numpy<2, pydantic<=2.10.6) and code (transformers 4: no_init_weights) in every lock."""
    for name in ("cpu.txt", "gpu.txt", "jetson.txt"):
        lock = locks.read_lock(REQ / name)
        assert lock["numpy"].version.startswith("1.26."), name
        assert lock["transformers"].version.startswith("4."), name
        major, minor, patch = (int(x) for x in lock["pydantic"].version.split("."))
        assert (major, minor, patch) <= (2, 10, 6), name
        assert lock["opencv-python-headless"].version.startswith("4."), name


def test_installed_venv_matches_cpu_lock():
    """What setup.sh installed is the lock (nothing upgraded on the side by a later install step)."""
    cpu = locks.read_lock(REQ / "cpu.txt")
    wrong = {}
    for name, pin in cpu.items():
        try:
            have = md.version(name)
        except md.PackageNotFoundError:
            wrong[name] = "missing"
            continue
        if have.split("+")[0] != pin.version:
            wrong[name] = have
    assert wrong == {}


def test_lock_lines_must_be_exact_pins(tmp_path):
    (tmp_path / "bad.txt").write_text("numpy>=1.26\n")
    with pytest.raises(ValueError, match="not an exact pin"):
        locks.read_lock(tmp_path / "bad.txt")


def test_dockerfile_cuda_majors_agree_with_gpu_lock():
    gpu = locks.read_lock(REQ / "gpu.txt")
    majors = locks.cuda_majors(gpu, dockerfile=ROOT / "docker" / "Dockerfile.x86")
    assert any("stage build" in k for k in majors), majors  # the stage compiling llama.cpp / sam2 is on CUDA too
    assert any("stage final" in k for k in majors), majors
    assert any(k.startswith("tensorrt-cu") for k in majors), majors
    assert set(majors.values()) == {13}, majors


def test_cuda_major_mismatch_is_seen(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("ARG CUDA_DEVEL=nvidia/cuda:12.6.3-devel-ubuntu24.04\nFROM ${CUDA_DEVEL} AS build\n")
    gpu = locks.read_lock(REQ / "gpu.txt")
    assert set(locks.cuda_majors(gpu, dockerfile=df).values()) == {12, 13}


@pytest.fixture(scope="module")
def resolver_pip(tmp_path_factory):
    why = locks.pypi_reachable()
    if why:
        pytest.skip(f"{why}: the resolver check needs PyPI's index and package metadata")
    out = tmp_path_factory.mktemp("pip")
    env = {"PIP_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--index-url", locks.PYPI_SIMPLE,
                    PIP_FOR_RESOLVE, "-d", str(out)], check=True, env=env, capture_output=True)
    return next(out.glob("pip-*.whl"))


@pytest.mark.slow
def test_gpu_lock_resolves_for_the_image_from_metadata_only(resolver_pip, tmp_path):
    """pip's resolver, cp312 manylinux x86_64 (Ubuntu 24.04's Python in docker/Dockerfile.x86): every pin is
    consistent and nothing outside the lock is needed; no wheel is downloaded (~50 s, ~60 MB of index pages)."""
    gpu = locks.read_lock(REQ / "gpu.txt")
    res = locks.resolve(gpu, resolver_pip, tmp_path, python_version="3.12", machine="x86_64")
    print(f"resolved in {res.seconds:.0f} s, {res.network_bytes / 1e6:.0f} MB, {res.range_requests} range requests")
    assert res.problems == []
    assert res.wheel_downloads == []
    assert res.network_bytes < 300e6  # torch alone would be 527 MB
    majors = locks.cuda_majors(gpu, res.report, ROOT / "docker" / "Dockerfile.x86")
    assert any(k.startswith("torch requires") for k in majors), majors
    assert any(k.startswith("onnxruntime-gpu requires") for k in majors), majors
    assert set(majors.values()) == {13}, majors


@pytest.mark.slow
def test_llama_cpp_dependencies_are_in_gpu_lock():
    """llama-cpp-python is built in the image's build stage; its declared dependencies must be pinned in the lock."""
    gpu = locks.read_lock(REQ / "gpu.txt")
    reqs = md.requires("llama_cpp_python") or []
    names = {locks.canonicalize_name(r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip())
             for r in reqs if "extra ==" not in r or 'extra == "server"' in r}
    assert names and names - set(gpu) == set()


@pytest.mark.slow
def test_jetson_lock_resolves_for_jetpack6(resolver_pip, tmp_path):
    """cp310 manylinux aarch64 (JetPack 6 / L4T r36, Ubuntu 22.04); torch is the base image's (a placeholder)."""
    jetson = locks.read_lock(REQ / "jetson.txt")
    assert "torch" not in jetson
    res = locks.resolve(jetson, resolver_pip, tmp_path, python_version="3.10", machine="aarch64",
                        provided={"torch": "2.5.0+jetpack6"})
    assert res.problems == []
    assert res.wheel_downloads == []
