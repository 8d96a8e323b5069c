r"""Scores a trained MNIST generator with the packaged MNIST classifier.

    python eval.py --generator_dir=out/mnist/generator --mnist_dir=../shared/data/mnist
    python eval.py --checkpoint=out/mnist/checkpoint.keras --mnist_dir=../shared/data/mnist

Give exactly one of `--generator_dir` (a SavedModel written by
`tfgan_losses.training.export.export_generator`, e.g. train.py's export) and
`--checkpoint` (a `.keras` GAN model saved by train.py; its generator is
evaluated as train.py exports it: the moving average of its weights if the
model keeps one, batch-norm statistics recomputed over
`--batch_norm_recalibration_batches` batches of sampled inputs, inference
mode). The script draws `--num_images` generator inputs, seeded by
`--seed`, one per input of the generator, chosen by the input's name:

* a name containing "label" or "categorical": uniform one-hot vectors (the
  class labels of a conditional GAN, InfoGAN's categorical code);
* a name containing "continuous": uniform in [-1, 1] (InfoGAN's continuous
  code);
* anything else ("noise", "unstructured_noise", ...): standard normal.

It compares the images with as many MNIST test images (a seeded random
subset when fewer than 10000; the whole split otherwise) using
`tfgan_losses.eval.mnist`, prints the scores and writes them as JSON:

* `mnist_score`: classifier score of the generated images (<= 10);
* `real_mnist_score`: the same on the real images; `score_ratio` =
  mnist_score / real_mnist_score;
* `frechet_distance`: Fréchet distance between the classifier logits of the
  real and generated images (lower is better);
* for a generator with a label input: `label_accuracy` and
  `label_cross_entropy`, the classifier's accuracy and cross-entropy on the
  generated images against their conditioning labels;

and saves a `--grid_size` x `--grid_size` grid of the first generated images
as a PNG. By default both files go beside the evaluated generator, i.e. in
the training folder: `<dir>/eval.json` and `<dir>/eval_grid.png`. Invalid
flags (both or neither model, a missing path) stop the program with a
message before any work is done.
"""

import json
import os
import sys
import time

import numpy as np
from absl import app, flags, logging

# TensorFlow, Keras and the metrics are imported inside the functions that use
# them, so that a bad command line fails at once, before the slow imports.

FLAGS = flags.FLAGS
MNIST_TEST_SIZE = 10000


def _check_generator_dir(path):
    if path is not None and not os.path.isfile(os.path.join(path, "saved_model.pb")):
        what = "is not a SavedModel folder (no saved_model.pb)" if os.path.isdir(path) else (
            "does not exist")
        raise flags.ValidationError(f"--generator_dir {path!r} {what}.")
    return True


def _check_checkpoint(path):
    if path is not None and not os.path.isfile(path):
        raise flags.ValidationError(f"--checkpoint {path!r} does not exist or is not a file.")
    return True


def _check_mnist_dir(path):
    from tfgan_losses import data  # TensorFlow loads once a flag needs it.

    return data.validate_mnist_dir_flag(path)


