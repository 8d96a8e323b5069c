r"""MNIST quality benchmark: which TF-GAN loss trains the example networks best?

Trains TF-GAN's unconditional MNIST networks (`models/mnist.py`) with each of

* `minimax`: minimax generator + discriminator losses (TF-GAN defaults,
  discriminator label smoothing 0.25);
* `modified`: the non-saturating losses;
* `wasserstein_clip`: WGAN, weights clipped to [-0.01, 0.01] after every
  discriminator update, 5 discriminator steps, RMSprop(5e-5) as in the paper;
* `wasserstein_gp`: WGAN-GP with TF-GAN's example settings (penalty weight 1);
* `least_squares`: LSGAN losses;

on real MNIST at batch 32, and every `--eval_every` steps measures, on
`--num_eval_images` generated images from the generator as it is exported
(the moving average of its weights, `--generator_ema_decay`, with batch-norm
statistics recomputed for those weights over
`--batch_norm_recalibration_batches` batches of 500, in inference mode), the
MNIST score (classifier score of the packaged classifier; real test images
score about 9.78) and the Fréchet distance to as many real test images, with
the `SampleQuality` callback that `train.py --eval_interval_steps` uses. The
last evaluation of each loss runs on the exported SavedModel itself, through
the same `score_samples` that `eval.py` uses. Writes
`results.csv`, `results.md` and `quality.png` (quality against steps and
against training wall-clock time) to `--output_dir`, and for each loss its
exported generator (`<loss>/generator`, for `eval.py --generator_dir`) and a
10x10 grid of its evaluated samples (`<loss>/samples.png`).

    python bench/quality.py --mnist_dir=../shared/data/mnist
    python bench/quality.py --losses=modified,wasserstein_gp --max_steps=2000 --eval_every=500
    python bench/quality.py --losses=modified --generator_steps=3 --seed=1  # meets the goal

Goal: the best loss reaches an MNIST score of at least 0.95 of the real-data
score, and a Fréchet distance below 10% of the step-0 distance, within 5,000
steps at batch 32. With TF-GAN's settings (one generator update per step) the
modified loss levels off at 0.90-0.92; with `--generator_steps=3` it reached
0.959, 0.951 and 0.9496 in three seeds (docs/measurements.md, "Sample quality").
"""

import csv
import os
import sys
import textwrap
import time
from pathlib import Path

# Before TensorFlow is imported: oneDNN as in train.py (docs/cpu.md).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Run from anywhere.
from models import mnist as mnist_networks  # noqa: E402
import tfgan_losses  # noqa: E402
from tfgan_losses import (  # noqa: E402
    GANModel, export_generator, recalibrate_batch_norm)
from tfgan_losses import data  # noqa: E402
from tfgan_losses.environment import describe  # noqa: E402
from tfgan_losses.eval import mnist as mnist_eval  # noqa: E402
from tfgan_losses.eval.image_grid import write_image_grid_png  # noqa: E402
from tfgan_losses.eval.sample_quality import score_samples  # noqa: E402

CONFIGS = {
    "minimax": dict(losses=("minimax_generator_loss", "minimax_discriminator_loss")),
    "modified": dict(losses=("modified_generator_loss", "modified_discriminator_loss")),
    "wasserstein_clip": dict(
        losses=("wasserstein_generator_loss", "wasserstein_discriminator_loss"),
        clip=0.01, discriminator_steps=5, optimizer=lambda: keras.optimizers.RMSprop(5e-5)),
    "wasserstein_gp": dict(
        losses=("wasserstein_generator_loss", "wasserstein_discriminator_loss"),
        gradient_penalty_weight=1.0),
    "least_squares": dict(
        losses=("least_squares_generator_loss", "least_squares_discriminator_loss")),
}

FLAGS = flags.FLAGS
flags.DEFINE_list("losses", list(CONFIGS), f"Configurations to train, from {list(CONFIGS)}.")
flags.DEFINE_integer("max_steps", 5000, "Train steps per configuration.", lower_bound=1)
flags.DEFINE_integer("eval_every", 1000, "Evaluation period in steps.", lower_bound=1)
flags.DEFINE_integer("num_eval_images", 5000, "Generated (and real) images per evaluation.",
                     lower_bound=2)
flags.DEFINE_integer("batch_size", 32, "Images per discriminator update.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of weights, noise and data order.")
flags.DEFINE_string("mnist_dir", None, "Folder of the MNIST .gz files (default "
                    f"${data.MNIST_DIR_ENV_VAR}; else TFDS downloads).")
flags.DEFINE_string("output_dir", "out/quality", "Where to write the table and the plot.")
flags.DEFINE_float("generator_learning_rate", 1e-3,
                   "Adam learning rate of the generator (TF-GAN's example: 1e-3); "
                   "not used by wasserstein_clip (RMSprop 5e-5).", lower_bound=0.0)
