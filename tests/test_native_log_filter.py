"""The native-log filter drops exactly TensorFlow's known-harmless lines from fd 2."""

import os
import subprocess
import sys
import textwrap

HARMLESS = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "E0000 00:00:1796681516.339550    5017 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "E0000 00:00:1796681522.899962    5017 meta_optimizer.cc:967] remapper failed: "
    "INVALID_ARGUMENT: Mutation::Apply error: fanout 'StatefulPartitionedCall/gradient_tape/"
    "d/leaky_re_lu_1_2/LeakyRelu/LeakyReluGrad_1' exist for missing node 'd/BiasAdd'.",
    "E0000 00:00:1796681529.008417    5017 util.cc:131] oneDNN supports DT_UINT8 only on "
    "platforms with AVX-512. Falling back to the default Eigen-based implementation if present.",
]
KEPT = [
    "E0000 00:00:1796681516.339550    5017 cuda_platform.cc:52] failed call to cuInit: "
    "CUDA_ERROR_OUT_OF_MEMORY",  # A real driver failing: not the missing-driver case.
    "E0000 00:00:1796681522.899962    5017 meta_optimizer.cc:967] remapper failed: "
    "INVALID_ARGUMENT: something else",
    "WARNING: another warning",
    "plain output",
]

_WRITER = textwrap.dedent("""
    import os, sys
    import tfgan_losses  # With the variable set, installs the filter first.
    for line in sys.argv[1:]:
        os.write(2, (line + "\\n").encode())  # As native code writes, past sys.stderr.
    print("python line", file=sys.stderr)
""")


def _stderr_of_writer(filter_setting):
    env = {**os.environ, "TFGAN_LOSSES_FILTER_NATIVE_LOGS": filter_setting,
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", _WRITER, *HARMLESS, *KEPT], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr.splitlines()


def test_filter_drops_exactly_the_known_harmless_lines():
    lines = _stderr_of_writer("1")
    for line in HARMLESS:
        assert line not in lines
    for line in KEPT + ["python line"]:
        assert line in lines


def test_without_the_variable_every_line_passes():
    lines = _stderr_of_writer("0")
    for line in HARMLESS + KEPT:
        assert line in lines
