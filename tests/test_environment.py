"""What benchmarks report about the machine, and train.py's choice of TensorFlow's CPU kernels."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfgan_losses import environment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("flags, native", [
    ("fpu sse avx2 fma", False),
    ("avx2 avx512f avx512_bf16", True),
    ("avx2 amx_tile amx_bf16", True),
    ("", False),
])
def test_native_bfloat16_from_the_cpu_flags(monkeypatch, flags, native):
    monkeypatch.setattr(environment, "cpu_info", lambda: {"flags": flags})

    assert environment.has_native_bfloat16() is native


def _onednn_after_importing_train_py(setting):
    """TF_ENABLE_ONEDNN_OPTS and `onednn_enabled()` in a fresh process that imports
    train.py, started with TF_ENABLE_ONEDNN_OPTS set to `setting` (None: unset)."""
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = ("import os, train; from tfgan_losses import environment; "
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], environment.onednn_enabled())")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=True)
    return result.stdout.split()[-2:]


# The variable's value is checked too: on CPUs where TensorFlow enables oneDNN by itself,
# `onednn_enabled()` alone would not notice train.py leaving it unset.
@pytest.mark.parametrize("setting, expected", [(None, ["1", "True"]), ("0", ["0", "False"])])
def test_train_py_turns_onednn_on_unless_told_otherwise(setting, expected):
    assert _onednn_after_importing_train_py(setting) == expected