flags.DEFINE_float("discriminator_learning_rate", 1e-4,
                   "Adam learning rate of the discriminator (TF-GAN's example: 1e-4).",
                   lower_bound=0.0)
flags.DEFINE_integer("generator_steps", 1, "Generator updates per train step (TF-GAN's "
                     "example: 1).", lower_bound=1)
flags.DEFINE_float("label_smoothing", 0.25,
                   "Real-label smoothing of the minimax/modified discriminator losses "
                   "(TF-GAN's default 0.25).", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("batch_norm_momentum", mnist_networks.BATCH_NORM_MOMENTUM,
                   "Momentum of the generator's batch-norm moving statistics (TF-GAN: 0.999).")
flags.DEFINE_float("generator_ema_decay", 0.999,
                   "Decay of the generator's weight average that is evaluated and exported; "
                   "0 evaluates the last weights.", lower_bound=0.0, upper_bound=0.9999)
flags.DEFINE_integer("batch_norm_recalibration_batches", 20,
                     "Batches of 500 noise vectors over which the generator's batch-norm "
                     "statistics are recomputed before each evaluation; 0 evaluates with the "
                     "moving statistics of training.", lower_bound=0)
flags.register_validator("losses", lambda names: set(names) <= set(CONFIGS),
                         message=f"--losses must be a subset of {list(CONFIGS)}.")


def build_gan(config):
    """A compiled GANModel with TF-GAN's MNIST networks for one configuration."""
    keras.utils.set_random_seed(FLAGS.seed)
    gan = GANModel(mnist_networks.unconditional_generator(
                       64, batch_norm_momentum=FLAGS.batch_norm_momentum),
                   mnist_networks.unconditional_discriminator(),
                   discriminator_steps=config.get("discriminator_steps", 1),
                   generator_steps=FLAGS.generator_steps, seed=FLAGS.seed,
                   generator_ema_decay=FLAGS.generator_ema_decay or None)
    make_optimizer = config.get("optimizer")
    adam = lambda learning_rate: keras.optimizers.Adam(learning_rate, beta_1=0.5)
    generator_loss, discriminator_loss = config["losses"]
    discriminator_loss = tfgan_losses.get(discriminator_loss)
    if "label_smoothing" in discriminator_loss.get_config():
        discriminator_loss = type(discriminator_loss)(label_smoothing=FLAGS.label_smoothing)
    gan.compile(
        generator_optimizer=(make_optimizer() if make_optimizer
                             else adam(FLAGS.generator_learning_rate)),
        discriminator_optimizer=(make_optimizer() if make_optimizer
                                 else adam(FLAGS.discriminator_learning_rate)),
        generator_loss=generator_loss, discriminator_loss=discriminator_loss,
        gradient_penalty_weight=config.get("gradient_penalty_weight"))
    return gan


class _TrainClock(keras.callbacks.Callback):
    """Training wall-clock time, without the quality measurements that follow each epoch
    (place it before the `SampleQuality` callback)."""

    def __init__(self):
        super().__init__()
        self.seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start


class _Rows(keras.callbacks.Callback):
    """One result row per measurement, from the logs that `SampleQuality` filled."""

    def __init__(self, name, clock, real_score, rows):
        super().__init__()
        self.name, self.clock, self.real_score, self.rows = name, clock, real_score, rows

    def add(self, step, scores):
        row = {"loss": self.name, "step": step, "train_seconds": round(self.clock.seconds, 1),
               "mnist_score": scores["mnist_score"],
               "score_ratio": scores["mnist_score"] / self.real_score,
               "frechet_distance": scores["mnist_frechet_distance"]}
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in row.items()), flush=True)
        self.rows.append(row)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.global_step < FLAGS.max_steps:  # The last row comes from the export.
            self.add(self.model.global_step, logs)


