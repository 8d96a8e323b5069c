r"""Training throughput of `GANModel.fit` against a hand-written, compiled train loop.

Both train TF-GAN's full-size unconditional MNIST networks (`models/mnist.py`,
about 6.7 M generator and 6.6 M discriminator parameters) with the same losses
(`--losses=modified`, or `wasserstein_gp`: Wasserstein + gradient penalty of
weight 1), the same optimizers (Adam(1e-3, beta_1=0.5) for the generator,
Adam(1e-4, beta_1=0.5) for the discriminator), the same batch size and the
same `--discriminator_steps` discriminator updates per generator update, on
the same synthetic in-memory data (1024 random images in a numpy array), so
that only the training machinery differs:

* fit: `GANModel.compile(...)` then `fit(images, steps_per_epoch=--steps)`;
* loop: a train step written out by hand, as TF-GAN users did (`for images in
  batches: train_step(images)`), doing the same updates (same noise draws,
  losses, weight decay, batch-norm and spectral-norm updates) without fit's
  metrics, callbacks and iterator handling. It takes its gradients and applies
  its updates through `tfgan_losses.gradients`, as `GANModel` does, and is
  compiled as the backend compiles: `tf.function` on TensorFlow, `jax.jit` of
  the pure step on JAX (`KERAS_BACKEND=jax`); PyTorch runs it eagerly, as
  `GANModel` does with the penalty.

Both start from the same weights and seeds; after one step of each the script
checks that they reached the same weights (up to round-off), i.e. that they
really do the same updates. Then it times `--repeats` blocks of `--steps`
steps of each, interleaved so that changes in the machine's speed (other
processes on shared cores, thermal drift) hit both alike:

* `--interleave=step` (default): one `fit` call per block, and after each of
  its steps (from a callback) one loop step; fit's time per step runs from
  the end of the previous loop step to the end of the batch, so it includes
  fit's per-step work outside the train function;
* `--interleave=block`: whole blocks of each, alternating fit-loop,
  loop-fit, ...; fit's time includes its per-call set-up.

It reports the median over blocks of each one's throughput in images per
second (real images consumed: steps x batch_size x discriminator_steps) and
of the per-block ratio fit / loop (goal >= 0.97), and the same ratio per
CPU-second of the process (`time.process_time`, all threads), which depends
less on other processes sharing the cores.

    python bench/fit_overhead.py                       # ~3 min on 2 CPU cores
    python bench/fit_overhead.py --losses=wasserstein_gp --jit_compile
    KERAS_BACKEND=jax python bench/fit_overhead.py     # XLA: JAX always compiles
"""

import os
import statistics
import sys
import time
from pathlib import Path

# Before TensorFlow is imported: oneDNN as in train.py (docs/cpu.md).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402  (before TensorFlow: PyTorch's import order)
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from keras import ops  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Run from anywhere.

from models import mnist as mnist_networks  # noqa: E402
from tfgan_losses.losses import keras_losses  # noqa: E402
from tfgan_losses.losses.gradient_penalty import wasserstein_gradient_penalty  # noqa: E402
from tfgan_losses.environment import describe  # noqa: E402
from tfgan_losses.training.batch_norm import batch_norm_layers  # noqa: E402
from tfgan_losses.gradients import apply_gradients, run_step, value_and_gradients  # noqa: E402
from tfgan_losses.training.gan_model import (  # noqa: E402
    GANModel, _call_in_stateless_scope, _losses_collected, _weight_regularization)

