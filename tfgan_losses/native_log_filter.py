"""Drops TensorFlow's known-harmless native log lines from a program's standard error.

TensorFlow's C++ runtime writes some ERROR-level lines in healthy runs, which
look like failures to a user:

* `failed call to cuInit: ... (303)`: the `tensorflow` wheel supports CUDA and
  probes for a driver; on a machine without one it logs this and runs on the
  CPU (https://github.com/tensorflow/tensorflow/issues/37689).
* `remapper failed: ... Mutation::Apply error: fanout '...LeakyReluGrad...'`:
  with oneDNN, Grappler's remapper tries to fuse a convolution, its bias and a
  leaky ReLU whose gradient still reads the bias's output; it gives up and
  keeps the graph as it was.
* `oneDNN supports DT_UINT8 only on platforms with AVX-512`: oneDNN on an
  AVX2 CPU hands a uint8 op (PNG encoding) back to TensorFlow's own kernel.

TensorFlow's import also warns `All log messages before absl::InitializeLog()
is called are written to STDERR`: its C++ logging starts before it is set up.

These lines come from C++, past Python's `logging`, and the only switch that
hides them (`TF_CPP_MIN_LOG_LEVEL=3`) hides every other error too.
`filter_known_harmless_native_logs` instead routes the process's standard
error (file descriptor 2) through a pipe and drops exactly the lines that
match `KNOWN_HARMLESS_PATTERNS`; every other line passes unchanged.
"""

import atexit
import os
import re
import threading

KNOWN_HARMLESS_PATTERNS = (
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are "
               rb"written to STDERR$"),
    re.compile(rb"failed call to cuInit: .*\(303\)"),
    re.compile(rb"remapper failed: .*Mutation::Apply error: fanout '[^']*LeakyReluGrad"),
    re.compile(rb"oneDNN supports DT_UINT8 only on platforms with AVX-512"),
)
"""Native log lines that healthy runs print, each matched in full detail."""

FILTER_ENV_VAR = "TFGAN_LOSSES_FILTER_NATIVE_LOGS"
"""Set to "1", `import tfgan_losses` installs the filter before it imports TensorFlow."""

_installed = []


def filter_known_harmless_native_logs(patterns=KNOWN_HARMLESS_PATTERNS):
    """Drops the lines of standard error that match `patterns`, for the rest of the process.

    Call it before TensorFlow is imported, or set the environment variable
    `TFGAN_LOSSES_FILTER_NATIVE_LOGS=1` before `import tfgan_losses`, which then
    calls it first (`train.py` does). Lines reach the terminal as they are
    written; at exit standard error is put back and the pipe drained. Calling
    it again does nothing.

    Args:
      patterns: Compiled `bytes` regular expressions; a line that any of them
        finds is dropped.

    Example:

      os.environ["TFGAN_LOSSES_FILTER_NATIVE_LOGS"] = "1"
      import tfgan_losses  # Installs the filter, then imports TensorFlow.
    """
    if _installed:
        return
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def copy_lines():
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not any(pattern.search(line) for pattern in patterns):
                    os.write(terminal, line)

    copier = threading.Thread(target=copy_lines, name="native-log-filter", daemon=True)
    copier.start()

    def restore():
        os.dup2(terminal, 2)  # Closes the pipe's last write end: the copier sees its end.
        copier.join(timeout=5)

    atexit.register(restore)
    _installed.append(copier)
