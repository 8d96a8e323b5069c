"""What a benchmark or an experiment ran on: CPU, cores, accelerators, library versions.

Benchmarks and examples print `describe()` next to their results, so that
numbers are never read without the machine that produced them.
"""

import os
import platform


def cpu_info():
    """The first processor's `/proc/cpuinfo` fields as a dict (empty where unavailable)."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model():
    """'model name (family F, model M)'; virtual machines often show a generic name."""
    fields = cpu_info()
    if "model name" not in fields:
        return platform.processor() or platform.machine() or "unknown CPU"
    return (f"{fields['model name']} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')})")


NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
"""`/proc/cpuinfo` flags of x86 CPUs that compute in bfloat16 natively (oneDNN's bfloat16
kernels need one); elsewhere TensorFlow emulates bfloat16 at a fraction of float32's speed."""


def cpu_flags():
    """The CPU's `/proc/cpuinfo` flags as a set (empty where unavailable)."""
    return set(cpu_info().get("flags", "").split())


def has_native_bfloat16():
    """Whether this CPU computes in bfloat16 natively (see `NATIVE_BFLOAT16_FLAGS`)."""
    return bool(cpu_flags() & set(NATIVE_BFLOAT16_FLAGS))


def onednn_enabled():
    """Whether TensorFlow runs its oneDNN CPU kernels in this process.

    TensorFlow turns them on by default only on x86 CPUs with AVX-512 VNNI or
    BF16, AVX-VNNI or AMX; `TF_ENABLE_ONEDNN_OPTS=1` or `0`, set before
    TensorFlow is imported, overrides that. `train.py` and `bench/` set it to 1
    unless it is set already: on a 2-core AMD EPYC with AVX2 alone (family
    25), oneDNN trained the MNIST GAN 1.6x faster than TensorFlow's default.
    """
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def accelerators():
    """'N x <kind>' of the accelerators the Keras backend sees, or 'none'."""
    import keras  # pylint: disable=import-outside-toplevel

    backend = keras.backend.backend()
    if backend == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        devices = [d for d in jax.devices() if d.platform != "cpu"]
        names = [getattr(d, "device_kind", d.platform) for d in devices]
    elif backend == "torch":
        import torch  # pylint: disable=import-outside-toplevel

        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        names = [d.name for d in tf.config.list_physical_devices("GPU")]
    return f"{len(names)} x {names[0]}" if names else "none"


def describe():
    """One line: Python, the Keras backend and its version, Keras and numpy, CPU, cores,
    accelerators, oneDNN (TensorFlow), load."""
    import importlib  # pylint: disable=import-outside-toplevel

    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    backend = keras.backend.backend()
    backend_version = importlib.import_module(backend).__version__
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    onednn = f"; oneDNN {'on' if onednn_enabled() else 'off'}" if backend == "tensorflow" else ""
    return (f"Python {platform.python_version()}, Keras {keras.__version__} on {backend} "
            f"{backend_version}, numpy {np.__version__}; CPU: {cpu_model()}, "
            f"{os.cpu_count()} logical cores ({usable} usable); accelerators: "
            f"{accelerators()}{onednn}; load average {load}")