LOSSES = {
    "modified": dict(generator_loss="modified_generator_loss",
                     discriminator_loss="modified_discriminator_loss",
                     gradient_penalty_weight=None),
    "wasserstein_gp": dict(generator_loss="wasserstein_generator_loss",
                           discriminator_loss="wasserstein_discriminator_loss",
                           gradient_penalty_weight=1.0),
}
NOISE_DIMS = 64

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 8, "Train steps per timed block.", lower_bound=1)
flags.DEFINE_integer("repeats", 25, "Timed blocks of each variant.", lower_bound=1)
flags.DEFINE_integer("warmup_steps", 3, "Untimed steps of each variant first.", lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Images per discriminator update.", lower_bound=1)
flags.DEFINE_integer("discriminator_steps", 1, "Discriminator updates per generator update.",
                     lower_bound=1)
flags.DEFINE_enum("losses", "modified", list(LOSSES), "Loss family.")
flags.DEFINE_bool("jit_compile", False, "Compile both train steps with XLA (TensorFlow; JAX "
                  "always does).")
flags.DEFINE_integer("seed", 0, "Seed of the weights, the noise and the data.")
flags.DEFINE_enum("interleave", "step", ["step", "block"],
                  "step: one loop step after each fit step, inside one fit call per block; "
                  "block: whole blocks of each, alternating fit-loop, loop-fit, ...")


def load_average():
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def build_networks(seed):
    keras.utils.set_random_seed(seed)
    return (mnist_networks.unconditional_generator(NOISE_DIMS),
            mnist_networks.unconditional_discriminator())


def optimizers():
    return (keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-4, beta_1=0.5))


def synthetic_images(seed):
    """1024 random images in [-1, 1], in memory."""
    return np.random.default_rng(seed).uniform(-1, 1, (1024, 28, 28, 1)).astype(np.float32)


def batches(images, batch_size):
    """The images' batches, in order, round and round (as `fit` reads them, unshuffled)."""
    while True:
        for start in range(0, len(images) - batch_size + 1, batch_size):
            yield images[start:start + batch_size]


