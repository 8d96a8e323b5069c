"""Least-squares GAN losses.

Mao et al., "Least Squares Generative Adversarial Networks",
https://arxiv.org/abs/1611.04076. Replacing the sigmoid cross-entropy by a
squared error penalises samples far from the decision boundary even when they
are on its correct side; with labels a=0 (fake), b=1 (real), c=1 (the
generator's target) it minimises a Pearson chi-squared divergence when b - c = 1
and b - a = 2.

The TF1-only arguments `scope`, `loss_collection` and `add_summaries` are
accepted so TF-GAN code ports unchanged, and ignored.
"""

from keras import ops

from tfgan_losses.losses.reduction import (
    Reduction, check_compatible_shapes, compute_weighted_loss, to_float, to_floats)


def least_squares_generator_loss(
        discriminator_gen_outputs, real_label=1, weights=1.0, scope=None,
        loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """Least-squares generator loss, `L_G = 1/2 E[(D(G(z)) - c)^2]`, c = `real_label`.

    Args:
      discriminator_gen_outputs: Discriminator outputs on generated data (raw, not
        squashed), in (-inf, inf).
      real_label: The value c the generator wants D to output on its samples.
      weights: Scalar or per-element weights.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Example:
      >>> least_squares_generator_loss([0.0, 3.0])
      1.25  # (1/2 + 4/2) / 2
    """
    del scope, loss_collection, add_summaries
    gen = to_float(discriminator_gen_outputs)
    return compute_weighted_loss(ops.square(gen - real_label) / 2.0, weights, reduction)


def least_squares_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, real_label=1,
        fake_label=0, real_weights=1.0, generated_weights=1.0, scope=None,
        loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """Least-squares discriminator loss, `L_D = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]`.

    Args:
      discriminator_real_outputs: Discriminator outputs on real data.
      discriminator_gen_outputs: Discriminator outputs on generated data, same shape.
      real_label: Target b for real data.
      fake_label: Target a for generated data.
      real_weights: Scalar or per-element weights for the real term.
      generated_weights: Scalar or per-element weights for the generated term.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value, applied to each term separately.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the outputs' shapes differ.

    Example:
      >>> least_squares_discriminator_loss([1.0], [2.0])
      2.0  # 0 + 4/2
    """
    del scope, loss_collection, add_summaries
    real, gen = to_floats(discriminator_real_outputs, discriminator_gen_outputs)
    check_compatible_shapes(real, gen, "discriminator_real_outputs", "discriminator_gen_outputs")
    loss_on_real = compute_weighted_loss(
        ops.square(real - real_label) / 2.0, real_weights, reduction, "real_weights")
    loss_on_generated = compute_weighted_loss(
        ops.square(gen - fake_label) / 2.0, generated_weights, reduction, "generated_weights")
    return loss_on_real + loss_on_generated
