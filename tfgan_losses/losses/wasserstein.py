"""Wasserstein GAN losses and their hinge variant.

The critic D estimates the Wasserstein-1 distance between the data and the
generator's distribution through the Kantorovich-Rubinstein duality,
`W(P_r, P_g) = sup_{||D||_L <= 1} E_{P_r}[D(x)] - E_{P_g}[D(x)]`. The losses
below are that objective with signs for minimisation; keep D Lipschitz with
weight clipping (`ClipWeights`) or a gradient penalty
(`wasserstein_gradient_penalty`).

The TF1-only arguments `scope`, `loss_collection` and `add_summaries` are
accepted so TF-GAN code ports unchanged, and ignored.
"""

from keras import ops

from tfgan_losses.losses.reduction import (
    Reduction, check_compatible_shapes, compute_weighted_loss, to_float, to_floats)


def wasserstein_generator_loss(
        discriminator_gen_outputs, weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False):
    """Wasserstein generator loss, `L_G = -E[D(G(z))]`.

    Paper: Arjovsky et al., "Wasserstein GAN", https://arxiv.org/abs/1701.07875.

    Args:
      discriminator_gen_outputs: Critic outputs on generated data, in
        (-inf, inf); any shape (patch critics give N-D outputs).
      weights: Scalar or per-element weights broadcastable to the outputs.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value; default divides by the count of non-zero
        weights.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Example:
      >>> wasserstein_generator_loss([1.0, 3.0])
      -2.0
    """
    del scope, loss_collection, add_summaries
    return compute_weighted_loss(-to_float(discriminator_gen_outputs), weights, reduction)


def wasserstein_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, real_weights=1.0,
        generated_weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False):
    """Wasserstein critic loss, `L_D = E[D(G(z))] - E[D(x)]`.

    Minimising it maximises the critic's estimate of the Wasserstein-1 distance.
    Paper: https://arxiv.org/abs/1701.07875.

    Args:
      discriminator_real_outputs: Critic outputs on real data, in (-inf, inf).
      discriminator_gen_outputs: Critic outputs on generated data, same shape.
      real_weights: Scalar or per-element weights for the real term.
      generated_weights: Scalar or per-element weights for the generated term.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value, applied to each term separately.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the real and generated outputs' shapes differ.

    Example:
      >>> wasserstein_discriminator_loss([2.0, 4.0], [1.0, 1.0])
      -2.0
    """
    del scope, loss_collection, add_summaries
    real, gen = to_floats(discriminator_real_outputs, discriminator_gen_outputs)
    check_compatible_shapes(real, gen, "discriminator_real_outputs", "discriminator_gen_outputs")
    loss_on_generated = compute_weighted_loss(gen, generated_weights, reduction, "generated_weights")
    loss_on_real = compute_weighted_loss(real, real_weights, reduction, "real_weights")
    return loss_on_generated - loss_on_real


def wasserstein_hinge_generator_loss(
        discriminator_gen_outputs, weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False):
    """Hinge generator loss, `L_G = -E[D(G(z))]`: the Wasserstein generator loss.

    TF-GAN defines it as an alias of `wasserstein_generator_loss`; it pairs with
    `wasserstein_hinge_discriminator_loss` (Miyato et al., "Spectral
    Normalization for GANs", https://arxiv.org/abs/1802.05957).

    Args and Returns: as `wasserstein_generator_loss`.

    Example:
      >>> wasserstein_hinge_generator_loss([1.0, 3.0])
      -2.0
    """
    return wasserstein_generator_loss(
        discriminator_gen_outputs, weights, scope, loss_collection, reduction, add_summaries)


def wasserstein_hinge_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, real_weights=1.0,
        generated_weights=1.0, real_hinge=1.0, generated_hinge=1.0, scope=None,
        loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """Hinge discriminator loss, `L_D = E[relu(h_r - D(x))] + E[relu(h_g + D(G(z)))]`.

    Paper: Miyato et al., https://arxiv.org/abs/1802.05957 (and Lim & Ye,
    "Geometric GAN", https://arxiv.org/abs/1705.02894).

    Args:
      discriminator_real_outputs: Discriminator outputs on real data.
      discriminator_gen_outputs: Discriminator outputs on generated data, same shape.
      real_weights: Scalar or per-element weights for the real term.
      generated_weights: Scalar or per-element weights for the generated term.
      real_hinge: Margin `h_r` for real outputs (default 1).
      generated_hinge: Margin `h_g` for generated outputs (default 1).
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value, applied to each term separately.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the real and generated outputs' shapes differ.

    Example:
      >>> wasserstein_hinge_discriminator_loss([2.0, 0.0], [-2.0, 0.5])
      1.25  # real: (0 + 1) / 2, generated: (0 + 1.5) / 2
    """
    del scope, loss_collection, add_summaries
    real, gen = to_floats(discriminator_real_outputs, discriminator_gen_outputs)
    check_compatible_shapes(real, gen, "discriminator_real_outputs", "discriminator_gen_outputs")
    loss_on_real = compute_weighted_loss(
        ops.relu(real_hinge - real), real_weights, reduction, "real_weights")
    loss_on_generated = compute_weighted_loss(
        ops.relu(generated_hinge + gen), generated_weights, reduction, "generated_weights")
    return loss_on_generated + loss_on_real
