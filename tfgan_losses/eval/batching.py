"""Running a classifier over many images, one batch at a time.

The classifier-based metrics (classifier score, Fréchet and kernel distances)
need the classifier's outputs on thousands of images. Feeding them all at once
can exhaust memory, so, like TF-GAN's `run_classifier_fn`, the images are split
into batches, the classifier runs on each batch in turn and the outputs are
concatenated.
"""

import numpy as np
import tensorflow as tf

from tfgan_losses.eval import _validation


def _with_num_examples(images):
    """Returns `images` as a sliceable array and its number of examples."""
    if not hasattr(images, "shape"):
        images = np.asarray(images)
    if len(images.shape) == 0:
        raise ValueError("`images` must have a leading batch axis, got a scalar.")
    num_images = _validation.num_rows(images, "images")
    if num_images == 0:
        raise ValueError("`images` must contain at least one example.")
    return images, num_images


def run_classifier_in_batches(images, classifier_fn, batch_size):
    """Runs `classifier_fn` on consecutive batches of `images`.

    The classifier sees one batch at a time, so its intermediate activations
    never hold more than `batch_size` examples; only its outputs are kept for
    all examples. The last batch is smaller when `batch_size` does not divide
    the number of images.

    Args:
      images: Array-like (numpy array or tensor) whose first axis indexes
        examples, e.g. images of shape [num_images, height, width, channels].
      classifier_fn: Callable mapping a `tf.Tensor` batch of examples to a tensor
        (or nested structure of tensors) whose first axis indexes the same
        examples, e.g. a Keras model returning logits or pooled activations.
      batch_size: Positive int, the number of examples per call to
        `classifier_fn`.

    Returns:
      The outputs of `classifier_fn` for all examples, concatenated along the
      first axis (same structure as one call's output).

    Raises:
      ValueError: If `images` has rank 0 or no example, or `batch_size` is not a
        positive integer.

    Example:
      >>> model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
      >>> logits = run_classifier_in_batches(images, model, batch_size=500)
    """
    images, num_images = _with_num_examples(images)
    _validation.check_positive_int(batch_size, "batch_size")

    outputs = [
        classifier_fn(tf.convert_to_tensor(images[start : start + batch_size]))
        for start in range(0, num_images, batch_size)
    ]
    return tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *outputs)


@_validation.accepts_aliases(input_tensor="images")
def run_classifier_fn(images, classifier_fn, num_batches=1):
    """Runs `classifier_fn` on `images` split into `num_batches` equal batches.

    This is TF-GAN's splitting rule (`tf.split(images, num_batches)`), used by
    every `classifier_fn`-based metric of this package.

    Args:
      images: Array-like whose first axis indexes examples. TF-GAN 2.1.0's
        keyword `input_tensor` is accepted as an alias (keyword only).
      classifier_fn: Callable mapping a batch of examples to outputs, see
        `run_classifier_in_batches`.
      num_batches: Positive int that divides the number of examples.

    Returns:
      The outputs of `classifier_fn` for all examples, concatenated along the
      first axis.

    Raises:
      ValueError: If `num_batches` is not a positive integer dividing the
        number of examples, or both `images` and `input_tensor` are passed.

    Example:
      >>> logits = run_classifier_fn(images, model, num_batches=20)
    """
    images, num_images = _with_num_examples(images)
    _validation.check_positive_int(num_batches, "num_batches")
    if num_images % num_batches:
        raise ValueError(
            f"`num_batches` ({num_batches}) must divide the number of images ({num_images})."
        )
    return run_classifier_in_batches(images, classifier_fn, batch_size=num_images // num_batches)
