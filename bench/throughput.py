r"""Training throughput of `GANModel.fit`: XLA, mixed precision, tf.distribute, FLOP/s.

Trains TF-GAN's full-size unconditional MNIST networks (`models/mnist.py`:
about 6.7 M generator and 6.6 M discriminator parameters) with train.py's
defaults (Wasserstein losses + gradient penalty of weight 1, Adam(1e-3 / 1e-4,
beta_1=0.5), one discriminator and one generator update per step) on
synthetic in-memory data (one random batch, repeated by `tf.data`), and
measures in ONE run:

* XLA off vs on (`compile(jit_compile=...)`), float32;
* float32 vs mixed_bfloat16 vs mixed_float16 at each `--batch_sizes`;
* the default strategy vs `MirroredStrategy` over the local CPU (1 replica),
  and vs `MirroredStrategy` over 2 logical CPU devices (a subprocess, since
  devices are fixed at start-up; it times its own default-strategy baseline);
* the float32, bfloat16 and float16 rates of a 2048x2048 matmul (timed in
  the same rounds), the bound against which the achieved FLOP/s are read.

Throughput is discriminator-batch images per second (batch size x train
steps / wall time, timed from the first step's start to the last step's end
inside `fit`). All configurations are built and warmed up first (tracing, XLA
compilation) and run one untimed round (the first round after all of them
are built runs 2-3x slower in graph mode), then timed in `--repeats` rounds
of `--steps` steps each, round-robin, so slow phases of a shared machine hit
all alike; the table shows each configuration's fastest round and how much
slower its slowest was, and for the first batch size the median over rounds
of the ratio of its time to float32's in the same round.
It also shows images per CPU-second of the process (`time.process_time`,
all threads) and the CPU utilisation (CPU-seconds / wall-seconds / cores):
on a machine whose cores other processes also use, the per-CPU-second
figures tell the cost of the work apart from the competition for the cores.

FLOPs of one train step are counted by TensorFlow's profiler
(`tf.compat.v1.profiler`, float_operation) on the graph of `train_step`
traced for the batch size: the FLOPs of every MatMul, Conv2D and
Conv2D-backprop op (forward, backward, and the gradient penalty's
double-backward) plus elementwise ops. An analytic estimate from the layers
is printed beside it (see `analytic_flops`).

`--profile` adds each policy's op-type breakdown (TensorFlow profiler).

    python bench/throughput.py                     # ~2.5 min on 2 idle CPU cores
    python bench/throughput.py --batch_sizes=128 --policies=float32 --jit=off,on
    python bench/throughput.py --batch_sizes=128 --strategies=default --jit=off --profile

TensorFlow only; `bench/backends.py` times the same GAN on every backend.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

# Before TensorFlow is imported: quiet C++ logs, and oneDNN as in train.py
# (docs/cpu.md).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Run from anywhere.
from tfgan_losses import environment  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 2, "Timed train steps per configuration per round.", lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Rounds of timing (round-robin over configurations); "
                     "the fastest round is reported.", lower_bound=1)
flags.DEFINE_integer("warmup_steps", 1, "Untimed steps per configuration (the first "
                     "traces and compiles the train function).", lower_bound=1)
flags.DEFINE_list("batch_sizes", ["128", "32"], "Discriminator batch sizes; the first is "
                  "the reference for XLA and strategies.")
flags.DEFINE_list("policies", ["float32", "mixed_bfloat16", "mixed_float16"],
                  "Keras dtype policies to time at every batch size.")
flags.DEFINE_list("jit", ["off", "on"], "XLA settings to time for float32 at the first batch "
                  "size (without XLA is always timed: it is the baseline of the ratios).")
flags.DEFINE_list("strategies", ["default", "mirrored", "mirrored_2cpu"],
                  "default; mirrored: MirroredStrategy over the local CPU (1 replica); "
                  "mirrored_2cpu: over 2 logical CPU devices, in a subprocess "
                  "(float32, first batch size as the global batch).")
flags.DEFINE_float("gradient_penalty_weight", 1.0, "train.py's default; 0 disables.")
flags.DEFINE_integer("matmul_size", 2048, "Side of the square matmuls timed for the bound.")
flags.DEFINE_bool("profile", False, "Also print each policy's op-type profile at the first "
                  "batch size (TensorFlow profiler; ~1 min more).")
flags.DEFINE_string("worker", None, "Internal: run the 2-logical-CPU part, print JSON.")

NOISE_DIMS = 64
IMAGE_SHAPE = (28, 28, 1)


# ------------------------------------------------------------------ machine
def cpu_flags():
    """The CPU's vector and matrix extensions that matter for float32/bfloat16/float16."""
    present = environment.cpu_flags()
    wanted = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"]
    return " ".join(flag for flag in wanted if flag in present) or "unknown"


