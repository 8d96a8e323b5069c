"""The WGAN-GP gradient penalty on every Keras backend: eager, compiled and XLA.

Gulrajani et al., "Improved Training of Wasserstein GANs",
https://arxiv.org/abs/1704.00028. A differentiable critic is 1-Lipschitz iff
its gradient norm is at most 1 everywhere; WGAN-GP penalises the norm's
distance from 1 on random points between real and generated samples.

TF-GAN's version uses `tf.gradients` and fails eagerly; this one takes the
inner gradient with each backend's own (`tfgan_losses.gradients.input_gradients`:
`tf.GradientTape`, `jax.grad` over a stateless call,
`torch.autograd.grad(..., create_graph=True)`), so it works eagerly, compiled
and with XLA, and stays differentiable with respect to the critic's variables
(as a training step needs).
It fixes the bugs of Keras's GAN examples: the interpolation weight is uniform
in [0, 1], one per example, and `epsilon` sits inside the square root.
"""

import contextlib
import numbers

import keras
from keras import ops

from tfgan_losses.distribute import replica_slice_draw
from tfgan_losses.gradients import input_gradients
from tfgan_losses.losses.reduction import (
    Reduction, check_compatible_shapes, compute_weighted_loss, to_float)


MAX_GRADIENT_SCALE = 2.0 ** 10
"""Cap of `gradient_scale`: the inner gradient's seed is the scale for every example,
and a full loss scale (2**15 and up) overflows float16 (max 65504) on its way back
through the critic; 2**10 still lifts per-example input gradients out of float16's
underflow range."""


