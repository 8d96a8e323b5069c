r"""Images per second of the same GAN on every installed Keras backend, in one run.

Trains TF-GAN's full-size unconditional MNIST networks (`models/mnist.py`) with
train.py's defaults (Wasserstein losses + gradient penalty of weight 1, Adam,
one discriminator and one generator update per step) through `GANModel.fit` on
synthetic in-memory images, once per backend, each in its own process
(`KERAS_BACKEND` is fixed at import), each with the compiler the backend has
for this step:

* TensorFlow: XLA (`jit_compile=True`);
* JAX: XLA (`jax.jit`, Keras's JAX trainer);
* PyTorch: eager; `torch.compile` cannot differentiate the gradient penalty
  twice, so it is used only with `--gradient_penalty_weight=0`.

For each it reports images per second (discriminator-batch images: batch size x
steps / wall time, the fastest of `--repeats` timed `fit` calls after a warm-up
call that compiles), the step's FLOP rate from `throughput.analytic_flops`, and
that rate as a share of the same backend's float32 matmul rate on the same
device (a `--matmul_size` square matmul), the bound a step could reach. The
device is the backend's default: the GPU where there is one.

    python bench/backends.py                              # every installed backend, CPU
    python bench/backends.py --backends=jax,torch --batch_sizes=128,512   # a GPU machine

It needs no TensorFlow for JAX and PyTorch (GPU machines often lack it).
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="Comma-separated; those not installed are reported and skipped.")
    parser.add_argument("--batch_sizes", default="32,128")
    parser.add_argument("--steps", type=int, default=10, help="Steps per timed fit call.")
    parser.add_argument("--repeats", type=int, default=3, help="Timed fit calls; fastest kept.")
    parser.add_argument("--gradient_penalty_weight", type=float, default=1.0)
    parser.add_argument("--matmul_size", type=int, default=2048)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # Internal: the backend to time.
    return parser.parse_args(argv)


# ----------------------------------------------------------------- in a worker
def matmul_gflops(size, seconds=1.0):
    """GFLOP/s of float32 `size`x`size` matmuls on the backend's default device."""
    import keras  # pylint: disable=import-outside-toplevel
    from keras import ops  # pylint: disable=import-outside-toplevel

    a = keras.random.normal((size, size), seed=0)
    b = keras.random.normal((size, size), seed=1)
    ops.convert_to_numpy(ops.sum(ops.matmul(a, b)[:1]))  # Warm-up.
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < seconds:
        product = ops.matmul(a, b)
        count += 1
    ops.convert_to_numpy(ops.sum(product[:1]))  # Waits for the queue (GPUs run ahead).
    return 2.0 * size ** 3 * count / (time.perf_counter() - start) / 1e9


def time_backend(args):
    """Times `fit` on this process's backend; returns one dict per batch size."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    from models import mnist as mnist_networks  # pylint: disable=import-outside-toplevel
    from throughput import analytic_flops  # pylint: disable=import-outside-toplevel
    from tfgan_losses import GANModel, environment  # pylint: disable=import-outside-toplevel

    backend = keras.backend.backend()
    penalty = args.gradient_penalty_weight
    jit_compile = backend != "torch" or not penalty
    mode = {"tensorflow": "XLA", "jax": "XLA (jax.jit)",
            "torch": "torch.compile" if jit_compile else "eager"}[backend]
    matmul = matmul_gflops(args.matmul_size)
    results = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        keras.utils.set_random_seed(0)
        gan = GANModel(mnist_networks.unconditional_generator(64),
                       mnist_networks.unconditional_discriminator(), seed=0)
        gan.compile(jit_compile=jit_compile, gradient_penalty_weight=penalty or None)
        images = np.random.default_rng(0).uniform(
            -1, 1, (batch_size * args.steps, 28, 28, 1)).astype(np.float32)

        def run():
            start = time.perf_counter()
            history = gan.fit(images, batch_size=batch_size, epochs=1, verbose=0,
                              shuffle=False)
            assert np.isfinite(history.history["discriminator_loss"]).all()
            return time.perf_counter() - start

        warmup = run()  # Compiles.
        best = min(run() for _ in range(args.repeats))
        rate = batch_size * args.steps / best
        gflops = analytic_flops(1, bool(penalty)) * rate / 1e9
        results.append({
            "backend": backend, "machine": environment.describe(), "mode": mode,
            "batch_size": batch_size, "images_per_second": rate, "warmup_seconds": warmup,
            "step_gflops_per_second": gflops, "matmul_gflops_per_second": matmul,
            "matmul_share": gflops / matmul})
    return results


# --------------------------------------------------------------------- driver
def main(args):
    if args.worker:
        print("RESULTS " + json.dumps(time_backend(args)), flush=True)
        return
    print(f"Config: batch sizes {args.batch_sizes}, {args.steps} steps per fit call, fastest "
          f"of {args.repeats}; gradient penalty weight {args.gradient_penalty_weight:g}; "
          "TF-GAN's full-size MNIST networks.")
    rows = []
    for backend in args.backends.split(","):
        if importlib.util.find_spec(backend) is None:
            print(f"{backend}: not installed, skipped")
            continue
        command = [sys.executable, __file__, f"--worker={backend}",
                   f"--batch_sizes={args.batch_sizes}", f"--steps={args.steps}",
                   f"--repeats={args.repeats}", f"--matmul_size={args.matmul_size}",
                   f"--gradient_penalty_weight={args.gradient_penalty_weight}"]
        env = {"TF_ENABLE_ONEDNN_OPTS": "1",  # As train.py (docs/cpu.md), unless set.
               **os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        lines = [line for line in result.stdout.splitlines() if line.startswith("RESULTS ")]
        if result.returncode or not lines:
            print(f"{backend}: FAILED (exit {result.returncode})\n{result.stderr[-3000:]}")
            continue
        results = json.loads(lines[-1][len("RESULTS "):])
        print(f"{backend}: {results[0]['machine']}")
        rows += results
    print("\n| backend | compiled as | batch | images/s | step GFLOP/s | float32 matmul GFLOP/s "
          "| share of matmul | warm-up s |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['backend']} | {row['mode']} | {row['batch_size']} | "
              f"{row['images_per_second']:.1f} | {row['step_gflops_per_second']:.1f} | "
              f"{row['matmul_gflops_per_second']:.1f} | {100 * row['matmul_share']:.0f}% | "
              f"{row['warmup_seconds']:.1f} |")


if __name__ == "__main__":
    main(parse_args())
