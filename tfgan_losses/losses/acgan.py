"""Auxiliary-classifier GAN (ACGAN) losses.

Odena et al., "Conditional Image Synthesis With Auxiliary Classifier GANs",
https://arxiv.org/abs/1610.09585. The discriminator has a second head that
classifies images; both networks minimise its softmax cross-entropy on the
generator's conditioning labels, the discriminator on real data too. Add these
to an adversarial loss (for example `modified_*`).

The TF1-only arguments `scope`, `loss_collection` and `add_summaries` are
accepted so TF-GAN code ports unchanged, and ignored.
"""

from tfgan_losses.losses.cross_entropy import softmax_cross_entropy
from tfgan_losses.losses.reduction import Reduction, check_compatible_shapes, to_floats


def acgan_discriminator_loss(
        discriminator_real_classification_logits,
        discriminator_gen_classification_logits, one_hot_labels, label_smoothing=0.0,
        real_weights=1.0, generated_weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False):
    """ACGAN discriminator loss, `L = CE(y, C(G(z))) + CE(y_smoothed, C(x))`.

    `CE` is the softmax cross-entropy of the classification head C; label
    smoothing s (real term only) turns one-hot labels into `y (1 - s) + s / K`.

    Args:
      discriminator_real_classification_logits: Class logits on real data,
        shape [..., K].
      discriminator_gen_classification_logits: Class logits on generated data,
        same shape.
      one_hot_labels: One-hot labels (any numeric dtype) of the same shape.
      label_smoothing: Smoothing of the real term's labels, in [0, 1]
        (https://arxiv.org/abs/1701.00160).
      real_weights: Scalar or weights broadcastable to the logits' shape
        without the class axis.
      generated_weights: Same for the generated term.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value, applied to each term separately.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the logits' shapes differ, or `one_hot_labels` has another
        rank or shape.

    Example:
      >>> acgan_discriminator_loss([[0.0, 0.0]], [[0.0, 0.0]], [[1, 0]])
      1.3862944  # 2 log 2
    """
    del scope, loss_collection, add_summaries
    real, gen = to_floats(discriminator_real_classification_logits,
                          discriminator_gen_classification_logits)
    check_compatible_shapes(real, gen, "discriminator_real_classification_logits",
                            "discriminator_gen_classification_logits")
    loss_on_generated = softmax_cross_entropy(
        one_hot_labels, gen, generated_weights, 0.0, reduction, "generated_weights")
    loss_on_real = softmax_cross_entropy(
        one_hot_labels, real, real_weights, label_smoothing, reduction, "real_weights")
    return loss_on_generated + loss_on_real


def acgan_generator_loss(
        discriminator_gen_classification_logits, one_hot_labels, weights=1.0,
        scope=None, loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """ACGAN generator loss, `L = CE(y, C(G(z, y)))`: make samples classifiable as y.

    Args:
      discriminator_gen_classification_logits: Class logits on generated data,
        shape [..., K].
      one_hot_labels: One-hot labels (any numeric dtype) of the same shape.
      weights: Scalar or weights broadcastable to the logits' shape without the
        class axis.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If `one_hot_labels` has another rank or shape than the logits.

    Example:
      >>> acgan_generator_loss([[0.0, 0.0]], [[0, 1]])
      0.6931472  # log 2
    """
    del scope, loss_collection, add_summaries
    return softmax_cross_entropy(
        one_hot_labels, discriminator_gen_classification_logits, weights, 0.0, reduction)
