"""TF1's weighted cross-entropy losses, the building blocks of TF-GAN's losses.

`tf.compat.v1.losses.sigmoid_cross_entropy` and `softmax_cross_entropy` smooth
labels in their own ways and reduce with `compute_weighted_loss`; TF-GAN's
minimax, modified, ACGAN and relativistic losses inherit those quirks. This
module reproduces them with `keras.ops`.
"""

import numbers

from keras import ops

from tfgan_losses.losses.reduction import (
    Reduction, check_compatible_shapes, compute_weighted_loss, to_float)


def check_label_smoothing(label_smoothing):
    """Raises a `ValueError` unless a Python `label_smoothing` lies in [0, 1]."""
    if isinstance(label_smoothing, numbers.Real) and not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"`label_smoothing` must be in [0, 1]; got {label_smoothing}.")


def sigmoid_cross_entropy_with_logits(labels, logits):
    """Element-wise `-z log sigmoid(x) - (1 - z) log(1 - sigmoid(x))`, overflow-free.

    Computed as `max(x, 0) - x z + log(1 + exp(-|x|))`, the formula of
    `tf.nn.sigmoid_cross_entropy_with_logits`.
    """
    return (ops.maximum(logits, 0.0) - logits * labels
            + ops.log1p(ops.exp(-ops.abs(logits))))


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0,
                          label_smoothing=0.0,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
                          weights_name="weights"):
    """`tf.compat.v1.losses.sigmoid_cross_entropy`: smoothing toward 1/2, then weighting.

    Labels z become `z (1 - s) + s / 2` for `label_smoothing` s, so smoothing moves
    a real label 1 to `1 - s/2` (0.875 for TF-GAN's discriminator default 0.25).

    Args:
      multi_class_labels: Targets in [0, 1], the shape of `logits`.
      logits: Unbounded logits.
      weights: Scalar or broadcastable per-element weights.
      label_smoothing: Float in [0, 1].
      reduction: One of `Reduction`'s values.
      weights_name: The argument name used in error messages.

    Returns:
      The weighted, reduced loss.
    """
    check_label_smoothing(label_smoothing)
    logits = to_float(logits)
    labels = ops.cast(ops.convert_to_tensor(multi_class_labels), logits.dtype)
    check_compatible_shapes(labels, logits, "labels", "logits")
    labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
    losses = sigmoid_cross_entropy_with_logits(labels, logits)
    return compute_weighted_loss(losses, weights, reduction, weights_name)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0,
                          label_smoothing=0.0,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
                          weights_name="weights"):
    """`tf.compat.v1.losses.softmax_cross_entropy`: `-sum_k y_k log softmax(x)_k`.

    With `label_smoothing` s over K classes, labels become `y (1 - s) + s / K`.
    The per-example loss has the shape of `logits` without its last axis, which
    is the shape `weights` must broadcast to.

    Args:
      onehot_labels: One-hot (or soft) labels, the shape of `logits`; any dtype.
      logits: Class logits, classes on the last axis; rank >= 2 for batches,
        higher ranks for patches.
      weights: Scalar or weights broadcastable to `logits.shape[:-1]`.
      label_smoothing: Float in [0, 1].
      reduction: One of `Reduction`'s values.
      weights_name: The argument name used in error messages.

    Returns:
      The weighted, reduced loss.
    """
    check_label_smoothing(label_smoothing)
    logits = to_float(logits)
    labels = ops.cast(ops.convert_to_tensor(onehot_labels), logits.dtype)
    if len(labels.shape) != len(logits.shape):
        raise ValueError(
            f"`one_hot_labels` must have the rank of the logits ({len(logits.shape)}, "
            f"shape {tuple(logits.shape)}); got rank {len(labels.shape)}, shape "
            f"{tuple(labels.shape)}. Pass one-hot labels, not class indices.")
    check_compatible_shapes(labels, logits, "one_hot_labels", "logits")
    num_classes = ops.cast(ops.shape(logits)[-1], logits.dtype)
    labels = labels * (1.0 - label_smoothing) + label_smoothing / num_classes
    losses = -ops.sum(ops.stop_gradient(labels) * ops.log_softmax(logits, axis=-1), axis=-1)
    return compute_weighted_loss(losses, weights, reduction, weights_name)