def compiled_step(step, variables, jit_compile):
    """`step(images)`, which changes `variables`, compiled as the backend compiles it.

    Returns `run(batch_iterator, steps)`, which runs `steps` steps and returns the
    last step's losses as floats; on JAX the variables get their new values back
    when it returns (as `fit` writes them back after an epoch).
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        jitted = jax.jit(lambda values, images: run_step(step, [variables], [values], images),
                         donate_argnums=0)

        def run_jax(iterator, steps):
            values = [variable.value for variable in variables]
            for _ in range(steps):
                losses, (values,) = jitted(values, next(iterator))
            for variable, value in zip(variables, values):
                variable.assign(value)
            return [float(loss) for loss in losses]

        return run_jax
    if backend == "tensorflow":
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        step = tf.function(step, jit_compile=jit_compile)

    def run(iterator, steps):
        for _ in range(steps):
            losses = step(next(iterator))
        return [float(ops.convert_to_numpy(loss)) for loss in losses]  # Waits for the step.

    return run


class HandWrittenLoop:
    """The same updates as `GANModel.train_step`, as a plain compiled function."""

    def __init__(self, generator, discriminator, losses, discriminator_steps, seed,
                 jit_compile):
        self.generator, self.discriminator = generator, discriminator
        self.generator_optimizer, self.discriminator_optimizer = optimizers()
        self.generator_optimizer.build(generator.trainable_variables)
        self.discriminator_optimizer.build(discriminator.trainable_variables)
        self.generator_loss = keras_losses.get(losses["generator_loss"])
        self.discriminator_loss = keras_losses.get(losses["discriminator_loss"])
        self.penalty_weight = losses["gradient_penalty_weight"]
        self.discriminator_steps = discriminator_steps
        self.seed_generator = keras.random.SeedGenerator(seed)
        variables = (generator.variables + discriminator.variables
                     + self.generator_optimizer.variables
                     + self.discriminator_optimizer.variables + [self.seed_generator.state])
        self.run = compiled_step(self._train_step, variables, jit_compile)

    def _noise(self, batch_size):
        return keras.random.normal((batch_size, NOISE_DIMS), seed=self.seed_generator)

    def _discriminate(self, images, unused_generator_inputs=None):
        outputs, _ = _call_in_stateless_scope(
            lambda: self.discriminator(images, training=True))
        return outputs

    def _train_step(self, images):
        k = self.discriminator_steps  # Update i takes every k-th example from the i-th.
        slices = [images[i::k] for i in range(k)] if k > 1 else [images]
        moving_statistics = [variable for layer in batch_norm_layers(self.generator)
                             for variable in (layer.moving_mean, layer.moving_variance)]
        for real in slices:
            noise = self._noise(ops.shape(real)[0])
            # As GANModel: the generator's batch-norm statistics move in its own update.
            generated, _ = _call_in_stateless_scope(
                lambda: self.generator(noise, training=True), discard=moving_statistics)
            generated = ops.stop_gradient(generated)
            variables = self.discriminator.trainable_variables

            def discriminator_loss():
                with _losses_collected() as call_losses:  # Every call's own losses count.
                    loss = self.discriminator_loss(self._discriminate(real),
                                                   self._discriminate(generated))
                    if self.penalty_weight:
                        loss += self.penalty_weight * wasserstein_gradient_penalty(
                            real, generated, noise, self._discriminate,
                            seed=self.seed_generator)
                return (loss + ops.sum(list(call_losses)
                                       + _weight_regularization(self.discriminator)),)

            (discriminator_loss_value,), gradients = value_and_gradients(
                discriminator_loss, variables)
            apply_gradients(self.discriminator_optimizer, gradients, variables)

        noise = self._noise(ops.shape(slices[0])[0])
        variables = self.generator.trainable_variables

        def generator_loss():
            generated, call_losses = _call_in_stateless_scope(
                lambda: self.generator(noise, training=True))
            real_outputs = (self.discriminator(slices[0], training=True)
                            if self.generator_loss.requires_real_outputs else None)
            loss = self.generator_loss(real_outputs,
                                       self.discriminator(generated, training=True))
            return (loss + ops.sum(list(call_losses) + _weight_regularization(self.generator)),)

        (generator_loss_value,), gradients = value_and_gradients(generator_loss, variables)
        apply_gradients(self.generator_optimizer, gradients, variables)
        return discriminator_loss_value, generator_loss_value


def timed(function):
    """Wall-clock and process CPU seconds (all threads) of `function()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


class InterleavedLoop(keras.callbacks.Callback):
    """Runs one hand-written-loop step after each `fit` step, timing both.

    A fit step is timed from the end of the previous loop step (or from the
    start of the first batch) to the end of the batch, so it includes fit's
    per-step work outside the train function (its epoch loop and callback
    dispatch, logs to Python numbers).
    """

    def __init__(self, run_loop_step):
        super().__init__()
        self.run_loop_step = run_loop_step
        self.times = []  # (fit wall, fit cpu, loop wall, loop cpu) per step.
        self._mark = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._mark is None:
            self._mark = (time.perf_counter(), time.process_time())

    def on_train_batch_end(self, batch, logs=None):
        fit_wall = time.perf_counter() - self._mark[0]
        fit_cpu = time.process_time() - self._mark[1]
        loop_wall, loop_cpu = timed(self.run_loop_step)
        self.times.append((fit_wall, fit_cpu, loop_wall, loop_cpu))
        self._mark = (time.perf_counter(), time.process_time())


def main(argv):
    del argv
    print("Machine:")
    print(describe())
    print(f"  load average (1, 5, 15 min) at start: {load_average()}")
    losses = LOSSES[FLAGS.losses]
    k = FLAGS.discriminator_steps
    # JAX's compiled mode is XLA (jit_compile=False runs fit's step op by op).
    jit_compile = FLAGS.jit_compile or keras.backend.backend() == "jax"
    images_per_step = FLAGS.batch_size * k
    print(f"Config: losses={FLAGS.losses}, batch_size={FLAGS.batch_size}, "
          f"discriminator_steps={k}, jit_compile={jit_compile}, "
          f"interleave={FLAGS.interleave}, {FLAGS.repeats} blocks of {FLAGS.steps} steps "
          f"each, TF-GAN's full-size MNIST networks.")
    images = synthetic_images(FLAGS.seed)

    # Two identical copies of the networks, one per variant.
    gan = GANModel(*build_networks(FLAGS.seed), discriminator_steps=k, seed=FLAGS.seed)
    generator_optimizer, discriminator_optimizer = optimizers()
    gan.compile(generator_optimizer=generator_optimizer,
                discriminator_optimizer=discriminator_optimizer,
                jit_compile=jit_compile, **losses)
    loop = HandWrittenLoop(*build_networks(FLAGS.seed), losses, k, FLAGS.seed,
                           jit_compile)
    loop_iterator = batches(images, images_per_step)
    parameters = sum(int(np.prod(w.shape)) for w in gan.trainable_weights)
    print(f"  trainable parameters: {parameters:,}")

    def run_fit(steps, callbacks=()):
        gan.fit(images, batch_size=images_per_step, epochs=1, steps_per_epoch=steps, verbose=0,
                shuffle=False, callbacks=list(callbacks))

    def run_loop(steps):
        loop.run(loop_iterator, steps)

    # Warm-up, which traces both. First one step each from the same weights,
    # seeds and data: the same updates give the same weights up to round-off
    # (Adam turns round-off in near-zero gradients into learning-rate-sized
    # steps in a few weights, so count the weights that differ, not the maximum).
    warmup = {"fit": timed(lambda: run_fit(1))[0], "loop": timed(lambda: run_loop(1))[0]}
    fit_weights = np.concatenate([ops.convert_to_numpy(w).ravel() for w in
                                  gan.generator.weights + gan.discriminator.weights])
    loop_weights = np.concatenate([ops.convert_to_numpy(w).ravel() for w in
                                   loop.generator.weights + loop.discriminator.weights])
    differing = float(np.mean(np.abs(fit_weights - loop_weights) > 1e-5))
    same = differing < 1e-3
    print(f"Same-updates check after 1 step: {100 * differing:.4f}% of the weights differ "
          f"by more than 1e-5 (max {np.max(np.abs(fit_weights - loop_weights)):.1e}): "
          f"{'OK' if same else 'DIFFERENT'}")
    if FLAGS.warmup_steps > 1:
        warmup["fit"] += timed(lambda: run_fit(FLAGS.warmup_steps - 1))[0]
        warmup["loop"] += timed(lambda: run_loop(FLAGS.warmup_steps - 1))[0]
    print(f"Warm-up ({FLAGS.warmup_steps} steps, tracing included): "
          f"fit {warmup['fit']:.1f} s, loop {warmup['loop']:.1f} s")

    # Timed blocks: per block, (fit wall, fit cpu, loop wall, loop cpu) seconds.
    blocks = []
    for repeat in range(FLAGS.repeats):
        if FLAGS.interleave == "step":
            interleaved = InterleavedLoop(lambda: run_loop(1))
            run_fit(FLAGS.steps, [interleaved])
            block = tuple(np.sum(interleaved.times, axis=0))
            order = "fit/loop per step"
        else:
            order = ("fit", "loop") if repeat % 2 == 0 else ("loop", "fit")
            measured = {name: timed(lambda: (run_fit if name == "fit" else run_loop)(
                FLAGS.steps)) for name in order}
            block = measured["fit"] + measured["loop"]
            order = f"{order[0]} first"
        blocks.append(block)
        fit_rate, loop_rate = (FLAGS.steps * images_per_step / block[i] for i in (0, 2))
        print(f"  block {repeat + 1:2d}/{FLAGS.repeats} ({order}): fit {fit_rate:6.1f} img/s, "
              f"loop {loop_rate:6.1f} img/s, ratio {fit_rate / loop_rate:.3f} "
              f"(per CPU-second: {block[3] / block[1]:.3f})")

    timed_images = FLAGS.steps * images_per_step
    fit_rates = [timed_images / block[0] for block in blocks]
    loop_rates = [timed_images / block[2] for block in blocks]
    ratios = [block[2] / block[0] for block in blocks]
    cpu_ratios = [block[3] / block[1] for block in blocks]
    fit_median, loop_median = statistics.median(fit_rates), statistics.median(loop_rates)
    ratio = statistics.median(ratios)
    print(f"  load average at end: {load_average()}")
    print("Result (median of blocks):")
    for name, rates, median in (("fit ", fit_rates, fit_median),
                                ("loop", loop_rates, loop_median)):
        print(f"  {name}: {median:8.1f} images/s ({1000 * images_per_step / median:.0f} "
              f"ms/step; blocks {min(rates):.1f}-{max(rates):.1f})")
    print(f"  fit / loop = {ratio:.3f} (median of per-block ratios, blocks "
          f"{min(ratios):.3f}-{max(ratios):.3f}; ratio of medians "
          f"{fit_median / loop_median:.3f}); goal >= 0.97: "
          f"{'met' if ratio >= 0.97 else 'NOT met'}")
    print(f"  per CPU-second of the process (all threads; less sensitive to other "
          f"processes): fit / loop = {statistics.median(cpu_ratios):.3f}")
    if not same:
        print("WARNING: the two variants did not reach the same weights; the comparison "
              "may not be like for like.")


if __name__ == "__main__":
    app.run(main)