def _check_positive_number(value, name, allow_zero):
    if isinstance(value, numbers.Real) and (value < 0 or (value == 0 and not allow_zero)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be {bound}; got {value}.")


def _critic_gradients(discriminator_fn, interpolates, generator_inputs, discriminator_scope,
                      gradient_scale):
    """Returns d(sum of the critic's first output)/d(interpolates).

    The outputs are multiplied by `gradient_scale` (at most `MAX_GRADIENT_SCALE`)
    before differentiation and the gradients divided by it after, so that
    float16 gradients do not underflow under mixed precision (pass the loss
    scale).
    """
    if gradient_scale is not None:
        gradient_scale = ops.minimum(ops.cast(gradient_scale, "float32"), MAX_GRADIENT_SCALE)

    def critic(inputs):
        with _variable_scope(discriminator_scope):
            outputs = discriminator_fn(inputs, generator_inputs)
        if isinstance(outputs, (tuple, list)):  # e.g. ACGAN: (logits, class logits)
            outputs = outputs[0]
        if gradient_scale is not None:
            outputs = ops.cast(outputs, "float32") * gradient_scale
        return outputs

    gradients = input_gradients(critic, interpolates)
    if gradients is None:
        raise ValueError("The output of `discriminator_fn` does not depend on its input data, "
                         "so it has no gradient to penalise.")
    gradients = to_float(gradients)  # The norm is computed in float32 at least.
    if gradient_scale is not None:
        gradients = gradients / ops.cast(gradient_scale, gradients.dtype)
    return gradients


def _variable_scope(discriminator_scope):
    """TF1's variable scope `discriminator_scope`, reused (TensorFlow only), or a no-op."""
    if discriminator_scope is None:
        return contextlib.nullcontext()
    if keras.backend.backend() != "tensorflow":
        raise ValueError("`discriminator_scope` is a TF1 variable scope, which exists on the "
                         f"TensorFlow backend only; got it on {keras.backend.backend()!r}.")
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.compat.v1.variable_scope(discriminator_scope, reuse=tf.compat.v1.AUTO_REUSE)


def _rank(tensor):
    """The rank of `tensor`, or None where it is unknown (a TensorFlow graph)."""
    try:
        return len(tensor.shape)
    except ValueError:
        return None


def _uniform(shape, dtype, seed):
    """U[0, 1) draws; without a seed on TensorFlow, from its stateful op as TF-GAN draws
    them (Keras's unseeded draws keep their state in a variable, which a second TF1
    graph cannot use)."""
    if seed is None and keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf.random.uniform(shape, dtype=dtype)
    return keras.random.uniform(shape, dtype=dtype, seed=seed)


def wasserstein_gradient_penalty(
        real_data, generated_data, generator_inputs=None, discriminator_fn=None,
        discriminator_scope=None, epsilon=1e-10, target=1.0, one_sided=False,
        weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False, seed=None,
        gradient_scale=None):
    """WGAN-GP penalty, `E[(sqrt(||grad D(x_hat)||^2 + eps) / target - 1)^2]`.

    `x_hat = x + alpha (G(z) - x)` with one `alpha ~ U[0, 1]` per example; the
    norm runs over all non-batch axes. With `one_sided=True` only norms above
    the target are penalised, `max(0, norm / target - 1)^2`
    (Petzka et al., https://arxiv.org/abs/1709.08894).

    Args:
      real_data: Real batch, shape [batch, ...] of known rank.
      generated_data: Generated batch of the same shape.
      generator_inputs: Passed to `discriminator_fn` as its second argument
        (conditioning, as in TF-GAN); may be None.
      discriminator_fn: Callable `(inputs, generator_inputs) -> outputs`; if it
        returns a tuple or list, element 0 is the critic's output. Wrap a Keras
        model as `lambda x, _: critic(x, training=True)`.
      discriminator_scope: Optional TF1 variable scope to reuse, for TF1-style
        discriminators built with `tf.compat.v1.get_variable`; None for Keras.
      epsilon: Added to the squared norm before the square root, >= 0.
      target: Target gradient norm, > 0 (default 1).
      one_sided: Penalise only norms above the target.
      weights: Scalar or per-example weights, shape [batch].
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value over the per-example penalties.
      seed: Optional `keras.random.SeedGenerator` or int for the interpolation
        weights; training steps pass their model's generator. Under
        `tf.distribute` each replica takes its slice of one draw for the
        global batch (see `tfgan_losses.distribute`).
      gradient_scale: Optional factor (the loss scale under `mixed_float16`),
        capped at `MAX_GRADIENT_SCALE`: the critic's outputs are multiplied by
        it before the inner gradient and the gradient divided by it after, so
        float16 gradients do not underflow; the penalty's value is unchanged.

    Returns:
      The penalty, a scalar unless `reduction` is `Reduction.NONE` ([batch]).

    Raises:
      ValueError: If `discriminator_fn` is not callable or its output does not
        depend on its input, the data's ranks are unknown or shapes differ,
        `epsilon` < 0 or `target` <= 0.

    Example:
      >>> # The critic D(x) = 2 sum(x) has gradient norm 2 * sqrt(4) = 4 on 4 features.
      >>> wasserstein_gradient_penalty(
      ...     tf.ones([1, 4]), tf.zeros([1, 4]),
      ...     discriminator_fn=lambda x, _: 2.0 * tf.reduce_sum(x, axis=1))
      9.0  # (4 - 1)^2
    """
    del scope, loss_collection, add_summaries
    if not callable(discriminator_fn):
        raise ValueError(
            "`discriminator_fn` must be a callable (inputs, generator_inputs) -> "
            f"outputs; got {discriminator_fn!r}.")
    _check_positive_number(epsilon, "epsilon", allow_zero=True)
    _check_positive_number(target, "target", allow_zero=False)
    real_data = ops.convert_to_tensor(real_data)
    generated_data = ops.cast(ops.convert_to_tensor(generated_data), real_data.dtype)
    for name, data in (("real_data", real_data), ("generated_data", generated_data)):
        if _rank(data) is None:
            raise ValueError(f"`{name}` can't have unknown rank.")
    check_compatible_shapes(real_data, generated_data, "real_data", "generated_data")

    differences = generated_data - real_data
    rank = len(differences.shape)
    alpha = replica_slice_draw(
        lambda n: _uniform((n,) + (1,) * (rank - 1), differences.dtype, seed),
        ops.shape(differences)[0])
    interpolates = real_data + alpha * differences

    gradients = _critic_gradients(
        discriminator_fn, interpolates, generator_inputs, discriminator_scope, gradient_scale)
    gradient_squares = ops.sum(ops.square(gradients), axis=tuple(range(1, rank)))
    slopes = ops.sqrt(gradient_squares + epsilon)
    penalties = slopes / target - 1.0
    if one_sided:
        penalties = ops.relu(penalties)  # max(0, x); keeps float64 on every backend.
    return compute_weighted_loss(ops.square(penalties), weights, reduction)
