r"""Trains a GAN on MNIST with `model.fit`, as TF-GAN's MNIST example did.

    python train.py --mnist_dir=../shared/data/mnist
    python train.py --gan_type=conditional --generator_loss=modified_generator_loss \
        --discriminator_loss=modified_discriminator_loss --gradient_penalty_weight=0

`--gan_type` picks TF-GAN's three MNIST GANs: `unconditional`, `conditional`
(networks conditioned on one-hot labels) and `infogan` (structured
categorical and continuous codes with the mutual-information penalty).

writes under `--train_log_dir`:

* `checkpoint.keras`: the whole GAN model (both networks, both optimizers,
  noise generator state), saved every `--save_interval_steps`; running the
  same command again resumes from it;
* TensorBoard scalars and image grids (`tensorboard --logdir <train_log_dir>`);
* `samples.png`: a `--grid_size`^2 grid of samples from the exported generator;

and exports the generator as a SavedModel to `--export_dir`. The samples and
the export are what users get: the generator's moving average of weights
(`--generator_ema_decay`) with batch-norm statistics recomputed for those
weights (`--batch_norm_recalibration_batches`); the checkpoint keeps the
training state (last weights, the average beside them). Every
`--eval_interval_steps` it logs the MNIST score and Fréchet distance of the
generator as it would be exported (`mnist_score`, `mnist_frechet_distance`:
progress bar, TensorBoard), and at the end it prints a summary: steps, wall
time, images/s, the files written, and the export's MNIST score, both on
`--eval_images` samples (`eval.py`'s scoring).

Invalid flags stop the program with a message before any work is done. It
runs TensorFlow's oneDNN CPU kernels unless `TF_ENABLE_ONEDNN_OPTS` is set
(docs/cpu.md), and drops TensorFlow's known-harmless native log lines unless
`TFGAN_LOSSES_FILTER_NATIVE_LOGS=0` (`tfgan_losses.native_log_filter`).
"""

import contextlib
import os
import time

# Before TensorFlow is imported (by tfgan_losses, first): docs/cpu.md.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TFGAN_LOSSES_FILTER_NATIVE_LOGS", "1")

from tfgan_losses import LOSS_CLASSES  # isort: skip  (imports TensorFlow, filter first)
import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging

import eval as eval_script
from models import mnist as mnist_networks
from tfgan_losses import data
from tfgan_losses.eval import mnist as mnist_eval
from tfgan_losses.training import callbacks as gan_callbacks
from tfgan_losses.training.batch_norm import recalibrate_batch_norm
from tfgan_losses.training.export import check_export_dir, export_generator
from tfgan_losses.training.conditional import ConditionalGANModel
from tfgan_losses.training.gan_model import GANModel
from tfgan_losses.training.infogan import InfoGANModel

# ACGAN losses are auxiliary classification terms, not adversarial losses on logits.
_ADVERSARIAL_LOSSES = [name for name in LOSS_CLASSES if not name.startswith("acgan")]
_GENERATOR_LOSSES = sorted(name for name in _ADVERSARIAL_LOSSES if "generator" in name)
_DISCRIMINATOR_LOSSES = sorted(name for name in _ADVERSARIAL_LOSSES if "discriminator" in name)

RECALIBRATION_BATCH_SIZE = 500

FLAGS = flags.FLAGS
flags.DEFINE_enum("gan_type", "unconditional", ["unconditional", "conditional", "infogan"],
                  "Which of TF-GAN's MNIST GANs to train.")
flags.DEFINE_integer("batch_size", 32, "Images per discriminator update.", lower_bound=1)
flags.DEFINE_integer("max_number_of_steps", 1000,
                     "Train steps in total (TF-GAN's example ran 20000).", lower_bound=1)
flags.DEFINE_integer("noise_dims", 64,
                     "Size of the generator's (unstructured) noise vector.", lower_bound=1)
flags.DEFINE_float("mutual_information_penalty_weight", 1.0,
                   "InfoGAN only: weight of the mutual-information penalty.", lower_bound=0.0)
flags.DEFINE_string("train_log_dir", "out/mnist",
                    "Folder for the checkpoint, TensorBoard logs and samples.")
