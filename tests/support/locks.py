"""Checks on the pinned environments (requirements/*.txt) and the images built from them.

- read_lock: the pins of a lock file (`name[extras]==version  # comment` lines).
- lock_differences: where the CPU and GPU locks differ in anything but accelerator wheels (CI must test what the
  robot runs).
- cuda_majors: every CUDA major a lock, pip's resolution report and the Dockerfile name; one set element = agreement.
- resolve: pip's own resolver over a lock, for another platform, from package metadata only, no wheel downloaded:
  PEP 658 `.metadata` files where the index advertises them, else (`--use-feature=fast-deps`) HTTP range requests
  that read only each wheel's METADATA (the index these machines see leaves out PEP 658's attribute). Needs a pip
  whose `--dry-run` stops before downloading the resolved wheels (26.x; 24.3 downloads all of them, ~4 GB here);
  resolve() runs the pip wheel it is given.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

PYPI_SIMPLE = "https://pypi.org/simple"
# Accelerator builds: allowed to differ between the CPU and the GPU lock (same pin or present on one side only).
ACCELERATOR = re.compile(r"^(torch|torchvision|triton|onnxruntime(-gpu)?|llama-cpp-python|tensorrt(-cu\d+)?(-.+)?"
                         r"|nvidia-.+|cuda-.+)$")
# Resolution needs wheels; these pins have none on PyPI. TensorRT's libs wheel lives on pypi.nvidia.com (PyPI has a
# wheel-stub sdist that fetches it) and its meta-package is an sdist; both are checked by name only.
NOT_ON_PYPI_AS_WHEELS = {"tensorrt-cu13", "tensorrt-cu13-libs", "tensorrt-cu12", "tensorrt-cu12-libs"}


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    line: str  # the requirement without its comment


def read_lock(path: str | Path) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    for raw in Path(path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)", line)
        if not m:
            raise ValueError(f"{path}: '{raw}' is not an exact pin (name==version); a lock pins every package")
        name = canonicalize_name(m.group(1))
        pins[name] = Pin(name, m.group(3), line)
    return pins


def lock_differences(cpu: dict[str, Pin], gpu: dict[str, Pin]) -> list[str]:
    problems = []
    for name in sorted(set(cpu) | set(gpu)):
        if ACCELERATOR.match(name):
            continue
        if name not in gpu:
            problems.append(f"{name} is in the CPU lock only")
        elif name not in cpu:
            problems.append(f"{name} is in the GPU lock only")
        elif cpu[name].version != gpu[name].version:
            problems.append(f"{name}: CPU lock {cpu[name].version}, GPU lock {gpu[name].version}")
    return problems


def _major_of_requirement(req: str) -> int | None:
    m = re.search(r"(?:==|~=|>=)\s*(\d+)\.", req)
    return int(m.group(1)) if m else None


def cuda_majors(lock: dict[str, Pin], report: dict | None = None, dockerfile: str | Path | None = None
                ) -> dict[str, int]:
    """Where each CUDA major comes from: {'torch: cuda-toolkit==13.0.3': 13, 'nvidia-cudnn-cu13': 13, ...}."""
    found: dict[str, int] = {}
    for name, pin in lock.items():
        m = re.search(r"-cu(\d+)(-|$)", name)
        if m:
            found[name] = int(m.group(1))
        if name in ("nvidia-cuda-runtime", "cuda-toolkit", "nvidia-cuda-nvrtc", "cuda-bindings"):
            found[f"{name}=={pin.version}"] = int(pin.version.split(".")[0])
    for item in (report or {}).get("install", []):
        name = canonicalize_name(item["metadata"]["name"])
        if name not in ("torch", "onnxruntime-gpu", "tensorrt-cu13-libs", "tensorrt-cu12-libs"):
            continue
        for req in item["metadata"].get("requires_dist") or []:
            dep = canonicalize_name(re.split(r"[\[<>=~!; ]", req, maxsplit=1)[0])
            suffix = re.search(r"-cu(\d+)$", dep)
            if suffix:
                major = int(suffix.group(1))
            elif dep in ("cuda-toolkit", "nvidia-cuda-runtime", "nvidia-cuda-nvrtc"):
                major = _major_of_requirement(req)
            else:
                continue
            if major is not None:
                found[f"{name} requires {req.split(';')[0].strip()}"] = major
    if dockerfile is not None:
        found.update(dockerfile_cuda_majors(dockerfile))
    return found


def dockerfile_cuda_majors(path: str | Path) -> dict[str, int]:
    """CUDA majors of the base images (ARGs and FROM lines) and of the stages that compile CUDA code."""
    text = Path(path).read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    found: dict[str, int] = {}
    for arg, image in args.items():
        m = re.match(r"nvidia/cuda:(\d+)\.", image)
        if m:
            found[f"{Path(path).name} ARG {arg}={image}"] = int(m.group(1))
    for image, stage in re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.MULTILINE | re.IGNORECASE):
        ref = re.fullmatch(r"\$\{?(\w+)\}?", image)
        resolved = args.get(ref.group(1), image) if ref else image
        m = re.match(r"nvidia/cuda:(\d+)\.", resolved)
        if m:
            found[f"{Path(path).name} stage {stage or 'final'} FROM {resolved}"] = int(m.group(1))
    return found


def _fetch_json(url: str, timeout: float = 60.0) -> dict:
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def pypi_reachable(timeout: float = 10.0) -> str | None:
    """None when PyPI answers, else why not."""
    try:
        _fetch_json(f"{PYPI_SIMPLE}/pip/", timeout=timeout)
        return None
    except Exception as e:  # noqa: BLE001 - any network failure means "skip"
        return f"PyPI unreachable ({type(e).__name__}: {e})"


def _file_version(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except Exception:  # noqa: BLE001 - odd legacy file names are not ours
        return None


def sdist_only(pins: dict[str, Pin]) -> list[str]:
    """The pins whose version has no wheel on PyPI (pip's --only-binary=:all: cannot take them)."""
    def has_wheel(pin: Pin) -> bool:
        files = _fetch_json(f"{PYPI_SIMPLE}/{pin.name}/")["files"]
        return any(f["filename"].endswith(".whl") and _file_version(f["filename"]) == pin.version for f in files)

    with ThreadPoolExecutor(8) as pool:
        flags = list(pool.map(has_wheel, pins.values()))
    return [name for name, ok in zip(pins, flags) if not ok]


def platform_args(python_version: str = "3.12", machine: str = "x86_64", glibc_max: int = 28) -> list[str]:
    abi = "cp" + python_version.replace(".", "")
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
            "--abi", abi, "--abi", "abi3", "--abi", "none"]
    for minor in range(glibc_max, 16, -1):
        args += ["--platform", f"manylinux_2_{minor}_{machine}"]
    args += ["--platform", f"manylinux2014_{machine}", "--platform", f"linux_{machine}"]
    if machine == "x86_64":
        args += ["--platform", "manylinux_2_12_x86_64", "--platform", "manylinux2010_x86_64",
                 "--platform", "manylinux_2_5_x86_64", "--platform", "manylinux1_x86_64"]
    return args


