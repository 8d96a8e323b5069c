"""Relativistic average GAN (RaSGAN) losses.

Jolicoeur-Martineau, "The relativistic discriminator: a key element missing
from standard GAN", https://arxiv.org/abs/1807.00734. The discriminator judges
whether real data is more realistic than generated data on average, through
the relativistic logits

    D_ra(x_r, x_f) = D(x_r) - E[D(x_f)],    D_ra(x_f, x_r) = D(x_f) - E[D(x_r)],

where the means run over the whole batch (all elements, for patch outputs).
Both losses are sigmoid cross-entropies on these logits with swapped targets;
the generator's loss depends on real data too.

TF-GAN's signature is `(discriminator_real_outputs, discriminator_gen_outputs,
scope=None)` with plain means; the optional `real_weights`,
`generated_weights` and `reduction` here default to exactly that.
"""

from keras import ops

from tfgan_losses.losses.cross_entropy import sigmoid_cross_entropy
from tfgan_losses.losses.reduction import Reduction, check_compatible_shapes, to_floats


def _relativistic_loss(discriminator_real_outputs, discriminator_gen_outputs, real_target,
                       real_weights, generated_weights, reduction):
    """Sigmoid cross-entropies of the relativistic logits `D(x_r) - mean D(x_f)` (target
    `real_target`) and `D(x_f) - mean D(x_r)` (target `1 - real_target`), summed."""
    real, gen = to_floats(discriminator_real_outputs, discriminator_gen_outputs)
    check_compatible_shapes(real, gen, "discriminator_real_outputs", "discriminator_gen_outputs")
    real_logits, gen_logits = real - ops.mean(gen), gen - ops.mean(real)
    loss_on_real = sigmoid_cross_entropy(
        ops.full_like(real_logits, real_target), real_logits, real_weights, 0.0, reduction,
        "real_weights")
    loss_on_generated = sigmoid_cross_entropy(
        ops.full_like(gen_logits, 1.0 - real_target), gen_logits, generated_weights, 0.0,
        reduction, "generated_weights")
    return loss_on_real + loss_on_generated


def relativistic_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, scope=None,
        real_weights=1.0, generated_weights=1.0,
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """RaSGAN discriminator loss, `-E[log sigmoid(D_ra(x_r, x_f))] - E[log(1 - sigmoid(D_ra(x_f, x_r)))]`.

    Args:
      discriminator_real_outputs: Logits on real data, in (-inf, inf).
      discriminator_gen_outputs: Logits on generated data, same shape.
      scope: TF1 argument, ignored.
      real_weights: Scalar or per-element weights for the real term.
      generated_weights: Scalar or per-element weights for the generated term.
      reduction: A `Reduction` value, applied to each term separately.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the outputs' shapes differ.

    Example:
      >>> relativistic_discriminator_loss([1.0, 1.0], [1.0, 1.0])
      1.3862944  # equal outputs: 2 log 2
    """
    del scope
    return _relativistic_loss(discriminator_real_outputs, discriminator_gen_outputs,
                              1.0, real_weights, generated_weights,
                              reduction)


def relativistic_generator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, scope=None,
        real_weights=1.0, generated_weights=1.0,
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """RaSGAN generator loss, `-E[log(1 - sigmoid(D_ra(x_r, x_f)))] - E[log sigmoid(D_ra(x_f, x_r))]`.

    The discriminator's loss with the targets swapped: the generator makes its
    samples look more realistic than real data, on average.

    Args: as `relativistic_discriminator_loss`.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the outputs' shapes differ.

    Example:
      >>> relativistic_generator_loss([1.0, 1.0], [1.0, 1.0])
      1.3862944
    """
    del scope
    return _relativistic_loss(discriminator_real_outputs, discriminator_gen_outputs,
                              0.0, real_weights, generated_weights,
                              reduction)
