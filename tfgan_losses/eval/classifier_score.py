"""Classifier score: the Inception score for an arbitrary classifier.

Salimans et al., "Improved Techniques for Training GANs",
https://arxiv.org/abs/1606.03498.
"""

import tensorflow as tf

from tfgan_losses.eval import _validation, batching


def classifier_score_from_logits(logits):
    """Classifier score of precomputed logits.

    With p(y|x) = softmax(logits) for each example and the marginal
    p(y) = mean_x p(y|x), the score is

        exp( E_x[ KL(p(y|x) || p(y)) ] )
          = exp( mean_x sum_y p(y|x) (log_softmax(logits)_y - log p(y)) ).

    It lies in [1, num_classes]: 1 when every example gets the same prediction,
    num_classes when every example is classified with certainty and the classes
    are equally frequent. As in TF-GAN, the computation runs in float64 (log
    probabilities from `log_softmax` for stability) and the result is cast back
    to the dtype of `logits`. The result does not depend on how the logits were
    batched.

    Args:
      logits: Floating-point array-like of shape [num_examples, num_classes],
        num_examples >= 1.

    Returns:
      The classifier score, a scalar tensor with the dtype of `logits`.

    Raises:
      ValueError: If `logits` is not a non-empty rank-2 floating-point array.

    Example:
      >>> classifier_score_from_logits([[10.0, 0.0], [0.0, 10.0]])  # ~2.0
    """
    logits = _validation.as_float_matrix(logits, "logits")
    logits64 = tf.cast(logits, tf.float64)
    log_p = tf.nn.log_softmax(logits64)
    # log p(y) = log mean_x p(y|x), in log space: finite even where p(y) underflows.
    log_marginal = (tf.reduce_logsumexp(log_p, axis=0)
                    - tf.math.log(tf.cast(tf.shape(log_p)[0], tf.float64)))
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_marginal), axis=1)
    return tf.cast(tf.exp(tf.reduce_mean(kl)), logits.dtype)


@_validation.accepts_aliases(input_tensor="images")
def classifier_score(images, classifier_fn, num_batches=1):
    """Classifier score of a classifier's predictions on `images`.

    Runs `classifier_fn` on `images` split into `num_batches` batches (so that
    large image sets fit in memory), then returns
    `classifier_score_from_logits` of the concatenated logits:

        exp( E_x[ KL(p(y|x) || p(y)) ] ),   https://arxiv.org/abs/1606.03498.

    Args:
      images: Array-like of inputs for `classifier_fn`, first axis indexing
        examples (e.g. [num_images, height, width, channels]). TF-GAN 2.1.0's
        keyword `input_tensor` is accepted as an alias (keyword only).
      classifier_fn: Callable mapping a batch of images to logits of shape
        [batch_size, num_classes], e.g. a Keras classifier without softmax.
      num_batches: Positive int dividing the number of images.

    Returns:
      The classifier score, a scalar tensor with the dtype of the logits.

    Raises:
      ValueError: If `num_batches` does not divide the number of images, the
        logits are not rank-2 floating point, or both `images` and
        `input_tensor` are passed.

    Example:
      >>> score = classifier_score(generated_images, mnist_classifier,
      ...                          num_batches=10)
    """
    logits = batching.run_classifier_fn(images, classifier_fn, num_batches)
    return classifier_score_from_logits(logits)