def print_machine():
    import tensorflow as tf
    print(environment.describe())
    print(f"CPU flags: {cpu_flags()}; "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}; "
          f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}")


# ------------------------------------------------------------------- matmul
class MatmulConfig:
    """`size`x`size` matmuls in `dtype` (2 n^3 FLOPs each), timed in the same rounds as
    the training configurations, so that the bound sees the same machine load."""

    def __init__(self, dtype, size, seconds=1.0):
        self.name, self.size, self.seconds = dtype, size, seconds
        self.rounds = []

    def build(self, strategy=None):
        del strategy
        import tensorflow as tf
        dtype = getattr(tf, self.name)
        self.a = tf.cast(tf.random.normal([self.size, self.size]), dtype)
        self.b = tf.cast(tf.random.normal([self.size, self.size]), dtype)

        @tf.function
        def product(a, b):
            return tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1], tf.float32))

        self.product = product
        self.product(self.a, self.b).numpy()  # Trace and warm up.

    def time_round(self, steps=None):
        del steps
        count, start, cpu = 0, time.perf_counter(), time.process_time()
        while count < 2 or time.perf_counter() - start < self.seconds:
            self.product(self.a, self.b).numpy()
            count += 1
        self.rounds.append((time.perf_counter() - start, time.process_time() - cpu, count))

    def rates(self):
        """(GFLOP per wall-second, GFLOP per CPU-second) of the fastest round."""
        wall, cpu, count = min(self.rounds, key=lambda r: r[0] / r[2])
        gflop = 2.0 * self.size ** 3 * count / 1e9
        return gflop / wall, gflop / cpu


# -------------------------------------------------------------------- FLOPs
def analytic_flops(batch_size, gradient_penalty):
    """FLOPs of one train step, counted from the layers (multiply-adds x 2).

    Per example, forward: generator G = Dense 64->1024, Dense 1024->7*7*128,
    ConvT 128->64 and 64->32 (4x4, stride 2), Conv 32->1 (4x4); discriminator
    D = Conv 1->64, 64->128 (4x4, stride 2), Dense 6272->1024, 1024->1.
    A backward pass costs ~2x its forward (gradients of activations and of
    weights), ~1x when only activation gradients are needed.
    D update: G forward (1G) + D on real and generated (2D) + their backward
    (4D); gradient penalty: D forward (1D) + inner input-gradient (1D) + the
    outer gradient through both (~2 x 2D = 4D). G update: G forward (1G) + D
    forward on generated (1D) + backward through D to its input (1D) and
    through G (2G); the Wasserstein generator loss needs no real outputs.
    Batch norm, activations, spectral norm and Adam are left out (< 2%).
    """
    def dense(n_in, n_out):
        return 2 * n_in * n_out

    def conv(out_hw, k, c_in, c_out):          # Per output position.
        return 2 * out_hw * out_hw * k * k * c_in * c_out

    def conv_transpose(in_hw, k, c_in, c_out):  # Per input position.
        return 2 * in_hw * in_hw * k * k * c_in * c_out

    generator = (dense(NOISE_DIMS, 1024) + dense(1024, 7 * 7 * 128)
                 + conv_transpose(7, 4, 128, 64) + conv_transpose(14, 4, 64, 32)
                 + conv(28, 4, 32, 1))
    discriminator = (conv(14, 4, 1, 64) + conv(7, 4, 64, 128) + dense(7 * 7 * 128, 1024)
                     + dense(1024, 1))
    g_units = 1 + 1 + 2
    d_units = 2 + 4 + (6 if gradient_penalty else 0) + 1 + 1
    return batch_size * (g_units * generator + d_units * discriminator)


