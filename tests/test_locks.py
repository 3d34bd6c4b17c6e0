"""The pinned environments: CPU and GPU locks agree except in accelerator wheels, the GPU lock resolves with pip's
resolver for the image's platform (metadata only, no wheel downloaded) and names one CUDA major, and so do the
Dockerfile's base images and CUDA build stages. The resolver tests need PyPI and skip, saying so, without it."""
from __future__ import annotations

import importlib.metadata as md
import re
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
    assert locks.lock_differences(cpu, gpu) == ["numpy: CPU lock 1.26.4, GPU lock 2.0.0",
                                                "rich is in the CPU lock only"]


def test_dam_critical_pins():
    """DAM's pyproject (numpy<2, pydantic<=2.10.6) and code (transformers 4: no_init_weights) in every lock."""
    for name in ("cpu.txt", "gpu.txt", "jetson.txt", "jetson-jp6.txt"):
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
    # Dockerfile.x86's build stage installs torch with --no-deps from the lines its grep picks: all torch needs
    pattern = re.search(r"grep -iE '([^']+)'", (ROOT / "docker" / "Dockerfile.x86").read_text()).group(1)
    picked = {n for n, p in gpu.items() if re.match(pattern, p.line, flags=re.IGNORECASE)}
    needed = locks.closure(res.report, "torch")
    assert {"nvidia-cudnn-cu13", "nvidia-cublas", "triton"} <= needed
    assert needed - picked == set()


@pytest.mark.slow
def test_llama_cpp_dependencies_are_in_gpu_lock():
    """llama-cpp-python is built in the image's build stage; its declared dependencies must be pinned in the lock."""
    gpu = locks.read_lock(REQ / "gpu.txt")
    reqs = md.requires("llama_cpp_python") or []
    names = {locks.canonicalize_name(r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip())
             for r in reqs if "extra ==" not in r or 'extra == "server"' in r}
    assert names and names - set(gpu) == set()


def test_jetson_lock_is_the_gpu_lock_on_the_same_python():
    """JetPack 7.2 puts the Jetson on the x86 image's Python (3.12) and CUDA major (13): every Jetson pin is the GPU
    lock's, and what the base image brings (torch, TensorRT) or only x86 needs stays out."""
    gpu, jetson = locks.read_lock(REQ / "gpu.txt"), locks.read_lock(REQ / "jetson.txt")
    assert {n: p.version for n, p in jetson.items() if gpu.get(n) is None or gpu[n].version != p.version} == {}
    assert not {n for n in jetson if locks.ACCELERATOR.match(n)}, "torch / TensorRT / CUDA wheels come from BASE"


@pytest.mark.slow
@pytest.mark.parametrize("lock, python, torch", [("jetson.txt", "3.12", "2.12.0+jetpack7"),
                                                 ("jetson-jp6.txt", "3.10", "2.5.0+jetpack6")])
def test_jetson_locks_resolve_for_their_jetpack(resolver_pip, tmp_path, lock, python, torch):
    """cp312 manylinux aarch64 (JetPack 7.2 / Jetson Linux r39, Ubuntu 24.04) and cp310 (JetPack 6 / L4T r36, Ubuntu
    22.04); torch is the base image's (a placeholder version)."""
    jetson = locks.read_lock(REQ / lock)
    assert "torch" not in jetson
    res = locks.resolve(jetson, resolver_pip, tmp_path, python_version=python, machine="aarch64",
                        provided={"torch": torch})
    assert res.problems == []
    assert res.wheel_downloads == []


def _dam_source() -> Path | None:
    import os

    vendored = ROOT.parent / "shared" / "vendor" / "describe-anything"
    for candidate in (os.environ.get("GEAR_SEG_DAM_SRC", ""), str(vendored)):
        if candidate and (Path(candidate) / "dam" / "describe_anything_model.py").is_file():
            return Path(candidate)
    return None


@pytest.mark.slow
def test_dam_real_package_imports_under_the_cpu_lock(tmp_path):
    """DAM's real code (../shared/vendor/describe-anything, installed --no-deps) imports, every module, with the
    lock's transformers / numpy / pydantic / opencv; and none of it needs torchvision (no CPU wheel)."""
    source = _dam_source()
    if source is None:
        pytest.skip("DAM's source is not here (../shared/vendor/describe-anything or $GEAR_SEG_DAM_SRC)")
    import shutil

    shutil.copytree(source, tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--target", str(tmp_path / "site"), str(tmp_path / "src")],
                   check=True, capture_output=True, timeout=300)
    code = ("import sys, importlib, pkgutil, dam\n"
            "from dam import DescribeAnythingModel\n"
            "from transformers.modeling_utils import no_init_weights\n"
            "bad = []\n"
            "for m in pkgutil.walk_packages(dam.__path__, 'dam.'):\n"
            "    try: importlib.import_module(m.name)\n"
            "    except Exception as e: bad.append((m.name, repr(e)))\n"
            "print(bad, 'torchvision' in sys.modules)\n")
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[] False"