def define_flags():
    """Defines the command-line flags (only when run as a script)."""
    flags.DEFINE_string("generator_dir", None,
                        "Exported generator to evaluate: a SavedModel folder with a "
                        "'serving_default' signature returning 'images'.")
    flags.DEFINE_string("checkpoint", None,
                        "GAN checkpoint to evaluate instead: a .keras file saved by train.py.")
    flags.DEFINE_integer("num_images", MNIST_TEST_SIZE,
                         "Generated images to score, compared with as many real test images "
                         f"(at most {MNIST_TEST_SIZE}).", lower_bound=2)
    flags.DEFINE_string("mnist_dir", None,
                        "Folder holding the four original MNIST .gz files; defaults to "
                        "$TFGAN_MNIST_DIR, else TFDS downloads.")
    flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's).")
    flags.DEFINE_string("output_json", None, "Where to write the scores; default "
                        "<dir>/eval.json beside the generator folder or checkpoint.")
    flags.DEFINE_string("output_png", None, "Where to write the image grid; default "
                        "<dir>/eval_grid.png beside the generator folder or checkpoint.")
    flags.DEFINE_integer("grid_size", 10, "Images per side of the grid.", lower_bound=1)
    flags.DEFINE_integer("batch_size", 500, "Images per generator call.", lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Seed of the generator inputs and the real subset.")
    flags.DEFINE_integer("batch_norm_recalibration_batches", 20,
                         "--checkpoint only: batches of --batch_size sampled inputs over which "
                         "the generator's batch-norm statistics are recomputed (as train.py "
                         "does before export); 0 keeps the checkpoint's.", lower_bound=0)

    flags.register_multi_flags_validator(
        ["generator_dir", "checkpoint"],
        lambda f: (f["generator_dir"] is None) != (f["checkpoint"] is None),
        message="give exactly one of --generator_dir (an exported SavedModel) and "
                "--checkpoint (a .keras GAN checkpoint).")
    flags.register_validator("generator_dir", _check_generator_dir)
    flags.register_validator("checkpoint", _check_checkpoint)
    flags.register_validator("mnist_dir", _check_mnist_dir)
    flags.register_multi_flags_validator(
        ["grid_size", "num_images"], lambda f: f["grid_size"] ** 2 <= f["num_images"],
        message="--grid_size squared must not exceed --num_images.")


# ---------------------------------------------------------------- generators
def input_kind(name):
    """How to sample the generator input called `name`: "one_hot", "uniform" or "normal"."""
    lowered = name.lower()
    if "label" in lowered or "categorical" in lowered:
        return "one_hot"
    if "continuous" in lowered:
        return "uniform"
    return "normal"


def sample_inputs(input_specs, num_examples, rng):
    """Draws one batch of generator inputs.

    Inputs are drawn in the order of their names, so the draws do not depend on the
    order in which a loaded signature lists them.

    Args:
      input_specs: List of `(name, shape)`, `shape` excluding the batch axis.
      num_examples: Batch size.
      rng: `numpy.random.Generator`.

    Returns:
      A dict name -> float32 array [num_examples, *shape].
    """
    inputs = {}
    for name, shape in sorted(input_specs):
        kind = input_kind(name)
        if kind == "one_hot":
            if len(shape) != 1:
                raise ValueError(f"One-hot input {name!r} must have shape [batch, classes], "
                                 f"got [batch, {', '.join(map(str, shape))}].")
            values = np.eye(shape[0], dtype=np.float32)[rng.integers(0, shape[0], num_examples)]
        elif kind == "uniform":
            values = rng.uniform(-1.0, 1.0, (num_examples,) + shape)
        else:
            values = rng.standard_normal((num_examples,) + shape)
        inputs[name] = values.astype(np.float32)
    return inputs


def _static_shape(name, shape):
    shape = tuple(shape)
    if any(dim is None for dim in shape):
        raise ValueError(f"Generator input {name!r} has shape [batch, {shape}]: every "
                         "dimension but the batch must be known.")
    return shape


def load_exported_generator(generator_dir):
    """Loads a SavedModel generator; returns `(input_specs, generate_fn)`.

    `generate_fn(inputs_dict)` returns the images as a numpy array.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(generator_dir)
    if "serving_default" not in loaded.signatures:
        raise ValueError(f"{generator_dir!r} has no 'serving_default' signature.")
    signature = loaded.signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    input_specs = [(name, _static_shape(name, spec.shape[1:])) for name, spec in specs.items()]

    def generate(inputs):
        outputs = signature(**{name: tf.constant(v) for name, v in inputs.items()})
        images = outputs["images"] if "images" in outputs else next(iter(outputs.values()))
        return images.numpy()

    generate.keepalive = loaded  # The signature needs the loaded object alive.
    return input_specs, generate


def load_checkpoint_generator(checkpoint, recalibration_batches=0, batch_size=500, seed=0):
    """Loads a `.keras` GAN model; returns `(input_specs, generate_fn)` of its generator.

    The generator holds the model's moving average of its weights, if it keeps
    one, and, for `recalibration_batches` > 0, batch-norm statistics recomputed
    over that many batches of `batch_size` inputs drawn by `sample_inputs`.
    """
    import contextlib

    import keras

    import tfgan_losses  # noqa: F401  (registers the GAN models and layers a checkpoint holds)
    from tfgan_losses.training.batch_norm import recalibrate_batch_norm

    gan = keras.models.load_model(checkpoint, compile=False)
    generator = getattr(gan, "generator", None)
    if generator is None:
        raise ValueError(f"{checkpoint!r} holds a {type(gan).__name__}, not a GAN model with "
                         "a `generator`.")
    names = [tensor.name for tensor in generator.inputs]
    if len(names) == 1:
        shapes = [tuple(getattr(gan, "noise_shape", None) or generator.inputs[0].shape[1:])]
    else:
        shapes = [tuple(tensor.shape[1:]) for tensor in generator.inputs]
    input_specs = [(name, _static_shape(name, shape)) for name, shape in zip(names, shapes)]

    def model_inputs(inputs):
        values = [inputs[name] for name in names]
        return values[0] if len(values) == 1 else values

    averaged = contextlib.ExitStack()  # Holds the average in place while `generate` lives.
    if hasattr(gan, "generator_average"):
        averaged.enter_context(gan.generator_average())
    if recalibration_batches:
        rng = np.random.default_rng(seed + 1)
        recalibrate_batch_norm(generator, (
            model_inputs(sample_inputs(input_specs, batch_size, rng))
            for _ in range(recalibration_batches)))

    def generate(inputs):
        images = generator(model_inputs(inputs), training=False)
        return keras.ops.convert_to_numpy(keras.ops.cast(images, "float32"))

    generate.keepalive = averaged
    return input_specs, generate


def generate_images(input_specs, generate, num_images, batch_size, rng):
    """Runs the generator on `num_images` sampled inputs, `batch_size` at a time.

    All inputs are drawn first, so they do not depend on `batch_size`.

    Returns:
      `(images, inputs)`: float32 images [num_images, 28, 28, 1] and a dict of
      the inputs.
    """
    inputs = sample_inputs(input_specs, num_images, rng)
    images = np.concatenate([
        np.asarray(generate({name: v[start:start + batch_size] for name, v in inputs.items()}),
                   np.float32)
        for start in range(0, num_images, batch_size)])
    if images.shape[1:] != (28, 28, 1):
        raise ValueError(f"The generator makes images of shape {images.shape[1:]}; the MNIST "
                         "classifier needs [28, 28, 1].")
    return images, inputs


def real_subset(real_images, num_images, seed):
    """`num_images` of `real_images` (all if there are no more), in their order, chosen
    by `seed` alone: the same subset whatever the generator and `--batch_size`."""
    if num_images >= len(real_images):
        return real_images
    chosen = np.random.default_rng([seed, 1]).permutation(len(real_images))[:num_images]
    return real_images[np.sort(chosen)]


# ---------------------------------------------------------------- scores
def evaluate(generated_images, real_images, generator_inputs=None):
    """The MNIST scores of `generated_images` against `real_images`, as a dict of floats.

    Args:
      generated_images: float32 [N, 28, 28, 1] in [-1, 1].
      real_images: float32 [M, 28, 28, 1] in [-1, 1].
      generator_inputs: Optional dict name -> array of the generator inputs;
        an input named like "labels" with 10 columns adds `label_accuracy`
        and `label_cross_entropy`.
    """
    from tfgan_losses.eval import mnist
    from tfgan_losses.eval.sample_quality import ClassifierActivations, score_samples

    generated = ClassifierActivations(generated_images, mnist.mnist_classifier_fn)
    quality = score_samples(generated, real_images, mnist.mnist_classifier_fn)
    scores = {
        "mnist_score": quality["score"],
        "real_mnist_score": quality["real_score"],
        "score_ratio": quality["score"] / quality["real_score"],
        "frechet_distance": quality["frechet_distance"],
    }
    labels = [values for name, values in (generator_inputs or {}).items() if "label" in name.lower()
              and values.ndim == 2 and values.shape[1] == mnist.NUM_CLASSES]
    if labels:
        scores["label_accuracy"] = float(mnist.accuracy_from_logits(generated.logits, labels[0]))
        scores["label_cross_entropy"] = float(
            mnist.cross_entropy_from_logits(generated.logits, labels[0]))
    return scores


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from tfgan_losses import data
    from tfgan_losses.eval import mnist
    from tfgan_losses.eval.image_grid import write_image_grid_png

    mnist_dir = data.resolve_mnist_dir(FLAGS.mnist_dir)  # Checked by its flag validator.
    source = FLAGS.generator_dir or FLAGS.checkpoint
    out_dir = os.path.dirname(os.path.abspath(source.rstrip("/\\")))
    output_json = FLAGS.output_json or os.path.join(out_dir, "eval.json")
    output_png = FLAGS.output_png or os.path.join(out_dir, "eval_grid.png")

    start = time.time()
    if FLAGS.generator_dir:
        input_specs, generate = load_exported_generator(FLAGS.generator_dir)
    else:
        input_specs, generate = load_checkpoint_generator(
            FLAGS.checkpoint, FLAGS.batch_norm_recalibration_batches, FLAGS.batch_size,
            FLAGS.seed)
    logging.info("Generator inputs: %s", input_specs)
    generated, generator_inputs = generate_images(
        input_specs, generate, FLAGS.num_images, FLAGS.batch_size,
        np.random.default_rng(FLAGS.seed))

    real_images = real_subset(mnist.load_mnist_test_split(mnist_dir, FLAGS.data_dir)[0],
                              FLAGS.num_images, FLAGS.seed)
    scores = evaluate(generated, real_images, generator_inputs)

    report = {
        **scores,
        "num_images": len(generated),
        "num_real_images": len(real_images),
        "seed": FLAGS.seed,
        "generator": os.path.abspath(source),
        "generator_inputs": {name: input_kind(name) for name, _ in input_specs},
        "classifier_test_accuracy": mnist.CLASSIFIER_TEST_ACCURACY,
        "grid_png": os.path.abspath(output_png),
        "seconds": round(time.time() - start, 1),
    }
    for path in (output_json, output_png):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_image_grid_png(generated, FLAGS.grid_size, output_png)
    with open(output_json, "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2)
        stream.write("\n")
    print(json.dumps(report, indent=2))
    print(f"Wrote {output_json} and {output_png}.", file=sys.stderr)


if __name__ == "__main__":
    define_flags()
    app.run(main)
