"""MNIST metrics with the packaged classifier, as TF-GAN's MNIST example had.

TF-GAN's `examples/mnist/util.py` scored generators with a pretrained MNIST
classifier from TF-Hub. That classifier is unreachable offline, so this
package ships its own (`assets/mnist_classifier.keras`, trained by
`python -m tfgan_losses.eval.train_mnist_classifier`): a small CNN that takes
images [N, 28, 28, 1] in [-1, 1] (the range of `tfgan_losses.data.load_mnist`
and of tanh generators) and returns 10 logits; it classifies 99.29% of the
MNIST test split correctly.

As in TF-GAN, both metrics use the classifier's logits:

* `mnist_score`: the classifier score (Inception score) of the logits, in
  [1, 10]; higher means confidently classified and class-balanced images;
* `mnist_frechet_distance`: the Fréchet distance between the logits of real
  and generated images; lower is better;
* `mnist_cross_entropy`: for conditional generators, the classifier's
  cross-entropy against the conditioning labels.

Reference values on the 10000 real test images (`real_mnist_scores()`):
mnist_score `REAL_TEST_MNIST_SCORE` (9.78) and accuracy `CLASSIFIER_TEST_ACCURACY`
(0.9929); the Fréchet distance between the two halves of the test split
(5000 images each) is about 0.5, against about 330 between 1000 real images
and 1000 images of uniform noise. Divide a generator's score by the real
score of the same number of images to read it as a ratio. Both metrics are
only comparable between runs with the same number of images and the same
classifier.

Batching: with `num_batches=None` (the default) the classifier runs on
batches of at most `DEFAULT_BATCH_SIZE` images, so 10000 images need little
memory; an int `num_batches` follows TF-GAN and splits the images into that
many equal batches (it must divide the number of images).
"""

import functools
import os

import keras
import numpy as np
import tensorflow as tf

# Module imports would be shadowed: tfgan_losses.eval re-exports the functions
# `classifier_score`, ... under the names of their modules.
from tfgan_losses.eval.batching import run_classifier_fn, run_classifier_in_batches
from tfgan_losses.eval.classifier_score import classifier_score_from_logits
from tfgan_losses.eval.frechet_distance import frechet_classifier_distance_from_activations
from tfgan_losses.eval.sample_quality import SampleQuality

CLASSIFIER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets",
                               "mnist_classifier.keras")
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURES_LAYER = "features"
DEFAULT_BATCH_SIZE = 500

# Measured with the shipped classifier on the full MNIST test split (10000
# images); `real_mnist_scores()` recomputes them.
CLASSIFIER_TEST_ACCURACY = 0.9929
REAL_TEST_MNIST_SCORE = 9.78


@functools.lru_cache(maxsize=None)
def load_mnist_classifier():
    """Loads the packaged MNIST classifier (once per process).

    Returns:
      A functional `keras.Model` mapping images [N, 28, 28, 1] in [-1, 1] to
      logits [N, 10]. Do not train it: it is shared by every caller.

    Raises:
      FileNotFoundError: If the package lacks `assets/mnist_classifier.keras`.
    """
    if not os.path.isfile(CLASSIFIER_PATH):
        raise FileNotFoundError(
            f"MNIST classifier {CLASSIFIER_PATH!r} is missing; recreate it with "
            "`python -m tfgan_losses.eval.train_mnist_classifier --mnist_dir=...`.")
    model = keras.models.load_model(CLASSIFIER_PATH, compile=False)
    model.trainable = False
    return model


@functools.lru_cache(maxsize=None)
def load_mnist_feature_extractor():
    """The classifier truncated at its 128 penultimate ReLU activations.

    Shares its layers (and weights) with `load_mnist_classifier()`. TF-GAN's
    metrics use logits; these features are an alternative embedding for
    `frechet_classifier_distance` or `kernel_classifier_distance`.

    Returns:
      A `keras.Model` mapping images [N, 28, 28, 1] to features [N, 128].
    """
    classifier = load_mnist_classifier()
    return keras.Model(classifier.inputs, classifier.get_layer(FEATURES_LAYER).output,
                       name="mnist_features")


@functools.lru_cache(maxsize=None)
def _compiled(which):
    """The classifier (or feature extractor) as a compiled function of a float32 image batch."""
    model = load_mnist_classifier() if which == "logits" else load_mnist_feature_extractor()
    if keras.backend.backend() != "tensorflow":
        # The model runs on the Keras backend (compiled by `predict_on_batch`), the
        # metrics on TensorFlow: eager tensors cross as numpy arrays.
        return lambda images: tf.convert_to_tensor(model.predict_on_batch(images.numpy()))
    spec = tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32)
    return tf.function(lambda images: model(images, training=False), input_signature=[spec])