flags.DEFINE_integer("grid_size", 5, "Samples per side of the image grids.", lower_bound=1)
flags.DEFINE_enum("generator_loss", "wasserstein_generator_loss", _GENERATOR_LOSSES,
                  "Generator loss, by its TF-GAN name.")
flags.DEFINE_enum("discriminator_loss", "wasserstein_discriminator_loss", _DISCRIMINATOR_LOSSES,
                  "Discriminator loss, by its TF-GAN name.")
flags.DEFINE_float("gradient_penalty_weight", 1.0,
                   "Weight of the WGAN-GP gradient penalty (TF-GAN's example: 1.0); 0 disables.",
                   lower_bound=0.0)
flags.DEFINE_float("clip_weight", None,
                   "If set, clip the discriminator's weights to [-c, c] after every "
                   "discriminator update (WGAN: 0.01).")
flags.DEFINE_integer("discriminator_steps", 1, "Discriminator updates per train step.",
                     lower_bound=1)
flags.DEFINE_integer("generator_steps", 1, "Generator updates per train step.", lower_bound=1)
flags.DEFINE_float("generator_learning_rate", 1e-3, "Adam learning rate of the generator.",
                   lower_bound=0.0)
flags.DEFINE_float("discriminator_learning_rate", 1e-4,
                   "Adam learning rate of the discriminator.", lower_bound=0.0)
flags.DEFINE_float("generator_ema_decay", 0.999,
                   "Decay of the moving average of the generator's weights that is sampled "
                   "and exported; 0 exports the last weights (TF-GAN's example).",
                   lower_bound=0.0, upper_bound=0.9999)
flags.DEFINE_integer("batch_norm_recalibration_batches", 20,
                     f"Batches of {RECALIBRATION_BATCH_SIZE} generator inputs over which the "
                     "generator's batch-norm statistics are recomputed before sampling and "
                     "export; 0 keeps the moving statistics of training.", lower_bound=0)
flags.DEFINE_integer("eval_images", 2000,
                     "Generated images per quality measurement (the MNIST score and Frechet "
                     "distance against as many real test images), during training and in the "
                     "closing summary; 0 measures nothing.",
                     lower_bound=0, upper_bound=eval_script.MNIST_TEST_SIZE)
flags.DEFINE_integer("eval_interval_steps", 500,
                     "Period in steps of the quality measurement during training (about 5 s "
                     "each on 2 CPU cores); 0 measures only at the end.", lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed of the noise, the data order and the initial weights.",
                     lower_bound=0, upper_bound=2**32 - 1)
flags.DEFINE_string("mnist_dir", None,
                    "Folder holding the four original MNIST .gz files, to build the dataset "
                    f"offline; defaults to ${data.MNIST_DIR_ENV_VAR}, else TFDS downloads.")
flags.DEFINE_string("export_dir", None,
                    "Where to export the generator as a SavedModel; default "
                    "<train_log_dir>/generator.")
flags.DEFINE_integer("save_interval_steps", 500,
                     "Checkpoint period: a crash loses at most this many steps.", lower_bound=1)
flags.DEFINE_integer("summary_interval_steps", 100, "TensorBoard summary period.",
                     lower_bound=1)
flags.DEFINE_bool("jit_compile", False, "Compile the train step with XLA.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "data_parallel"],
                  "One device; on TensorFlow (tf.distribute) all local devices "
                  "(MirroredStrategy) or several machines (MultiWorkerMirroredStrategy, "
                  "configured by $TF_CONFIG); on JAX all local devices "
                  "(keras.distribution.DataParallel). --batch_size is per device.")
flags.DEFINE_enum("mixed_precision", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                  "Keras dtype policy of the networks; losses stay float32.")

flags.register_validator("mnist_dir", data.validate_mnist_dir_flag)
flags.register_validator("train_log_dir", bool, message="--train_log_dir must not be empty.")
flags.register_validator("clip_weight", lambda c: c is None or c > 0,
                         message="--clip_weight must be a positive number.")
flags.register_validator(
    "generator_learning_rate", lambda lr: lr > 0,
    message="--generator_learning_rate must be positive.")
flags.register_validator(
    "discriminator_learning_rate", lambda lr: lr > 0,
    message="--discriminator_learning_rate must be positive.")