def build_gan(policy="float32", strategy=None, jit_compile=False, gradient_penalty_weight=1.0):
    """train.py's GAN (full networks), built and compiled under `policy` and `strategy`."""
    import keras
    import tensorflow as tf
    from models import mnist as mnist_networks
    from tfgan_losses.training.gan_model import GANModel

    adam = keras.optimizers.Adam
    strategy = strategy or tf.distribute.get_strategy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        with strategy.scope():
            keras.utils.set_random_seed(0)
            gan = GANModel(mnist_networks.unconditional_generator(NOISE_DIMS),
                           mnist_networks.unconditional_discriminator(), seed=0)
            gan.compile(
                generator_optimizer=adam(1e-3, beta_1=0.5),
                discriminator_optimizer=adam(1e-4, beta_1=0.5),
                gradient_penalty_weight=gradient_penalty_weight or None,
                jit_compile=jit_compile)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return gan


def profiled_flops(batch_size, gradient_penalty_weight):
    """FLOPs of one float32 train step, from the profiler on its traced graph."""
    import tensorflow as tf
    gan = build_gan(gradient_penalty_weight=gradient_penalty_weight)
    spec = tf.TensorSpec((batch_size,) + IMAGE_SHAPE, tf.float32)
    graph = tf.function(gan.train_step).get_concrete_function(spec).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    profile = tf.compat.v1.profiler.profile(graph=graph, cmd="op", options=options)
    by_op, nodes = {}, list(profile.children)
    while nodes:  # The "op" view nests op types; each node's float_ops is its own.
        node = nodes.pop()
        by_op[node.name] = by_op.get(node.name, 0) + node.float_ops
        nodes.extend(node.children)
    return profile.total_float_ops, by_op


# --------------------------------------------------------------- throughput
class _StepTimer:
    """Keras callback: wall and process CPU time from the first batch's start to the
    last batch's end, so fit's per-call set-up and tear-down are left out."""

    def __new__(cls):
        import keras

        class StepTimer(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    self.start = (time.perf_counter(), time.process_time())

            def on_train_batch_end(self, batch, logs=None):
                self.end = (time.perf_counter(), time.process_time())
                self.logs = logs

        return StepTimer()


class Config:
    """One timed configuration: a compiled GAN and an endless dataset."""

    def __init__(self, name, batch_size, policy="float32", jit=False, strategy="default"):
        self.name, self.batch_size, self.policy = name, batch_size, policy
        self.jit, self.strategy_name = jit, strategy
        self.rounds = []  # (wall seconds, process CPU seconds) per round of steps.
        self.replicas = None

    def build(self, strategy):
        import numpy as np
        import tensorflow as tf
        start = time.perf_counter()
        self.replicas = strategy.num_replicas_in_sync
        self.gan = build_gan(self.policy, strategy, self.jit, FLAGS.gradient_penalty_weight)
        images = np.random.default_rng(0).uniform(
            -1, 1, (self.batch_size,) + IMAGE_SHAPE).astype(np.float32)
        self.dataset = tf.data.Dataset.from_tensors(images).repeat()
        self.build_seconds = time.perf_counter() - start
        start = time.perf_counter()
        self._fit(FLAGS.warmup_steps)
        self.warmup_seconds = time.perf_counter() - start

    def _fit(self, steps):
        timer = _StepTimer()
        self.gan.fit(self.dataset, steps_per_epoch=steps, epochs=1, verbose=0,
                     callbacks=[timer])
        for key, value in timer.logs.items():
            value = float(value)
            if value != value or abs(value) == float("inf"):
                raise FloatingPointError(f"{self.name}: {key} = {value}")
        return timer.end[0] - timer.start[0], timer.end[1] - timer.start[1]

    def time_round(self, steps):
        self.rounds.append(self._fit(steps))

    def summary(self, steps):
        walls = [wall for wall, _ in self.rounds]
        wall, cpu = min(self.rounds)  # The round least slowed by other processes.
        images = self.batch_size * steps
        return {
            "name": self.name, "batch_size": self.batch_size, "policy": self.policy,
            "jit": self.jit, "strategy": self.strategy_name, "replicas": self.replicas,
            "seconds_per_step": wall / steps,
            "images_per_second": images / wall,
            "images_per_cpu_second": images / cpu,
            "utilisation": cpu / wall / os.cpu_count(),
            "spread": (max(walls) - wall) / wall,
            "round_walls": walls,
            "warmup_seconds": self.warmup_seconds,
        }


def time_configs(configs, strategies, extra=()):
    """Builds and warms up every configuration, then times them (and `extra`, already
    built) round-robin."""
    for config in configs:
        config.build(strategies[config.strategy_name])
        print(f"  {config.name:<44} build {config.build_seconds:4.1f} s, "
              f"{FLAGS.warmup_steps} warm-up step(s) {config.warmup_seconds:5.1f} s", flush=True)
    # Round 0 is untimed: the first round after all configurations are built is 2-3x
    # slower in graph mode, however many warm-up steps each had.
    for round_index in range(FLAGS.repeats + 1):
        start = time.perf_counter()
        for config in list(configs) + list(extra):
            config.time_round(FLAGS.steps)
            if round_index == 0:
                config.rounds.clear()
        label = (f"round {round_index}/{FLAGS.repeats}" if round_index
                 else "settling round (untimed)")
        print(f"  {label}: {time.perf_counter() - start:.0f} s", flush=True)
    return [config.summary(FLAGS.steps) for config in configs]


def run_two_cpu_worker():
    """Subprocess: default strategy vs MirroredStrategy over 2 logical CPUs; JSON out."""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    batch = int(FLAGS.batch_sizes[0])
    strategies = {"default": tf.distribute.get_strategy(),
                  "mirrored_2cpu": tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])}
    configs = [Config(f"float32 b{batch} default (2 logical CPUs)", batch),
               Config(f"float32 b{batch} Mirrored 2 logical CPUs", batch,
                      strategy="mirrored_2cpu")]
    results = time_configs(configs, strategies)
    sys.stdout.flush()
    print("\nJSON " + json.dumps(results))