def run_config(name, config, real_images, real_score, eval_noise, mnist_dir):
    """Trains one configuration; returns its evaluation rows.

    Every `--eval_every` steps `tfgan_losses.eval.mnist.mnist_sample_quality`
    measures the generator as exported (weight average, recalibrated batch norm,
    inference mode); the last measurement runs the exported SavedModel itself,
    through the same `score_samples`.
    """
    gan = build_gan(config)
    dataset = data.load_mnist("train", FLAGS.batch_size * gan.discriminator_steps,
                              seed=FLAGS.seed, repeat=True, mnist_dir=mnist_dir)
    # Same effect as the ClipWeights callback, installed once for all fit calls.
    gan.discriminator_clip_value = config.get("clip")
    rng = np.random.default_rng(FLAGS.seed + 2)
    recalibration = [rng.standard_normal((500,) + gan.noise_shape).astype(np.float32)
                     for _ in range(FLAGS.batch_norm_recalibration_batches)] or None
    quality = mnist_eval.mnist_sample_quality(real_images, eval_noise,
                                              recalibration_inputs=recalibration)
    clock, rows = _TrainClock(), []
    recorder = _Rows(name, clock, real_score, rows)
    quality.set_model(gan)
    recorder.add(0, quality.measure())  # Step 0: the initial weights.
    gan.fit(dataset, steps_per_epoch=FLAGS.eval_every,
            epochs=-(-FLAGS.max_steps // FLAGS.eval_every), verbose=0,
            shuffle=False,  # The dataset shuffles; Keras would warn that it cannot.
            callbacks=[tfgan_losses.StopAtStep(FLAGS.max_steps), clock, quality, recorder])

    export_dir = os.path.join(FLAGS.output_dir, name, "generator")
    with gan.generator_average():  # What users get: the export, as train.py writes it.
        if recalibration:
            recalibrate_batch_norm(gan.generator, recalibration)
        export_generator(gan.generator, export_dir)
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    images = np.concatenate([serve(noise=tf.constant(eval_noise[i:i + 500]))["images"].numpy()
                             for i in range(0, len(eval_noise), 500)])
    write_image_grid_png(images[:100], 10, os.path.join(FLAGS.output_dir, name, "samples.png"))
    scores = score_samples(images, quality.real_activations(), mnist_eval.mnist_classifier_fn)
    recorder.add(gan.global_step, {"mnist_score": scores["score"],
                                   "mnist_frechet_distance": scores["frechet_distance"]})
    return rows


def write_outputs(rows, real_score, header):
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    with open(os.path.join(FLAGS.output_dir, "results.csv"), "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [header, "", f"Real test images: MNIST score {real_score:.3f}.", "",
             "| loss | step | train s | MNIST score | / real | Fréchet distance | / step 0 |",
             "|---|---|---|---|---|---|---|"]
    start_distance = {r["loss"]: r["frechet_distance"] for r in rows if r["step"] == 0}
    for r in rows:
        lines.append(f"| {r['loss']} | {r['step']} | {r['train_seconds']:.0f} | "
                     f"{r['mnist_score']:.3f} | {r['score_ratio']:.3f} | "
                     f"{r['frechet_distance']:.2f} | "
                     f"{r['frechet_distance'] / start_distance[r['loss']]:.3f} |")
    with open(os.path.join(FLAGS.output_dir, "results.md"), "w") as stream:
        stream.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib  # Only the benchmark needs it (the `bench` extra).
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    for name in dict.fromkeys(r["loss"] for r in rows):
        mine = [r for r in rows if r["loss"] == name]
        for column, x_key in enumerate(("step", "train_seconds")):
            axes[0, column].plot([r[x_key] for r in mine], [r["score_ratio"] for r in mine],
                                 marker="o", label=name)
            axes[1, column].plot([r[x_key] for r in mine], [r["frechet_distance"] for r in mine],
                                 marker="o", label=name)
    for column, label in enumerate(("train step", "training wall-clock (s)")):
        axes[0, column].axhline(0.95, color="grey", linestyle="--", linewidth=0.8)
        axes[0, column].set(xlabel=label, ylabel="MNIST score / real score")
        axes[1, column].set(xlabel=label, ylabel="Fréchet distance (logits)", yscale="log")
    axes[0, 0].legend()
    figure.suptitle(textwrap.fill(header, 200), fontsize=8)
    figure.tight_layout()
    figure.savefig(os.path.join(FLAGS.output_dir, "quality.png"), dpi=120)


def main(argv):
    del argv
    mnist_dir = data.resolve_mnist_dir(FLAGS.mnist_dir)
    header = (f"bench/quality.py: {FLAGS.max_steps} steps, batch {FLAGS.batch_size}, "
              f"{FLAGS.num_eval_images} images per evaluation, {FLAGS.generator_steps} generator "
              f"update(s) per step, generator batch-norm momentum "
              f"{FLAGS.batch_norm_momentum}, Adam G {FLAGS.generator_learning_rate:g} / D "
              f"{FLAGS.discriminator_learning_rate:g}, label smoothing {FLAGS.label_smoothing:g}, "
              f"generator EMA decay {FLAGS.generator_ema_decay:g}, batch-norm recalibration "
              f"batches {FLAGS.batch_norm_recalibration_batches}; "
              f"{describe()}")
    print(header, flush=True)
    test_images, _ = mnist_eval.load_mnist_test_split(mnist_dir)
    real_images = test_images[:FLAGS.num_eval_images]
    real_score = float(mnist_eval.mnist_score(real_images))  # As SampleQuality's real set.
    eval_noise = np.random.default_rng(FLAGS.seed + 1).standard_normal(
        (FLAGS.num_eval_images, 64)).astype(np.float32)
    rows = []
    for name in FLAGS.losses:
        rows += run_config(name, CONFIGS[name], real_images, real_score, eval_noise, mnist_dir)
        write_outputs(rows, real_score, header)


if __name__ == "__main__":
    app.run(main)