def _check_export_dir(flag_values):
    """--export_dir must not hold the training folder, and replaces only a former export."""
    export_dir, train_log_dir = flag_values["export_dir"], flag_values["train_log_dir"]
    if export_dir is None:
        return True
    export_dir, train_log_dir = os.path.abspath(export_dir), os.path.abspath(train_log_dir)
    if os.path.commonpath([export_dir, train_log_dir]) == export_dir:
        raise flags.ValidationError(
            f"--export_dir {export_dir!r} would replace the folder that holds --train_log_dir "
            f"{train_log_dir!r}.")
    try:
        check_export_dir(export_dir)
    except ValueError as error:
        raise flags.ValidationError(str(error)) from error
    return True


flags.register_multi_flags_validator(["export_dir", "train_log_dir"], _check_export_dir)


def build_gan():
    """Builds and compiles a fresh GAN model of `--gan_type` from the flags."""
    common = dict(discriminator_steps=FLAGS.discriminator_steps,
                  generator_steps=FLAGS.generator_steps, seed=FLAGS.seed,
                  generator_ema_decay=FLAGS.generator_ema_decay or None)
    if FLAGS.gan_type == "conditional":
        gan = ConditionalGANModel(
            mnist_networks.conditional_generator(FLAGS.noise_dims, data.NUM_CLASSES),
            mnist_networks.conditional_discriminator(data.NUM_CLASSES), **common)
    elif FLAGS.gan_type == "infogan":
        gan = InfoGANModel(
            mnist_networks.infogan_generator(FLAGS.noise_dims),
            mnist_networks.infogan_discriminator(),
            mutual_information_penalty_weight=FLAGS.mutual_information_penalty_weight, **common)
    else:
        gan = GANModel(mnist_networks.unconditional_generator(FLAGS.noise_dims),
                       mnist_networks.unconditional_discriminator(), **common)
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(FLAGS.generator_learning_rate, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(FLAGS.discriminator_learning_rate,
                                                        beta_1=0.5),
        generator_loss=FLAGS.generator_loss,
        discriminator_loss=FLAGS.discriminator_loss,
        gradient_penalty_weight=FLAGS.gradient_penalty_weight,
        jit_compile=FLAGS.jit_compile)
    return gan


