"""Combining a main loss with an adversarial loss, by weight or by gradient ratio.

TF-GAN's `combine_adversarial_loss` found the gradients with `tf.gradients`,
which only works in TF1 graphs. Here the gradient-ratio mode gets them in one
of three ways, tried in this order:

1. `main_loss` and `adversarial_loss` are zero-argument callables: each is
   evaluated and differentiated here, on every backend (the natural form).
   On TensorFlow, without `variables`, the trainable variables they read are
   used; JAX and PyTorch need `variables`.
2. `tape=` is a *persistent* `tf.GradientTape` that recorded both losses
   (TensorFlow).
3. Inside a `tf.function` (graph mode), `tf.gradients` works as in TF1.

With plain tensors otherwise (eagerly, or on JAX and PyTorch) the gradients are
lost; that raises a `RuntimeError` saying so. The weight-factor mode needs no
gradients and works everywhere.
"""

import logging
import math
import numbers

import keras
from keras import ops

from tfgan_losses.gradients import value_and_gradients


def numerically_stable_global_norm(tensor_list):
    """Global L2 norm of a list of tensors, `m * ||x / m||` with `m = max |x|`.

    Scaling by the largest magnitude first avoids the overflow of squaring large
    entries. `None` entries (variables without gradient) are skipped; all-`None`
    or all-zero lists give 0.

    Args:
      tensor_list: List of tensors or `None`.

    Returns:
      A scalar tensor.

    Example:
      >>> numerically_stable_global_norm([tf.ones([4]) * 1e20])
      2e20  # tf.linalg.global_norm overflows to inf here
    """
    tensors = [ops.convert_to_tensor(x) for x in tensor_list if x is not None]
    if not tensors:
        return ops.convert_to_tensor(0.0)
    largest = ops.max(ops.stack([ops.max(ops.abs(x)) for x in tensors]))
    scaled_squares = [ops.sum(ops.square(ops.divide_no_nan(x, largest))) for x in tensors]
    return largest * ops.sqrt(ops.sum(ops.stack(scaled_squares)))


def _static_value(value):
    """Returns `value` as a Python number when known without running, else None."""
    if isinstance(value, numbers.Real):
        return value
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf.get_static_value(tf.convert_to_tensor(value))
    try:
        return float(ops.convert_to_numpy(value))
    except Exception:  # A traced value (jit): not known without running.  # pylint: disable=broad-except
        return None


def _validate_args(weight_factor, gradient_ratio, gradient_ratio_epsilon):
    if weight_factor is None and gradient_ratio is None:
        raise ValueError("`weight_factor` and `gradient_ratio` cannot both be `None`.")
    if weight_factor is not None and gradient_ratio is not None:
        raise ValueError("`weight_factor` and `gradient_ratio` cannot both be specified.")
    if isinstance(gradient_ratio_epsilon, numbers.Real) and gradient_ratio_epsilon < 0:
        raise ValueError(
            f"`gradient_ratio_epsilon` must be >= 0; got {gradient_ratio_epsilon}.")


def _must_reduce_to_batch(main_loss, adversarial_loss):
    """Whether the losses' shapes are incompatible, so both are mean-reduced to [batch]."""
    main_shape, adv_shape = tuple(main_loss.shape), tuple(adversarial_loss.shape)
    if len(main_shape) == len(adv_shape) and all(
            a is None or b is None or a == b for a, b in zip(main_shape, adv_shape)):
        return False
    if not main_shape or not adv_shape or main_shape[0] != adv_shape[0]:
        raise ValueError(
            "`main_loss` and `adversarial_loss` must have the same sized first dimension "
            f"when their shapes differ; got shapes {main_shape} and {adv_shape}.")
    logging.warning(
        "combine_adversarial_loss: mean-reducing main_loss %s and adversarial_loss %s to "
        "their batch dimension to make their shapes compatible.", main_shape, adv_shape)
    return True


def _batch_mean(loss):
    return ops.mean(loss, axis=tuple(range(1, len(loss.shape))))


def _gradient_magnitudes(main_loss, adversarial_loss, variables, tape):
    """Returns the global gradient norms of both losses with respect to `variables`."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "combine_adversarial_loss(gradient_ratio=...) cannot differentiate tensors on "
            f"the {keras.backend.backend()!r} backend: pass the losses as zero-argument "
            "callables, with `variables`.")
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if tape is not None:
        if variables is None:
            variables = tape.watched_variables()
        try:
            main_grads = tape.gradient(main_loss, variables)
            adv_grads = tape.gradient(adversarial_loss, variables)
        except RuntimeError as error:
            raise RuntimeError(
                "combine_adversarial_loss needs a persistent tape "
                "(tf.GradientTape(persistent=True)) to take two gradients.") from error
    elif not tf.executing_eagerly():
        if variables is None:
            raise ValueError(
                "Pass `variables` to combine_adversarial_loss inside tf.function: TF2 "
                "keeps no global collection of trainable variables.")
        main_grads = tf.gradients(main_loss, variables)
        adv_grads = tf.gradients(adversarial_loss, variables)
    else:
        raise RuntimeError(
            "combine_adversarial_loss(gradient_ratio=...) cannot differentiate plain "
            "eager tensors. Pass the losses as zero-argument callables, pass a "
            "persistent `tape=` that recorded them, or call it inside tf.function.")
    return (numerically_stable_global_norm(main_grads),
            numerically_stable_global_norm(adv_grads))


def _losses_and_magnitudes(main_loss_fn, adversarial_loss_fn, variables):
    """Evaluates both loss callables and the global norms of their (summed) gradients
    with respect to `variables`, through the backend's own gradient."""
    if variables is None:
        raise ValueError(
            "combine_adversarial_loss(gradient_ratio=...) needs `variables` on the "
            f"{keras.backend.backend()!r} backend: only TensorFlow's tape can find the "
            "variables that the loss callables read.")
    losses, magnitudes = [], []
    for loss_fn in (main_loss_fn, adversarial_loss_fn):
        def summed_and_loss(loss_fn=loss_fn):
            loss = ops.convert_to_tensor(loss_fn())
            return ops.sum(loss), loss

        (_, loss), gradients = value_and_gradients(summed_and_loss, variables,
                                                   differentiable_outputs=True)
        losses.append(loss)
        magnitudes.append(numerically_stable_global_norm(gradients))
    return losses, magnitudes


