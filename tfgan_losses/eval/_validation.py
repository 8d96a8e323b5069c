"""Argument checks shared by the evaluation metrics.

Every check raises a `ValueError` that names the offending argument, so that a
bad call fails at once with a readable message instead of deep inside a
TensorFlow kernel.
"""

import tensorflow as tf


def check_positive_int(value, name):
    """Raises unless `value` is a Python (or numpy) integer >= 1."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def num_rows(tensor, name):
    """Returns the statically known size of the first axis of `tensor`."""
    rows = tensor.shape[0]
    if rows is None:
        raise ValueError(
            f"`{name}` must have a statically known first dimension (always the "
            f"case in eager mode), got shape {tensor.shape}."
        )
    return rows


def as_float_matrix(values, name):
    """Converts `values` to a rank-2 floating-point tensor [num_samples, dim].

    Args:
      values: Array-like of shape [num_samples, dim].
      name: Argument name used in error messages.

    Returns:
      A `tf.Tensor` with the dtype of `values`.

    Raises:
      ValueError: If `values` is not rank 2, not floating point, or empty.
    """
    tensor = tf.convert_to_tensor(values)
    if tensor.shape.rank != 2:
        raise ValueError(
            f"`{name}` must be a rank-2 tensor [num_samples, dim], got shape {tensor.shape}."
        )
    if not tensor.dtype.is_floating:
        raise ValueError(f"`{name}` must have a floating-point dtype, got {tensor.dtype.name}.")
    if num_rows(tensor, name) == 0:
        raise ValueError(f"`{name}` must contain at least one sample.")
    return tensor


def check_same_dim(tensor1, tensor2, name1, name2):
    """Raises unless two [num_samples, dim] tensors share their `dim`."""
    if tensor1.shape[1] != tensor2.shape[1]:
        raise ValueError(
            f"`{name1}` and `{name2}` must have the same feature dimension, got "
            f"{tensor1.shape[1]} and {tensor2.shape[1]}."
        )


def check_min_rows(tensor, name, minimum, reason):
    """Raises unless `tensor` has at least `minimum` rows."""
    rows = num_rows(tensor, name)
    if rows < minimum:
        raise ValueError(f"`{name}` needs at least {minimum} samples {reason}, got {rows}.")