def grid_inputs(gan, count, seed):
    """Generator inputs for image grids and batch-norm recalibration: noise, plus labels
    or categorical codes cycling 0..9 (uniform classes)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((count,) + gan.noise_shape).astype(np.float32)
    if isinstance(gan, ConditionalGANModel):
        return [noise, np.eye(data.NUM_CLASSES, dtype=np.float32)[np.arange(count) % 10]]
    if isinstance(gan, InfoGANModel):
        categorical = np.eye(gan.categorical_dim, dtype=np.float32)[
            np.arange(count) % gan.categorical_dim]
        continuous = rng.uniform(-1, 1, (count, gan.continuous_dim)).astype(np.float32)
        return [noise, categorical, continuous]
    return noise


def checkpoint_settings(gan):
    """The flag values that a GAN model loaded from a checkpoint was trained with."""
    gan_type = ("conditional" if isinstance(gan, ConditionalGANModel)
                else "infogan" if isinstance(gan, InfoGANModel) else "unconditional")

    def learning_rate(optimizer):
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    settings = {
        "gan_type": gan_type,
        "generator_loss": getattr(gan.generator_loss, "name", None),
        "discriminator_loss": getattr(gan.discriminator_loss, "name", None),
        "gradient_penalty_weight": gan.gradient_penalty_weight or 0.0,
        "discriminator_steps": gan.discriminator_steps,
        "generator_steps": gan.generator_steps,
        "generator_learning_rate": learning_rate(gan.generator_optimizer),
        "discriminator_learning_rate": learning_rate(gan.discriminator_optimizer),
        "generator_ema_decay": gan.generator_ema_decay or 0.0,
        "noise_dims": gan.noise_shape[0],
        "seed": gan.seed,
        "mixed_precision": gan.generator.dtype_policy.name,
        "jit_compile": bool(gan.jit_compile),
    }
    if gan_type == "infogan":
        settings["mutual_information_penalty_weight"] = gan.mutual_information_penalty_weight
    return settings


def check_resumed_settings(gan, checkpoint_path):
    """Raises `ValueError` when a flag given on the command line contradicts the
    checkpoint being resumed (flags left out take the checkpoint's values)."""
    conflicts = [
        f"--{name}={FLAGS[name].value} (the checkpoint has {value})"
        for name, value in checkpoint_settings(gan).items()
        if FLAGS[name].present and not (
            FLAGS[name].value == value
            or (isinstance(value, float) and np.isclose(FLAGS[name].value, value, rtol=1e-6)))]
    if conflicts:
        raise ValueError(
            f"Resuming {checkpoint_path}, but these flags differ from its settings: "
            f"{'; '.join(conflicts)}. Drop them to resume, or pick another --train_log_dir "
            "to train a new model.")


def load_or_build_gan(checkpoint_path):
    """Resumes from `checkpoint_path` when it exists, else builds a new model."""
    if os.path.exists(checkpoint_path):
        gan = keras.models.load_model(checkpoint_path)
        check_resumed_settings(gan, checkpoint_path)
        logging.info("Resuming from %s at step %d.", checkpoint_path, gan.global_step)
        return gan
    return build_gan()


class OneProcess:
    """What train.py uses of a `tf.distribute` strategy, on JAX and PyTorch: one process,
    on one device or (JAX's `DataParallel`) on every local device."""

    cluster_resolver = None

    def __init__(self, devices=1):
        self.num_replicas_in_sync = devices

    def scope(self):
        return contextlib.nullcontext()


def make_strategy(name):
    """The `tf.distribute` strategy, or `OneProcess`, that `--strategy` names.

    Raises:
      app.UsageError: For a strategy that the backend does not have.
    """
    backend = keras.backend.backend()
    if ((name in ("mirrored", "multi_worker") and backend != "tensorflow")
            or (name == "data_parallel" and backend != "jax")):
        raise app.UsageError(
            f"--strategy={name} is not available on the {backend!r} backend: mirrored and "
            "multi_worker need KERAS_BACKEND=tensorflow, data_parallel KERAS_BACKEND=jax.")
    if name == "data_parallel":
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        return OneProcess(len(keras.distribution.list_devices()))
    if backend != "tensorflow":
        return OneProcess()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy):
    """Whether this process keeps the files: no cluster, the chief, or worker 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is None or resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0)


def output_dir(strategy, train_log_dir):
    """`train_log_dir` on the chief; a scratch folder inside it on other workers.

    Every worker runs the same saving code (saving may run collective ops), but
    only the chief's files are kept.
    """
    if is_chief(strategy):
        return train_log_dir
    resolver = strategy.cluster_resolver
    return os.path.join(train_log_dir, f"scratch_{resolver.task_type}_{resolver.task_id}")


def main(argv):
    del argv
    mnist_dir = data.resolve_mnist_dir(FLAGS.mnist_dir)  # Checked by its flag validator.
    keras.mixed_precision.set_global_policy(FLAGS.mixed_precision)
    strategy = make_strategy(FLAGS.strategy)
    log_dir = output_dir(strategy, FLAGS.train_log_dir)
    os.makedirs(log_dir, exist_ok=True)
    checkpoint_path = os.path.join(FLAGS.train_log_dir, "checkpoint.keras")
    export_dir = os.path.join(log_dir, "generator")
    if FLAGS.export_dir and is_chief(strategy):
        export_dir = FLAGS.export_dir

    keras.utils.set_random_seed(FLAGS.seed)  # Also when resuming: the same data order.
    with strategy.scope():
        gan = load_or_build_gan(checkpoint_path)
    if FLAGS["mutual_information_penalty_weight"].present and not isinstance(gan, InfoGANModel):
        logging.warning("--mutual_information_penalty_weight is ignored: the model is not an "
                        "InfoGAN (--gan_type=infogan).")
    images_per_step = FLAGS.batch_size * gan.discriminator_steps * strategy.num_replicas_in_sync
    dataset = data.load_mnist(
        "train", images_per_step,
        seed=FLAGS.seed, repeat=True, with_labels=isinstance(gan, ConditionalGANModel),
        mnist_dir=mnist_dir).skip(gan.global_step)  # A resumed run reads on where it stopped.
    summaries = gan_callbacks.GANSummaries(
        log_dir, grid_inputs(gan, FLAGS.grid_size ** 2, FLAGS.seed),
        FLAGS.grid_size, FLAGS.summary_interval_steps)
    real_images = eval_script.real_subset(
        mnist_eval.load_mnist_test_split(mnist_dir)[0], FLAGS.eval_images,
        FLAGS.seed) if FLAGS.eval_images else None
    callbacks = [
        gan_callbacks.TerminateOnNonFinite(),
        gan_callbacks.StopAtStep(FLAGS.max_number_of_steps),
    ]
    if FLAGS.eval_images and FLAGS.eval_interval_steps:  # Before the summaries, which log it.
        # On every worker, as the export: recalibration assigns distributed variables.
        callbacks.append(mnist_eval.mnist_sample_quality(
            real_images, grid_inputs(gan, FLAGS.eval_images, FLAGS.seed + 1),
            every_n_steps=FLAGS.eval_interval_steps))
    callbacks += [
        summaries,
        gan_callbacks.GANCheckpoint(os.path.join(log_dir, "checkpoint.keras")),
    ]
    if FLAGS.clip_weight is not None:
        callbacks.append(gan_callbacks.ClipWeights(FLAGS.clip_weight))

    steps_per_epoch = min(FLAGS.save_interval_steps, FLAGS.max_number_of_steps)
    epochs = -(-FLAGS.max_number_of_steps // steps_per_epoch)
    first_step, start_time = gan.global_step, time.perf_counter()
    if gan.global_step < FLAGS.max_number_of_steps:
        gan.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
                initial_epoch=gan.global_step // steps_per_epoch, callbacks=callbacks,
                shuffle=False)  # The dataset shuffles; Keras would warn that it cannot.
    else:
        summaries.set_model(gan)
        logging.info("Already at step %d of %d: nothing to train.", gan.global_step,
                     FLAGS.max_number_of_steps)

    train_seconds = time.perf_counter() - start_time
    samples_path = os.path.join(log_dir, "samples.png")
    with gan.generator_average():  # The last weights without a moving average.
        if FLAGS.batch_norm_recalibration_batches:
            recalibrate_batch_norm(gan.generator, (
                grid_inputs(gan, RECALIBRATION_BATCH_SIZE, FLAGS.seed + 1 + batch)
                for batch in range(FLAGS.batch_norm_recalibration_batches)))
        gan_callbacks.check_finite_weights(gan.generator, "the generator to export")
        tf.io.write_file(samples_path, tf.io.encode_png(summaries.sample_grid()))
        export_generator(gan.generator, export_dir)
    print(summary(gan.global_step - first_step, gan.global_step, train_seconds,
                  images_per_step, samples_path, export_dir,
                  os.path.join(log_dir, "checkpoint.keras"),
                  real_images if is_chief(strategy) else None))


def summary(steps_run, global_step, train_seconds, images_per_step, samples_path, export_dir,
            checkpoint_path, real_images):
    """The closing summary: what was trained, how fast, what was written, how good it is.

    The score is `eval.py`'s, on as many samples of the export as there are
    `real_images` (None: no score; train.py scores on the chief only).
    """
    lines = [f"Trained {steps_run} steps (now at step {global_step}) in {train_seconds:.0f} s"
             + (f", {steps_run * images_per_step / train_seconds:.0f} images/s."
                if steps_run else ".")]
    lines += [f"  samples:    {samples_path}", f"  generator:  {export_dir} (SavedModel)",
              f"  checkpoint: {checkpoint_path}"]
    if real_images is not None:
        input_specs, generate = eval_script.load_exported_generator(export_dir)
        generated, inputs = eval_script.generate_images(
            input_specs, generate, len(real_images), RECALIBRATION_BATCH_SIZE,
            np.random.default_rng(FLAGS.seed))
        scores = eval_script.evaluate(generated, real_images, inputs)
        lines.append(
            f"MNIST score of the export on {len(generated)} samples: {scores['mnist_score']:.2f} "
            f"({scores['score_ratio']:.2f} of real test images' {scores['real_mnist_score']:.2f}), "
            f"Frechet distance {scores['frechet_distance']:.2f}. More: python eval.py "
            f"--generator_dir={export_dir}")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