def _as_images(images):
    """Checks and converts a batch of MNIST images to float32 [N, 28, 28, 1]."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        images = images[..., tf.newaxis]
    if images.shape.rank != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(
            f"MNIST images must have shape [N, 28, 28, 1] (or [N, 28, 28]), got {images.shape}.")
    if not images.dtype.is_floating:  # uint8 pixels in [0, 255] would score as garbage.
        raise ValueError(f"MNIST images must be floats in [-1, 1], got {images.dtype.name}; "
                         "map uint8 pixels p to p / 127.5 - 1.")
    return tf.cast(images, tf.float32)


def mnist_classifier_fn(images):
    """Logits of the packaged classifier for one batch of images.

    Args:
      images: Array-like [N, 28, 28, 1] (or [N, 28, 28]) with values in
        [-1, 1].

    Returns:
      A float32 tensor of logits [N, 10].
    """
    return _compiled("logits")(_as_images(images))


def mnist_features_fn(images):
    """Penultimate activations [N, 128] of the classifier for one batch of images."""
    return _compiled("features")(_as_images(images))


def _run(images, classifier_fn, num_batches):
    if num_batches is None:
        return run_classifier_in_batches(images, classifier_fn, DEFAULT_BATCH_SIZE)
    return run_classifier_fn(images, classifier_fn, num_batches)


def mnist_logits(images, num_batches=None):
    """The classifier's logits [N, 10] for many images, computed batch by batch.

    Args:
      images: Array-like [N, 28, 28, 1] in [-1, 1].
      num_batches: None for batches of at most `DEFAULT_BATCH_SIZE` images,
        or a positive int dividing N (TF-GAN's `num_batches`).

    Returns:
      A float32 tensor [N, 10].
    """
    return _run(images, mnist_classifier_fn, num_batches)


def mnist_score(images, num_batches=None):
    """Classifier score of the packaged MNIST classifier (TF-GAN's `mnist_score`).

    exp(E_x KL(p(y|x) || p(y))) on the classifier's logits: 1 when every
    image gets the same prediction (e.g. blank images), 10 at most (every
    image classified with certainty, classes balanced); about 9.78 on the
    10000 real test images (9.73 on the first 1000).

    Args:
      images: Array-like [N, 28, 28, 1] in [-1, 1].
      num_batches: See `mnist_logits`.

    Returns:
      A float32 scalar tensor.

    Example:
      >>> mnist_score(generated_images)  # <= 10; ~9.78 for real test images
    """
    return classifier_score_from_logits(mnist_logits(images, num_batches))


def mnist_frechet_distance(real_images, generated_images, num_batches=None):
    """Fréchet distance between real and generated images, on the classifier's logits.

    TF-GAN's `mnist_frechet_distance`. 0 for identical sets; compare values
    only between image sets of the same sizes.

    Args:
      real_images: Array-like [N, 28, 28, 1] in [-1, 1].
      generated_images: Array-like [M, 28, 28, 1] in [-1, 1].
      num_batches: See `mnist_logits` (applied to each set).

    Returns:
      A float32 scalar tensor.
    """
    return frechet_classifier_distance_from_activations(
        mnist_logits(real_images, num_batches), mnist_logits(generated_images, num_batches))


def _check_labels(labels, num_examples):
    labels = tf.convert_to_tensor(labels)
    if labels.shape.rank == 1:
        ids = tf.get_static_value(labels)  # Known unless traced in a graph.
        if ids is not None and not np.all((ids == np.round(ids)) & (ids >= 0)
                                          & (ids < NUM_CLASSES)):
            raise ValueError(f"Class ids must be whole numbers in [0, {NUM_CLASSES}); got "
                             f"{np.unique(ids)[:10]}.")
        labels = tf.one_hot(tf.cast(labels, tf.int32), NUM_CLASSES)
    if labels.shape.rank != 2 or labels.shape[1] != NUM_CLASSES or labels.shape[0] != num_examples:
        raise ValueError(
            f"Labels must be one-hot [{num_examples}, {NUM_CLASSES}] or class ids "
            f"[{num_examples}], got shape {labels.shape}.")
    return tf.cast(labels, tf.float32)


def cross_entropy_from_logits(logits, labels):
    """Mean softmax cross-entropy of `logits` [N, 10] against labels (one-hot or ids)."""
    logits = tf.convert_to_tensor(logits, tf.float32)
    labels = _check_labels(labels, logits.shape[0])
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels, logits))


def accuracy_from_logits(logits, labels):
    """Fraction of rows of `logits` [N, 10] whose argmax is the label (one-hot or ids)."""
    logits = tf.convert_to_tensor(logits, tf.float32)
    labels = _check_labels(labels, logits.shape[0])
    hits = tf.equal(tf.argmax(logits, axis=1), tf.argmax(labels, axis=1))
    return tf.reduce_mean(tf.cast(hits, tf.float32))


def mnist_cross_entropy(images, one_hot_labels, num_batches=None):
    """Classifier cross-entropy of images against their labels (TF-GAN's `mnist_cross_entropy`).

    For a conditional generator, pass the images generated from
    `one_hot_labels`: a low value means the images show the requested digits.

    Args:
      images: Array-like [N, 28, 28, 1] in [-1, 1].
      one_hot_labels: One-hot labels [N, 10] (class ids [N] also accepted).
      num_batches: See `mnist_logits`.

    Returns:
      The mean softmax cross-entropy, a float32 scalar tensor.
    """
    return cross_entropy_from_logits(mnist_logits(images, num_batches), one_hot_labels)


def load_mnist_test_split(mnist_dir=None, data_dir=None):
    """The 10000 MNIST test images in [-1, 1] and their int64 labels, as numpy arrays."""
    from tfgan_losses import data  # Deferred: imports TensorFlow Datasets.

    dataset = data.load_mnist("test", batch_size=10000, shuffle=False, with_labels=True,
                              one_hot=False, drop_remainder=False, mnist_dir=mnist_dir,
                              data_dir=data_dir)
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset))
    return np.concatenate(images), np.concatenate(labels)


def real_mnist_scores(images=None, labels=None, *, mnist_dir=None, data_dir=None,
                      num_batches=None):
    """Reference values of the metrics on real MNIST images.

    Args:
      images: Real images [N, 28, 28, 1] in [-1, 1]; default the whole test
        split (loaded with `mnist_dir` / `data_dir`).
      labels: Their labels (ids or one-hot), for the accuracy and
        cross-entropy; required when `images` is given and they are wanted.
      mnist_dir: Folder of the MNIST files, see `tfgan_losses.data`.
      data_dir: Optional TFDS data directory.
      num_batches: See `mnist_logits`.

    Returns:
      A dict with "num_images", "mnist_score" and, with labels,
      "accuracy" and "cross_entropy" (Python floats).

    Example:
      >>> real_mnist_scores(mnist_dir="../shared/data/mnist")["mnist_score"]  # ~9.78
    """
    if images is None:
        images, labels = load_mnist_test_split(mnist_dir, data_dir)
    logits = mnist_logits(images, num_batches)
    scores = {"num_images": int(logits.shape[0]),
              "mnist_score": float(classifier_score_from_logits(logits))}
    if labels is not None:
        scores["accuracy"] = float(accuracy_from_logits(logits, labels))
        scores["cross_entropy"] = float(cross_entropy_from_logits(logits, labels))
    return scores


def mnist_sample_quality(real_images, generator_inputs, **kwargs):
    """A `SampleQuality` callback with the packaged classifier: logs `mnist_score` and
    `mnist_frechet_distance` (on the logits, as `mnist_score` and
    `mnist_frechet_distance` compute them) while training.

    Args:
      real_images: Real MNIST images [M, 28, 28, 1] in [-1, 1], e.g. 2000 of
        `load_mnist_test_split()`'s.
      generator_inputs: Fixed generator inputs (an array, or a list of
        arrays for generators with several inputs).
      **kwargs: `SampleQuality`'s other arguments (`every_n_steps`, ...).

    Returns:
      A `tfgan_losses.eval.sample_quality.SampleQuality`.

    Example:

      quality = mnist_sample_quality(test_images[:2000], noise, every_n_steps=500)
      gan.fit(dataset, steps_per_epoch=500, epochs=4, callbacks=[quality])
      # logs: ... - mnist_score: 8.91 - mnist_frechet_distance: 2.61
    """
    return SampleQuality(mnist_classifier_fn, real_images, generator_inputs,
                         score_name="mnist_score", distance_name="mnist_frechet_distance",
                         **kwargs)