@dataclass
class Resolution:
    report: dict
    seconds: float
    wheel_downloads: list[str]  # full wheels pip fetched (HTTP 200 on a .whl: should be none)
    range_requests: int  # partial reads of wheels (fast-deps) and .metadata files
    network_bytes: int  # every response body pip logged, index pages included
    problems: list[str]


def placeholder_wheel(out: Path, name: str, version: str) -> Path:
    """An empty wheel standing for a package the base image provides (JetPack's torch): satisfies the resolver."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = out / f"{dist}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    wheel = "Wheel-Version: 1.0\nGenerator: gear_seg_ros\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{dist}.dist-info/METADATA", meta)
        z.writestr(f"{dist}.dist-info/WHEEL", wheel)
        z.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def resolve(lock: dict[str, Pin], pip_wheel: Path, work: Path, python_version: str = "3.12",
            machine: str = "x86_64", skip: set[str] = NOT_ON_PYPI_AS_WHEELS,
            provided: dict[str, str] | None = None) -> Resolution:
    """pip's resolver over `lock` (its pins as requirements) for the given platform, from metadata only.

    `provided`: packages the base image brings ({name: local version}, e.g. JetPack's torch), given to the resolver
    as empty placeholder wheels.
    """
    pins = {n: p for n, p in lock.items() if n not in skip}
    wheels = work / "sdist-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for name, version in (provided or {}).items():
        placeholder_wheel(wheels, name, version)
    sdists = sdist_only(pins)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    py = sys.executable
    if sdists:  # pure-Python sdists (antlr4-python3-runtime, iopath): build their wheels, tiny and quick
        subprocess.run([py, str(pip_wheel / "pip"), "wheel", "-q", "--no-deps", "-w", str(wheels),
                        *[pins[n].line for n in sdists]], env=env, check=True, capture_output=True, text=True)
    req = work / "requirements.txt"
    req.write_text("\n".join([p.line for p in pins.values()] + [f"{n}=={v}" for n, v in (provided or {}).items()])
                   + "\n")
    log, report_path = work / "pip.log", work / "report.json"
    cmd = [py, str(pip_wheel / "pip"), "install", "--dry-run", "--ignore-installed", "--quiet", "--no-cache-dir",
           "--target", str(work / "target"), "--index-url", PYPI_SIMPLE, "--use-feature=fast-deps",
           "--find-links", str(wheels),
           "--report", str(report_path), "--log", str(log), *platform_args(python_version, machine),
           "-r", str(req)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"pip could not resolve the lock for cp{python_version} {machine}:\n{proc.stderr[-3000:]}")
    report = json.loads(report_path.read_text())
    text = log.read_text()
    gets = re.findall(r'"GET (\S+) HTTP/[\d.]+" (\d+) (\d+)', text)
    downloads = [url for url, status, _ in gets if url.endswith(".whl") and status == "200"]
    partial = sum(1 for url, status, _ in gets if status == "206" or url.endswith(".metadata"))
    nbytes = sum(int(size) for *_, size in gets)
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}
    problems = [f"{n}: pip resolved {v}, not pinned in the lock" for n, v in sorted(resolved.items())
                if n not in pins and n not in (provided or {})]
    problems += [f"{n}: pinned {p.version}, pip resolved {resolved.get(n)}" for n, p in sorted(pins.items())
                 if resolved.get(n) != p.version.split("+")[0]]
    return Resolution(report, seconds, downloads, partial, nbytes, problems)


def closure(report: dict, root: str, python_version: str = "3.12", machine: str = "x86_64") -> set[str]:
    """`root` and every package it pulls in, per pip's report (markers evaluated for the target platform)."""
    from packaging.requirements import Requirement

    items = {canonicalize_name(i["metadata"]["name"]): i for i in report["install"]}
    env = {"python_version": python_version, "python_full_version": f"{python_version}.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": machine, "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    seen, todo = set(), [(canonicalize_name(root), ())]
    while todo:
        name, extras = todo.pop()
        if name in seen and not extras:
            continue
        seen.add(name)
        for text in items[name]["metadata"].get("requires_dist") or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({**env, "extra": e}) for e in (extras or ("",))):
                continue
            if canonicalize_name(req.name) in items:
                todo.append((canonicalize_name(req.name), tuple(req.extras)))
    return seen