def combine_adversarial_loss(
        main_loss, adversarial_loss, weight_factor=None, gradient_ratio=None,
        gradient_ratio_epsilon=1e-6, variables=None, scalar_summaries=True,
        gradient_summaries=True, scope=None, tape=None):
    """Combines `L_main + lambda L_adv`, with lambda fixed or set by a gradient ratio.

    * `weight_factor` w: `lambda = w`.
    * `gradient_ratio` r: `lambda = (||grad L_main|| / (||grad L_adv|| + eps)) / r`,
      so that `||grad L_main|| / ||lambda grad L_adv|| ~ r` (as in
      https://arxiv.org/abs/1705.05823). Gradient norms are global norms over
      `variables`.

    lambda is wrapped in `stop_gradient`. A weight known to be 0 returns
    `main_loss` without touching the adversarial loss or any gradient.

    Args:
      main_loss: Float tensor, or a zero-argument callable returning one.
      adversarial_loss: Float tensor (or callable) with the same first
        dimension; incompatible shapes are both mean-reduced to [batch].
      weight_factor: The fixed coefficient w. Exactly one of this and
        `gradient_ratio` must be given.
      gradient_ratio: The target ratio r of gradient magnitudes.
      gradient_ratio_epsilon: eps >= 0, keeps the division finite.
      variables: Variables for the gradient norms; defaults to those the
        callables read, or `tape.watched_variables()`.
      scalar_summaries, gradient_summaries, scope: TF1 arguments, ignored.
      tape: Optional persistent `tf.GradientTape` that recorded both losses.

    Returns:
      The combined loss: a scalar for scalar losses, else shape [batch].

    Raises:
      ValueError: Both or neither of `weight_factor` and `gradient_ratio` given,
        negative epsilon, or first dimensions that differ.
      RuntimeError: Gradient-ratio mode on eager tensors without a way to get
        gradients (see the module docstring).

    Example:
      >>> v = tf.Variable(1.0)
      >>> combine_adversarial_loss(lambda: 2 * v, lambda: 3 * v, gradient_ratio=0.5)
      6.0  # lambda = (2 / 3) / 0.5 = 4/3, so 2 + 4/3 * 3
    """
    del scalar_summaries, gradient_summaries, scope
    _validate_args(weight_factor, gradient_ratio, gradient_ratio_epsilon)
    magnitudes = None
    if callable(main_loss) or callable(adversarial_loss):
        if not (callable(main_loss) and callable(adversarial_loss)):
            raise ValueError(
                "`main_loss` and `adversarial_loss` must both be callables or both tensors.")
        if gradient_ratio is None:
            main_loss, adversarial_loss = main_loss(), adversarial_loss()
        elif keras.backend.backend() == "tensorflow":
            import tensorflow as tf  # pylint: disable=import-outside-toplevel

            with tf.GradientTape(persistent=True) as tape:
                if variables is not None:  # Keras variables too: the tape takes their value.
                    tape.watch([getattr(v, "value", v) for v in variables])
                main_loss, adversarial_loss = main_loss(), adversarial_loss()
        else:
            (main_loss, adversarial_loss), magnitudes = _losses_and_magnitudes(
                main_loss, adversarial_loss, variables)
    main_loss = ops.convert_to_tensor(main_loss)
    adversarial_loss = ops.convert_to_tensor(adversarial_loss)
    reduce_to_batch = _must_reduce_to_batch(main_loss, adversarial_loss)

    if _static_value(weight_factor if weight_factor is not None else gradient_ratio) == 0:
        return _batch_mean(main_loss) if reduce_to_batch else main_loss
    if weight_factor is not None:
        coefficient = ops.cast(weight_factor, adversarial_loss.dtype)
    else:
        # Differentiated before the reduction, which the tape may not have recorded.
        main_magnitude, adv_magnitude = magnitudes or _gradient_magnitudes(
            main_loss, adversarial_loss, variables, tape)
        if reduce_to_batch:
            # A per-example mean's gradient is the sum's divided by the example's size.
            main_magnitude /= math.prod(main_loss.shape[1:])
            adv_magnitude /= math.prod(adversarial_loss.shape[1:])
        coefficient = main_magnitude / (adv_magnitude + gradient_ratio_epsilon) / gradient_ratio
        coefficient = ops.cast(coefficient, adversarial_loss.dtype)
    if reduce_to_batch:
        main_loss, adversarial_loss = _batch_mean(main_loss), _batch_mean(adversarial_loss)
    return main_loss + ops.stop_gradient(coefficient) * adversarial_loss
