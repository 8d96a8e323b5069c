"""TF-GAN's loss reductions: how per-element losses become one number.

TF-GAN reduces every loss with `tf.compat.v1.losses.compute_weighted_loss`,
whose default, `SUM_BY_NONZERO_WEIGHTS`, divides the weighted sum by the number
of elements whose weight is not zero. Keras 3 has no such reduction, so this
module re-implements TF1's reductions with `keras.ops`, value for value.
"""

import keras
from keras import ops


class Reduction:
    """The reduction modes of `tf.compat.v1.losses.Reduction`, same string values.

    With per-element losses `l` and weights `w` broadcast to the shape of `l`:

    * `NONE`: `w * l`, unreduced.
    * `SUM`: `sum(w * l)`.
    * `MEAN`: `sum(w * l) / sum(w)`.
    * `SUM_OVER_BATCH_SIZE`: `sum(w * l) / size(l)`.
    * `SUM_BY_NONZERO_WEIGHTS` (TF-GAN's default): `sum(w * l) / count(w != 0)`.
    * `SUM_OVER_NONZERO_WEIGHTS`: alias of `SUM_BY_NONZERO_WEIGHTS`.

    Every division is "no NaN": a zero denominator gives a loss of 0, as in TF1.
    The string values equal TF1's, so `tf.compat.v1.losses.Reduction.NONE` and
    `tfgan_losses.Reduction.NONE` are interchangeable.
    """

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        """Returns the tuple of valid reduction strings."""
        return (cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE, cls.MEAN,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, reduction):
        """Returns `reduction` if valid, else raises a `ValueError` listing the options."""
        if reduction not in cls.all():
            raise ValueError(
                f"Invalid `reduction`={reduction!r}; expected one of {cls.all()} "
                "(the values of tfgan_losses.Reduction / tf.compat.v1.losses.Reduction).")
        return reduction


def to_float(x):
    """Converts `x` to a float tensor: float64 stays float64, anything else becomes float32.

    Losses are computed in float32 even when a network runs in float16 or bfloat16
    (mixed precision), as TF-GAN's `_to_float` does.
    """
    x = ops.convert_to_tensor(x)
    if keras.backend.standardize_dtype(x.dtype) == "float64":
        return x
    return ops.cast(x, "float32")


def to_floats(*values):
    """`to_float` for inputs combined in one loss: float64 if any of them is float64.

    TF-GAN casts every input to float32; float64 data (numpy's default) beside a
    float32 network output is computed in float64 here, as a float64 input alone is.
    """
    values = [to_float(value) for value in values]
    if any(keras.backend.standardize_dtype(value.dtype) == "float64" for value in values):
        return [ops.cast(value, "float64") for value in values]
    return values


def check_compatible_shapes(x, y, x_name, y_name):
    """Raises a `ValueError` unless `x` and `y` have compatible static shapes.

    Shapes are compatible when they have the same rank and every pair of known
    dimensions is equal; unknown (`None`) dimensions match anything.
    """
    x_shape, y_shape = tuple(x.shape), tuple(y.shape)
    compatible = len(x_shape) == len(y_shape) and all(
        a is None or b is None or a == b for a, b in zip(x_shape, y_shape))
    if not compatible:
        raise ValueError(
            f"`{x_name}` and `{y_name}` must have the same shape; got {x_shape} "
            f"and {y_shape}.")


def check_weights_broadcastable(weights, values, weights_name="weights"):
    """Raises a `ValueError` unless `weights` may weight `values` the TF1 way.

    As in `tf.compat.v1.losses.compute_weighted_loss`, weights are a scalar, or
    have the rank of `values` with every dimension 1 or equal to the
    corresponding dimension of `values`.
    """
    w_shape, v_shape = tuple(weights.shape), tuple(values.shape)
    if not w_shape:
        return
    ok = len(w_shape) == len(v_shape) and all(
        w is None or v is None or w in (1, v) for w, v in zip(w_shape, v_shape))
    if not ok:
        raise ValueError(
            f"`{weights_name}` of shape {w_shape} cannot weight losses of shape "
            f"{v_shape}: it must be a scalar or have rank {len(v_shape)} with "
            "each dimension 1 or equal to the loss's.")


def compute_weighted_loss(losses, weights=1.0,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
                          weights_name="weights"):
    """Weights and reduces per-element losses exactly as TF1's `compute_weighted_loss`.

    Args:
      losses: Float tensor of per-element losses, any shape.
      weights: Scalar, or tensor of the rank of `losses` whose dimensions are 1
        or equal to those of `losses`. Zero weights drop elements, and with
        `SUM_BY_NONZERO_WEIGHTS` do not count in the denominator.
      reduction: One of `Reduction`'s values.
      weights_name: The argument name used in error messages.

    Returns:
      The reduced loss: a scalar, or the weighted losses for `Reduction.NONE`.

    Example:
      >>> compute_weighted_loss([1.0, 2.0, 3.0], weights=[1.0, 0.0, 1.0])
      2.0  # (1 + 3) / 2 non-zero weights
    """
    reduction = Reduction.validate(reduction)
    losses = to_float(losses)
    weights = ops.cast(ops.convert_to_tensor(weights), losses.dtype)
    check_weights_broadcastable(weights, losses, weights_name)
    weighted_losses = losses * weights
    if reduction == Reduction.NONE:
        return weighted_losses
    total = ops.sum(weighted_losses)
    if reduction == Reduction.SUM:
        return total
    if reduction == Reduction.MEAN:
        denominator = ops.sum(ops.ones_like(losses) * weights)
    elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
        denominator = ops.cast(ops.size(losses), losses.dtype)
    else:  # SUM_BY_NONZERO_WEIGHTS
        nonzero = ops.cast(ops.not_equal(weights, 0), losses.dtype)
        denominator = ops.sum(ops.ones_like(losses) * nonzero)
    return _divide_no_nan(total, denominator)


def _divide_no_nan(numerator, denominator):
    """`numerator / denominator`, 0 where the denominator is 0, in the inputs' precision
    (Keras's PyTorch `ops.divide_no_nan` computes float64 in float32)."""
    zero = ops.equal(denominator, 0)
    quotient = numerator / ops.where(zero, ops.ones_like(denominator), denominator)
    return ops.where(zero, ops.zeros_like(quotient), quotient)
