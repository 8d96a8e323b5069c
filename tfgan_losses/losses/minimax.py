"""The original GAN losses: minimax (saturating) and modified (non-saturating).

Goodfellow et al., "Generative Adversarial Nets", https://arxiv.org/abs/1406.2661.
The discriminator maximises `V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]`
with `D = sigmoid(logits)`; for a fixed G its optimum is
`D*(x) = p_data(x) / (p_data(x) + p_g(x))`, where `V = -log 4 + 2 JSD(p_data || p_g)`.

TF-GAN quirks kept here, value for value:

* The discriminators' default `label_smoothing=0.25` is one-sided and smooths the
  real label toward 1/2 (to 0.875), as `tf.compat.v1.losses.sigmoid_cross_entropy`
  does; generators default to 0.
* `minimax_generator_loss` is minus the discriminator loss evaluated with the
  *real* logits replaced by ones, so it carries the constant term
  `-(weighted) sce(label=1 - s/2, logit=1)`, which shifts the value, not the
  gradient.

The TF1-only arguments `scope`, `loss_collection` and `add_summaries` are
accepted so TF-GAN code ports unchanged, and ignored.
"""

from keras import ops

from tfgan_losses.losses.cross_entropy import sigmoid_cross_entropy
from tfgan_losses.losses.reduction import (
    Reduction, check_compatible_shapes, check_weights_broadcastable, to_float, to_floats)


def minimax_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, label_smoothing=0.25,
        real_weights=1.0, generated_weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False):
    """Minimax discriminator loss, `L_D = -E[log D(x)] - E[log(1 - D(G(z)))]`.

    With label smoothing s, the real term's target is `1 - s/2` instead of 1.

    Args:
      discriminator_real_outputs: Logits on real data, in (-inf, inf).
      discriminator_gen_outputs: Logits on generated data. The two batches may
        differ in size (each term is reduced on its own, as in TF-GAN), except
        with `Reduction.NONE`, whose element-wise sum needs the same shape.
      label_smoothing: Smoothing of the real label, in [0, 1]; 0 for none.
        (Salimans et al., https://arxiv.org/abs/1606.03498.)
      real_weights: Scalar or per-element weights for the real term.
      generated_weights: Scalar or per-element weights for the generated term.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value, applied to each term separately.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Raises:
      ValueError: If the outputs' shapes differ under `Reduction.NONE`, or
        `label_smoothing` is outside [0, 1].

    Example:
      >>> minimax_discriminator_loss([0.0], [0.0], label_smoothing=0.0)
      1.3862944  # 2 log 2
    """
    del scope, loss_collection, add_summaries
    real, gen = to_floats(discriminator_real_outputs, discriminator_gen_outputs)
    if reduction == Reduction.NONE:  # Only element-wise sums need matching shapes.
        check_compatible_shapes(real, gen, "discriminator_real_outputs",
                                "discriminator_gen_outputs")
    loss_on_real = sigmoid_cross_entropy(
        ops.ones_like(real), real, real_weights, label_smoothing, reduction, "real_weights")
    loss_on_generated = sigmoid_cross_entropy(
        ops.zeros_like(gen), gen, generated_weights, 0.0, reduction, "generated_weights")
    return loss_on_real + loss_on_generated


def minimax_generator_loss(
        discriminator_gen_outputs, label_smoothing=0.0, weights=1.0, scope=None,
        loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """Minimax (saturating) generator loss, `L_G = E[log(1 - D(G(z)))] + const`.

    TF-GAN computes it as `-minimax_discriminator_loss(ones, D(G(z)))`, so it
    includes the constant `-sce(1 - s/2, 1)` from logits of one standing in for
    the real outputs. Its gradient vanishes when D confidently rejects G(z);
    prefer `modified_generator_loss` in practice.

    Args:
      discriminator_gen_outputs: Logits on generated data, in (-inf, inf).
      label_smoothing: Smoothing of the constant real term, in [0, 1].
      weights: Scalar or per-element weights.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Example:
      >>> minimax_generator_loss([0.0])
      -1.0064089  # -(log 2 + log(1 + e^-1)): the log(1 + e^-1) is the constant
    """
    gen = to_float(discriminator_gen_outputs)
    check_weights_broadcastable(ops.convert_to_tensor(weights), gen, "weights")
    return -minimax_discriminator_loss(
        ops.ones_like(gen), gen, label_smoothing, weights, weights, scope,
        loss_collection, reduction, add_summaries)


def modified_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, label_smoothing=0.25,
        real_weights=1.0, generated_weights=1.0, scope=None, loss_collection="losses",
        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, add_summaries=False):
    """Modified-GAN discriminator loss: identical to `minimax_discriminator_loss`.

    Args, Returns and Raises: as `minimax_discriminator_loss`.

    Example:
      >>> modified_discriminator_loss([0.0], [0.0], label_smoothing=0.0)
      1.3862944
    """
    return minimax_discriminator_loss(
        discriminator_real_outputs, discriminator_gen_outputs, label_smoothing,
        real_weights, generated_weights, scope, loss_collection, reduction, add_summaries)


def modified_generator_loss(
        discriminator_gen_outputs, label_smoothing=0.0, weights=1.0, scope=None,
        loss_collection="losses", reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
        add_summaries=False):
    """Modified (non-saturating) generator loss, `L_G = -E[log D(G(z))]`.

    The "-log D trick" of the GAN paper: same fixed point as the minimax loss,
    strong gradients early in training when D rejects G(z).

    Args:
      discriminator_gen_outputs: Logits on generated data, in (-inf, inf).
      label_smoothing: Smoothing of the target label 1, in [0, 1].
      weights: Scalar or per-element weights.
      scope, loss_collection, add_summaries: TF1 arguments, ignored.
      reduction: A `Reduction` value.

    Returns:
      The loss, a scalar unless `reduction` is `Reduction.NONE`.

    Example:
      >>> modified_generator_loss([0.0])
      0.6931472  # log 2
    """
    del scope, loss_collection, add_summaries
    gen = to_float(discriminator_gen_outputs)
    return sigmoid_cross_entropy(ops.ones_like(gen), gen, weights, label_smoothing, reduction)
