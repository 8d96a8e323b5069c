"""CycleGAN's cycle-consistency loss.

Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", https://arxiv.org/abs/1703.10593.
"""

from keras import ops

from tfgan_losses.losses.reduction import (check_compatible_shapes, compute_weighted_loss,
                                           to_floats)


def _mean_absolute_error(data, reconstructed, data_name, reconstructed_name):
    """TF1's `absolute_difference` with its defaults (an empty batch gives 0)."""
    check_compatible_shapes(data, reconstructed, data_name, reconstructed_name)
    return compute_weighted_loss(ops.abs(data - reconstructed))


def cycle_consistency_loss(data_x, reconstructed_data_x, data_y, reconstructed_data_y,
                           scope=None, add_summaries=False):
    """Cycle loss, `(mean|x - G(F(x))| + mean|y - F(G(y))|) / 2`.

    The L1 error is averaged over all elements (not summed), as in CycleGAN's
    code, so a loss weight does not depend on the image size.

    Args:
      data_x: Batch from domain X.
      reconstructed_data_x: `G(F(data_x))`, same shape as `data_x`.
      data_y: Batch from domain Y.
      reconstructed_data_y: `F(G(data_y))`, same shape as `data_y`.
      scope, add_summaries: TF1 arguments, ignored.

    Returns:
      A scalar loss.

    Raises:
      ValueError: If a batch and its reconstruction differ in shape.

    Example:
      >>> cycle_consistency_loss([1.0, 2.0], [2.0, 2.0], [0.0], [2.0])
      1.25  # (0.5 + 2) / 2
    """
    del scope, add_summaries
    data_x, reconstructed_data_x, data_y, reconstructed_data_y = to_floats(
        data_x, reconstructed_data_x, data_y, reconstructed_data_y)
    loss_x2x = _mean_absolute_error(data_x, reconstructed_data_x, "data_x", "reconstructed_data_x")
    loss_y2y = _mean_absolute_error(data_y, reconstructed_data_y, "data_y", "reconstructed_data_y")
    return (loss_x2x + loss_y2y) / 2.0