def run_two_cpu_subprocess():
    command = [sys.executable, os.path.abspath(__file__), "--worker=mirrored_2cpu",
               f"--steps={FLAGS.steps}", f"--repeats={FLAGS.repeats}",
               f"--warmup_steps={FLAGS.warmup_steps}",
               f"--batch_sizes={FLAGS.batch_sizes[0]}",
               f"--gradient_penalty_weight={FLAGS.gradient_penalty_weight}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("  "):
            print(line.rstrip(), flush=True)
    stderr = process.stderr.read()
    if process.wait():
        print(f"  2-logical-CPU subprocess failed:\n{stderr[-3000:]}")
        return []
    return json.loads(lines[-1][len("JSON "):])


# ------------------------------------------------------------------ profile
def print_op_profile(policy, batch_size, steps=2):
    """Self time by op type over `steps` train steps (TensorFlow profiler, framework_op_stats)."""
    import collections
    import glob
    import tempfile

    import numpy as np
    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin

    gan = build_gan(policy, gradient_penalty_weight=FLAGS.gradient_penalty_weight)
    images = tf.constant(np.random.default_rng(0).uniform(
        -1, 1, (batch_size,) + IMAGE_SHAPE).astype(np.float32))
    step = tf.function(gan.train_step)
    step(images)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step(images)
        tf.profiler.experimental.stop()
        path = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[-1]
        data, ok = _pywrap_profiler_plugin.xspace_to_tools_data([path], "framework_op_stats",
                                                               {})
    if not ok:
        print(f"  {policy}: profiler conversion failed: {data[:200]}")
        return
    table = json.loads(data)
    table = table[0] if isinstance(table, list) else table
    columns = [column["id"] for column in table["cols"]]
    by_type = collections.Counter()
    for row in table["rows"]:
        values = dict(zip(columns, [cell.get("v") if isinstance(cell, dict) else cell
                                    for cell in row["c"]]))
        if values["type"] != "IDLE":
            by_type[values["type"]] += values["total_self_time"] / steps
    total = sum(by_type.values())
    print(f"  {policy}, batch {batch_size}: {total / 1e3:.0f} ms of op self time per step; "
          "top: " + ", ".join(f"{name} {100 * t / total:.0f}%"
                              for name, t in by_type.most_common(8)))


# -------------------------------------------------------------------- report
def print_table(results, flops_per_image, rates):
    baselines = {(r["batch_size"], r["group"]): r for r in results
                 if r["policy"] == "float32" and not r["jit"] and r["strategy"] == "default"}
    header = (f"{'configuration':<44} {'s/step':>6} {'img/s':>6} {'x base':>6} "
              f"{'img/CPU-s':>9} {'x base':>6} {'CPU use':>7} {'spread':>6} {'GFLOP/s':>7} "
              f"{'%mm wall':>8} {'%mm CPU':>7}")
    print(header)
    print("-" * len(header))
    for r in results:
        base = baselines.get((r["batch_size"], r["group"]))
        ratio = r["images_per_second"] / base["images_per_second"] if base else float("nan")
        cpu_ratio = (r["images_per_cpu_second"] / base["images_per_cpu_second"] if base
                     else float("nan"))
        gflops = r["images_per_second"] * flops_per_image[r["batch_size"]] / 1e9
        gflops_cpu = r["images_per_cpu_second"] * flops_per_image[r["batch_size"]] / 1e9
        print(f"{r['name']:<44} {r['seconds_per_step']:6.2f} {r['images_per_second']:6.1f} "
              f"{ratio:6.2f} {r['images_per_cpu_second']:9.1f} {cpu_ratio:6.2f} "
              f"{100 * r['utilisation']:6.0f}% {100 * r['spread']:5.0f}% {gflops:7.1f} "
              f"{100 * gflops / rates['float32'][0]:7.0f}% "
              f"{100 * gflops_cpu / rates['float32'][1]:6.0f}%")


def find(results, **criteria):
    for r in results:
        if all(r.get(key) == value for key, value in criteria.items()):
            return r
    return None


def print_float32_share(results, flops_per_image, rates):
    """float32 at the first batch size as a share of the float32 matmul rate (a record
    of where the CPU's time goes, not a goal), and the other configurations' ratios."""
    batch = int(FLAGS.batch_sizes[0])
    f32 = find(results, batch_size=batch, policy="float32", jit=False, strategy="default",
               group="main")
    if f32 is None:
        print("\n(no float32 baseline at the first batch size)")
        return
    flops = flops_per_image[batch] / 1e9
    wall = f32["images_per_second"] * flops / rates["float32"][0]
    cpu = f32["images_per_cpu_second"] * flops / rates["float32"][1]
    print(f"\nfloat32 at batch {batch}: {100 * wall:.0f}% of the float32 matmul rate (wall), "
          f"{100 * cpu:.0f}% per CPU-second.")
    for other in results:
        if other is f32 or other["batch_size"] != batch or other["group"] != "main":
            continue
        median = statistics.median(
            base / wall for base, wall in zip(f32["round_walls"], other["round_walls"]))
        print(f"  {other['name']}: median over rounds of the per-round speed ratio to "
              f"float32 {median:.2f}x")


def _quiet():
    """Silences TensorFlow's Python warnings (retracing, deprecations) and Keras's."""
    import warnings

    import tensorflow as tf
    from absl import logging
    logging.set_verbosity(logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning)


def main(argv):
    del argv
    import keras  # pylint: disable=import-outside-toplevel

    if keras.backend.backend() != "tensorflow":
        raise app.UsageError(
            "bench/throughput.py profiles TensorFlow (its profiler's FLOPs, tf.distribute); "
            "for JAX and PyTorch run bench/backends.py.")
    _quiet()
    if FLAGS.worker == "mirrored_2cpu":
        run_two_cpu_worker()
        return
    start = time.perf_counter()
    import tensorflow as tf
    print_machine()
    batch_sizes = [int(b) for b in FLAGS.batch_sizes]
    reference = batch_sizes[0]


    print("\nFLOPs of one train step (Wasserstein + gradient penalty "
          f"{FLAGS.gradient_penalty_weight:g}; 1 D + 1 G update), counted by the profiler on "
          "the traced float32 train_step graph (all MatMul/Conv2D/Conv2D-backprop and "
          "elementwise ops in it), and estimated from the layers (see analytic_flops):")
    flops_per_image = {}
    for batch in batch_sizes:
        total, by_op = profiled_flops(batch, FLAGS.gradient_penalty_weight)
        estimate = analytic_flops(batch, FLAGS.gradient_penalty_weight > 0)
        flops_per_image[batch] = total / batch
        top = sorted(by_op.items(), key=lambda item: -item[1])[:4]
        print(f"  batch {batch}: profiler {total / 1e9:.1f} GFLOP ({total / batch / 1e6:.0f} "
              f"MFLOP/image; " + ", ".join(f"{name} {100 * flops / total:.0f}%"
                                           for name, flops in top)
              + f"); analytic {estimate / 1e9:.1f} GFLOP")

    configs = []
    for batch in batch_sizes:
        for policy in FLAGS.policies:
            configs.append(Config(f"{policy} b{batch}", batch, policy))
            if batch == reference and policy == "float32" and "on" in FLAGS.jit:
                configs.append(Config(f"{policy} b{batch} XLA", batch, policy, jit=True))
    if not any(c.policy == "float32" and c.batch_size == reference and not c.jit
               for c in configs):
        configs.insert(0, Config(f"float32 b{reference}", reference))  # The baseline.
    strategies = {"default": tf.distribute.get_strategy()}
    if "mirrored" in FLAGS.strategies:
        strategies["mirrored"] = tf.distribute.MirroredStrategy()
        configs.append(Config(f"float32 b{reference} Mirrored 1 CPU", reference,
                              strategy="mirrored"))
    matmuls = [MatmulConfig(dtype, FLAGS.matmul_size) for dtype in ("float32", "bfloat16",
                                                                     "float16")]
    for matmul in matmuls:
        matmul.build()
    print(f"\nTiming {len(configs)} configurations and {FLAGS.matmul_size}^2 matmuls, "
          f"{FLAGS.repeats} rounds x {FLAGS.steps} steps (matmuls: 1 s) each after "
          f"{FLAGS.warmup_steps} warm-up step(s), round-robin:")
    results = time_configs(configs, strategies, matmuls)
    for r in results:
        r["group"] = "main"
    rates = {matmul.name: matmul.rates() for matmul in matmuls}
    print(f"\nMatmul rate ({FLAGS.matmul_size}x{FLAGS.matmul_size}, 2 n^3 FLOPs each; "
          "fastest round), GFLOP per wall-second / per process CPU-second:")
    for dtype, (wall, cpu) in rates.items():
        print(f"  {dtype:<9} {wall:7.1f} / {cpu:7.1f}")

    if "mirrored_2cpu" in FLAGS.strategies:
        print("\nMirroredStrategy over 2 logical CPU devices (subprocess, with its own "
              "default-strategy baseline):")
        for r in run_two_cpu_subprocess():
            r["group"] = "2cpu"
            results.append(r)

    print(f"\nResults: fastest of {FLAGS.repeats} rounds. img/s: discriminator-batch images "
          "per wall-second; img/CPU-s: per CPU-second of this process (all threads); x base: "
          "ratio to float32 without XLA on the default strategy at the same batch (2-CPU "
          "rows: to the subprocess's own baseline); CPU use: CPU-s / wall-s / "
          f"{os.cpu_count()} cores; spread: slowest / fastest round - 1; GFLOP/s: img/s x "
          "profiler FLOPs per image; %mm wall / CPU: GFLOP/s as a share of the float32 "
          "matmul rate, per wall-second / per CPU-second.\n")
    print_table(results, flops_per_image, rates)
    print_float32_share(results, flops_per_image, rates)
    if FLAGS.profile:
        print(f"\nOp profile (TensorFlow profiler, self time by op type, batch {reference}):")
        for policy in FLAGS.policies:
            print_op_profile(policy, reference)
    print(f"\nLoad average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"total time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    app.run(main)
