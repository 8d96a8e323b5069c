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


def describe():
    """One line: Python, TensorFlow, Keras and numpy versions, CPU, cores, GPUs, load."""
    import keras
    import numpy as np
    import tensorflow as tf

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = len(tf.config.list_physical_devices("GPU"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}, numpy {np.__version__}; CPU: {cpu_model()}, "
            f"{os.cpu_count()} logical cores ({usable} usable); GPUs: {gpus}; "
            f"load average {load}")
